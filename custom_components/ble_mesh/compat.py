"""What differs between the Home Assistant releases this integration supports.

The oldest is the ``homeassistant`` release in ``hacs.json`` (2025.4), the newest the current
release (2026.11). Only APIs that differ between them live here; everything else is imported
from Home Assistant directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers import device_registry as dr

if TYPE_CHECKING:
    import probatio as vol
else:
    try:
        # Home Assistant 2026.10 validates with probatio, voluptuous's API-compatible successor
        # (it also aliases `voluptuous` to it at start; the real package is typed differently).
        import probatio as vol
    except ImportError:  # Home Assistant before 2026.10
        import voluptuous as vol

try:
    # Home Assistant 2026 deprecated CONCENTRATION_PARTS_PER_MILLION (removed in 2027.8) for
    # UnitOfRatio, which 2025.4 lacks; both are the unit "ppm".
    from homeassistant.const import UnitOfRatio

    PARTS_PER_MILLION: str = UnitOfRatio.PARTS_PER_MILLION
except ImportError:  # Home Assistant 2025
    PARTS_PER_MILLION = "ppm"

__all__ = ["PARTS_PER_MILLION", "device_by_identifier", "vol"]


def device_by_identifier(
    registry: dr.DeviceRegistry, identifier: tuple[str, str], config_entry_id: str
) -> dr.DeviceEntry | None:
    """The device of a config entry with this identifier.

    Home Assistant 2026.9 deprecated ``async_get_device(identifiers=...)`` (identifiers are
    unique per config entry now) for ``async_get_device_by_identifier``, which 2025.4 lacks.
    """
    if hasattr(registry, "async_get_device_by_identifier"):
        return registry.async_get_device_by_identifier(identifier, config_entry_id)
    device = registry.async_get_device(identifiers={identifier})
    if device is None or config_entry_id not in device.config_entries:
        return None
    return device
