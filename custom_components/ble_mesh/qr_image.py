"""Decode a QR code from an uploaded image (the device's provisioning QR code).

Uses pyzbar + Pillow, as Home Assistant's own ``qr_code`` integration does; Home Assistant's
container images ship libzbar. On an installation without libzbar the flow still works with
text entry, and says why the image upload is not offered.
"""

from __future__ import annotations

from functools import cache
import io
import logging
from typing import Any

from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.core import HomeAssistant

_LOGGER = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024


class QrImageError(Exception):
    """The image could not be read or holds no QR code; ``reason`` is a translation key."""

    def __init__(self, reason: str) -> None:
        """Keep the translation key."""
        super().__init__(reason)
        self.reason = reason


@cache
def _decoder() -> tuple[Any, str]:
    """The pyzbar decode function, or None and why it cannot load."""
    try:
        from pyzbar import pyzbar
    except ImportError as err:  # libzbar missing (pyzbar raises ImportError)
        _LOGGER.info("QR image upload unavailable: %s", err)
        return None, str(err)
    return pyzbar.decode, ""


def available() -> bool:
    """Whether images can be decoded here."""
    return _decoder()[0] is not None


def unavailable_reason() -> str:
    """Why image decoding is unavailable (empty when it is available)."""
    return _decoder()[1]


def decode_image(content: bytes) -> str:
    """The text of the first QR code in an image (blocking: run in the executor)."""
    decode, _ = _decoder()
    if decode is None:
        raise QrImageError("qr_image_unavailable")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            symbols = decode(image.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError) as err:
        _LOGGER.debug("Unreadable image: %s", err)
        raise QrImageError("invalid_image") from err
    for symbol in symbols:
        if symbol.type == "QRCODE":
            try:
                return bytes(symbol.data).decode("utf-8")
            except UnicodeDecodeError as err:
                raise QrImageError("no_qr_code") from err
    raise QrImageError("no_qr_code")


def _read_upload(hass: HomeAssistant, file_id: str) -> bytes:
    with process_uploaded_file(hass, file_id) as path:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise QrImageError("invalid_image")
        return path.read_bytes()


def _decode_upload(hass: HomeAssistant, file_id: str) -> str:
    try:
        content = _read_upload(hass, file_id)
    except (OSError, ValueError) as err:
        raise QrImageError("invalid_image") from err
    return decode_image(content)


async def async_decode_uploaded(hass: HomeAssistant, file_id: str) -> str:
    """Decode an image uploaded through ``file_upload``; the upload is deleted afterwards."""
    return await hass.async_add_executor_job(_decode_upload, hass, file_id)


class UploadedImages:
    """What each image uploaded in one dialog said, read once.

    Home Assistant deletes an upload once it is read, but the form keeps the file in its field
    when it comes back with an error about something else (the device in the photo is another
    one, the device's timer ran out meanwhile): the same image submitted again gives the same
    text or the same error, never "unreadable image".
    """

    def __init__(self) -> None:
        """Nothing read yet."""
        self._outcomes: dict[str, str | QrImageError] = {}

    async def async_text(self, hass: HomeAssistant, file_id: str) -> str:
        """The QR code's text in the upload ``file_id``; QrImageError when there is none."""
        outcome = self._outcomes.get(file_id)
        if outcome is None:
            try:
                outcome = await async_decode_uploaded(hass, file_id)
            except QrImageError as err:
                outcome = err
            self._outcomes[file_id] = outcome
        if isinstance(outcome, QrImageError):
            raise QrImageError(outcome.reason)
        return outcome
