"""Everything a mesh device advertises or beacons that the provisioner parses or builds.

Spec map (Mesh Protocol 1.1, "MshPRT 1.1"):

* §3.10 Mesh beacons (the payload of the «Mesh Beacon» AD type 0x2B and of the Proxy PDU
  message type "Mesh Beacon", the same bytes in both places):

  - §3.10.2 Unprovisioned Device beacon (type 0x00) with the OOB Information field
    (§3.10.2, Table 3.78) and the optional URI Hash;
  - §3.10.3 Secure Network beacon (type 0x01), authenticated with the BeaconKey;
  - §3.10.4 Mesh Private beacon (type 0x02), obfuscated and authenticated with the
    PrivateBeaconKey.

* §7.1.2.2.1 Mesh Provisioning Service (0x1827) advertising: service data = Device UUID ||
  OOB Information.
* §7.2.2.2 Mesh Proxy Service (0x1828) advertising: service data = Identification Type ||
  Network ID, or Hash || Random for Node Identity, Private Network Identity and Private Node
  Identity (§7.2.2.2.2 - §7.2.2.2.5).
* §6.9 (with §3.9.5.5) Proxy Solicitation (service UUID 0x1859): the Solicitation PDU.

"Service data" in this module always means what follows the 16-bit service UUID inside a
«Service Data - 16-bit UUID» AD structure, which is what Home Assistant's
``BluetoothServiceInfo.service_data[uuid]`` holds. :func:`service_data_ad` and
:func:`parse_ad_structures` convert to and from whole AD structures.

Decoding is strict: a wrong length, a reserved value or an unknown type raises
:class:`~.errors.DecodeError` naming the structure and the field. A beacon that does not
authenticate raises :class:`BeaconAuthenticationError` (an ``AuthenticationError``), one that
belongs to a different network raises :class:`UnknownNetworkError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, IntFlag
import hmac
import secrets
import struct
from typing import ClassVar, Literal, Self
import uuid

from .crypto import (
    InvalidMicError,
    aes_ccm_decrypt,
    aes_ccm_encrypt,
    aes_cmac,
    aes_ecb,
    network_key_material,
    obfuscate,
    s1,
)
from .errors import AuthenticationError, DecodeError, MeshError, UsageError

__all__ = [
    "COMPLETE_LOCAL_NAME_AD_TYPE",
    "COMPLETE_UUID16_LIST_AD_TYPE",
    "MESH_BEACON_AD_TYPE",
    "MESH_PROVISIONING_SERVICE_UUID16",
    "MESH_PROXY_SERVICE_UUID16",
    "MESH_PROXY_SOLICITATION_UUID16",
    "NO_OOB_INFORMATION",
    "OOB_INFORMATION_RESERVED",
    "SERVICE_DATA_16_AD_TYPE",
    "URI_AD_TYPE",
    "BeaconAuthenticationError",
    "BeaconType",
    "MeshBeacon",
    "MeshPrivateBeacon",
    "MeshProvisioningServiceData",
    "NetworkBeaconInfo",
    "NetworkIdAdvertisement",
    "NodeIdentityAdvertisement",
    "OobInformation",
    "PrivateNetworkIdentityAdvertisement",
    "PrivateNodeIdentityAdvertisement",
    "ProxyAdvertisement",
    "ProxyIdentificationType",
    "ProxySolicitationPdu",
    "SecureNetworkBeacon",
    "SolicitationInfo",
    "UnknownNetworkError",
    "UnprovisionedDeviceBeacon",
    "ad_structure",
    "authenticate_network_beacon",
    "beacon_ad",
    "decode_beacon",
    "decode_proxy_service_data",
    "matches_network",
    "matches_node",
    "oob_hints",
    "parse_ad_structures",
    "service_data_ad",
    "solicitation_nonce",
    "uri_data",
    "uri_hash",
]

# --- assigned numbers ---------------------------------------------------------------------

MESH_PROVISIONING_SERVICE_UUID16 = 0x1827
MESH_PROXY_SERVICE_UUID16 = 0x1828
MESH_PROXY_SOLICITATION_UUID16 = 0x1859
COMPLETE_UUID16_LIST_AD_TYPE = 0x03  # CSS Part A §1.1 «Complete List of 16-bit Service UUIDs»
COMPLETE_LOCAL_NAME_AD_TYPE = 0x09  # CSS Part A §1.2 «Complete Local Name»
SERVICE_DATA_16_AD_TYPE = 0x16  # CSS Part A §1.11 «Service Data - 16-bit UUID»
URI_AD_TYPE = 0x24  # CSS Part A §1.18 «URI»
MESH_BEACON_AD_TYPE = 0x2B  # «Mesh Beacon» (MshPRT 1.1 §3.3.1)

DEVICE_UUID_SIZE = 16
NETWORK_ID_SIZE = 8
URI_HASH_SIZE = 4
AUTHENTICATION_VALUE_SIZE = 8
PRIVATE_RANDOM_SIZE = 13
PRIVATE_BEACON_DATA_SIZE = 5
AUTHENTICATION_TAG_SIZE = 8
IDENTITY_HASH_SIZE = 8
IDENTITY_RANDOM_SIZE = 8
SOLICITATION_PDU_SIZE = (
    17  # IVI|NID (1) || obfuscated CTL|TTL, SSEQ, SSRC (6) || EncDST (2) || NetMIC (8)
)

_FLAG_KEY_REFRESH = 0x01
_FLAG_IV_UPDATE = 0x02
_FLAGS_RFU = 0xFC  # §3.10.3 / §3.10.4: Flags bits 2-7 are Reserved for Future Use


class UnknownNetworkError(MeshError):
    """The beacon or advertisement belongs to a network whose key we were not given."""


class BeaconAuthenticationError(AuthenticationError):
    """A Secure Network beacon's Authentication Value or a Mesh Private beacon's
    Authentication Tag does not match: the beacon was tampered with or forged."""


def _check_size(structure: str, field: str, value: bytes, size: int) -> None:
    """Constructor-side check: a wrong size is our caller's bug (UsageError)."""
    if not isinstance(value, bytes) or len(value) != size:
        raise UsageError(f"{structure}.{field} must be {size} octets")


def _check_iv_index(structure: str, iv_index: int) -> None:
    if not 0 <= iv_index <= 0xFFFFFFFF:
        raise UsageError(f"{structure}.iv_index must fit in 32 bits")


def _check_unicast(structure: str, address: int) -> None:
    # §3.4.2.2: unicast addresses are 0x0001-0x7FFF.
    if not 0x0001 <= address <= 0x7FFF:
        raise UsageError(f"{structure}: 0x{address:04x} is not a unicast address")


def _check_net_key(net_key: bytes) -> None:
    if not isinstance(net_key, bytes) or len(net_key) != 16:
        raise UsageError("a NetKey must be 16 octets")


def _expect_length(structure: str, data: bytes, *sizes: int) -> None:
    if len(data) not in sizes:
        expected = " or ".join(str(s) for s in sizes)
        raise DecodeError(structure, None, f"length {len(data)}, expected {expected} octets")


# --- AD structures (Core Supplement Part A §1) --------------------------------------------


def ad_structure(ad_type: int, payload: bytes) -> bytes:
    """One AD structure: Length || AD Type || payload (Length counts type and payload)."""
    if not 0 <= ad_type <= 0xFF:
        raise UsageError("ad_type must fit in one octet")
    if len(payload) > 254:
        raise UsageError("an AD structure payload is at most 254 octets")
    return bytes((len(payload) + 1, ad_type)) + payload


def service_data_ad(service_uuid: int, service_data: bytes) -> bytes:
    """A «Service Data - 16-bit UUID» AD structure (UUID little-endian, as on air)."""
    if not 0 <= service_uuid <= 0xFFFF:
        raise UsageError("service_uuid must be a 16-bit UUID")
    return ad_structure(SERVICE_DATA_16_AD_TYPE, service_uuid.to_bytes(2, "little") + service_data)


def beacon_ad(beacon: bytes) -> bytes:
    """A «Mesh Beacon» AD structure carrying one beacon (§3.3.1)."""
    return ad_structure(MESH_BEACON_AD_TYPE, beacon)


def parse_ad_structures(data: bytes) -> list[tuple[int, bytes]]:
    """Split advertising data into ``(ad_type, payload)`` pairs.

    A zero Length octet ends the significant part (CSS Part A §1: the rest is padding); a
    Length running past the end of the data is a :class:`DecodeError`.
    """
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        length = data[pos]
        if length == 0:
            break
        if pos + 1 + length > len(data):
            raise DecodeError(
                "AdvertisingData", "length", f"AD structure at {pos} overruns the data"
            )
        out.append((data[pos + 1], bytes(data[pos + 2 : pos + 1 + length])))
        pos += 1 + length
    return out


# --- OOB Information (§3.10.2, Table 3.78) ------------------------------------------------


class OobInformation(IntFlag):
    """Where the device's OOB data can be found (a hint only: never a security input).

    Bits 9 and 10 are Reserved for Future Use. They are kept in the value (an ``IntFlag``
    keeps unknown bits) but have no name and give no hint; see :data:`OOB_INFORMATION_RESERVED`.
    """

    OTHER = 1 << 0
    ELECTRONIC_URI = 1 << 1
    MACHINE_READABLE_CODE_2D = 1 << 2
    BAR_CODE = 1 << 3
    NFC = 1 << 4
    NUMBER = 1 << 5
    STRING = 1 << 6
    CERTIFICATE_BASED_PROVISIONING = 1 << 7
    PROVISIONING_RECORDS = 1 << 8
    ON_BOX = 1 << 11
    INSIDE_BOX = 1 << 12
    ON_PIECE_OF_PAPER = 1 << 13
    INSIDE_MANUAL = 1 << 14
    ON_DEVICE = 1 << 15


OOB_INFORMATION_RESERVED = 0x0600  # bits 9-10, RFU
NO_OOB_INFORMATION = OobInformation(0)

# Stable keys for the UI (a translation file maps them to text); order = bit order.
_OOB_HINT_KEYS: tuple[tuple[OobInformation, str], ...] = (
    (OobInformation.OTHER, "other"),
    (OobInformation.ELECTRONIC_URI, "uri"),
    (OobInformation.MACHINE_READABLE_CODE_2D, "qr_code"),
    (OobInformation.BAR_CODE, "bar_code"),
    (OobInformation.NFC, "nfc"),
    (OobInformation.NUMBER, "number"),
    (OobInformation.STRING, "string"),
    (OobInformation.CERTIFICATE_BASED_PROVISIONING, "certificate"),
    (OobInformation.PROVISIONING_RECORDS, "provisioning_records"),
    (OobInformation.ON_BOX, "on_box"),
    (OobInformation.INSIDE_BOX, "inside_box"),
    (OobInformation.ON_PIECE_OF_PAPER, "on_paper"),
    (OobInformation.INSIDE_MANUAL, "inside_manual"),
    (OobInformation.ON_DEVICE, "on_device"),
)


def oob_hints(info: OobInformation | int) -> list[str]:
    """Short stable hint keys for every known bit set in ``info``, in bit order.

    Keys: other, uri, qr_code, bar_code, nfc, number, string, certificate,
    provisioning_records, on_box, inside_box, on_paper, inside_manual, on_device. Reserved
    bits give no key.
    """
    value = int(info)
    return [key for flag, key in _OOB_HINT_KEYS if value & flag]


def _oob_from_int(value: int) -> OobInformation:
    return OobInformation(value)


# --- Mesh Provisioning Service data (§7.1.2.2.1) ------------------------------------------

OobByteOrder = Literal["big", "little"]


@dataclass(frozen=True, slots=True)
class MeshProvisioningServiceData:
    """Service data of the Mesh Provisioning Service (0x1827): Device UUID || OOB Information.

    Byte order of OOB Information: the specification's multi-octet fields are big-endian and
    Zephyr writes it so (``sys_put_be16``), but the §8.5.1 sample data, ESP-IDF and the nRF
    Mesh libraries use little-endian here. ``oob_byte_order`` selects the reading; the field
    is only a UI hint, so a wrong guess is harmless (never decide security from it).
    """

    SERVICE_UUID: ClassVar[int] = MESH_PROVISIONING_SERVICE_UUID16
    SIZE: ClassVar[int] = DEVICE_UUID_SIZE + 2

    device_uuid: bytes
    oob_information: OobInformation = NO_OOB_INFORMATION

    def __post_init__(self) -> None:
        _check_size("MeshProvisioningServiceData", "device_uuid", self.device_uuid, 16)
        if not 0 <= int(self.oob_information) <= 0xFFFF:
            raise UsageError("MeshProvisioningServiceData.oob_information must fit in 16 bits")

    @property
    def uuid(self) -> uuid.UUID:
        """The Device UUID as a :class:`uuid.UUID` (for display and unique ids)."""
        return uuid.UUID(bytes=self.device_uuid)

    def to_bytes(self, *, oob_byte_order: OobByteOrder = "big") -> bytes:
        return self.device_uuid + int(self.oob_information).to_bytes(2, oob_byte_order)

    @classmethod
    def from_bytes(cls, data: bytes, *, oob_byte_order: OobByteOrder = "big") -> Self:
        _expect_length("MeshProvisioningServiceData", data, cls.SIZE)
        return cls(
            device_uuid=bytes(data[:16]),
            oob_information=_oob_from_int(int.from_bytes(data[16:18], oob_byte_order)),
        )

    def to_ad_structure(self, *, oob_byte_order: OobByteOrder = "big") -> bytes:
        return service_data_ad(self.SERVICE_UUID, self.to_bytes(oob_byte_order=oob_byte_order))


# --- URI hash (§3.10.2; URI data per CSS Part A §1.18) ------------------------------------

# Bluetooth Assigned Numbers §2.7 "URI Schemes": code point 0x0001 is the empty scheme (the
# whole URI follows as text), 0x0002... are these schemes in order.
_URI_SCHEME_TABLE = (
    "aaa aaas about acap acct cap cid coap coaps crid data dav dict dns file ftp geo go gopher "
    "h323 http https iax icap im imap info ipp ipps iris iris.beep iris.xpc iris.xpcs iris.lwz "
    "jabber ldap mailto mid msrp msrps mtqp mupdate news nfs ni nih nntp opaquelocktoken pop "
    "pres reload rtsp rtsps rtspu service session shttp sieve sip sips sms snmp soap.beep "
    "soap.beeps stun stuns tag tel telnet tftp thismessage tn3270 tip turn turns tv urn vemmi "
    "ws wss xcon xcon-userid xmlrpc.beep xmlrpc.beeps xmpp z39.50r z39.50s acr adiumxtra afp "
    "afs aim apt attachment aw barion beshare bitcoin bolo callto chrome chrome-extension "
    "com-eventbrite-attendee content cvs dlna-playsingle dlna-playcontainer dtn dvb ed2k "
    "facetime feed feedready finger fish gg git gizmoproject gtalk ham hcp icon ipn irc irc6 "
    "ircs itms jar jms keyparc lastfm ldaps magnet maps market message mms ms-help "
    "ms-settings-power msnim mumble mvn notes oid palm paparazzi pkcs11 platform proxy psyc "
    "query res resource rmi rsync rtmfp rtmp secondlife sftp sgn skype smb smtp soldat spotify "
    "ssh steam submit svn teamspeak teliaeid things udp unreal ut2004 ventrilo view-source "
    "webcal wtai wyciwyg xfire xri ymsgr example ms-settings-cloudstorage bluetooth bl"
)
_URI_SCHEME_CODES = {name: code for code, name in enumerate(_URI_SCHEME_TABLE.split(), start=2)}
_URI_EMPTY_SCHEME = 0x01


def uri_data(uri: str) -> bytes:
    """The URI AD type payload for ``uri``: scheme code point (UTF-8) || rest of the URI.

    A scheme not in the assigned-numbers table is sent whole after the empty-scheme code 0x01.
    """
    scheme, sep, rest = uri.partition(":")
    code = _URI_SCHEME_CODES.get(scheme.lower()) if sep else None
    if code is None:
        return chr(_URI_EMPTY_SCHEME).encode() + uri.encode()
    return chr(code).encode() + rest.encode()


def uri_hash(uri: str | bytes) -> bytes:
    """URI Hash of the Unprovisioned Device beacon: s1(URI Data)[0:4] (§3.10.2).

    ``uri`` is the URI text, or already-encoded URI Data (bytes, as received in a URI AD).
    """
    data = uri if isinstance(uri, bytes) else uri_data(uri)
    return s1(data)[:URI_HASH_SIZE]


# --- Mesh beacons (§3.10) -----------------------------------------------------------------


class BeaconType(IntEnum):
    """Beacon Type octet (§3.10); 0x03-0xFF are RFU."""

    UNPROVISIONED_DEVICE = 0x00
    SECURE_NETWORK = 0x01
    MESH_PRIVATE = 0x02


@dataclass(frozen=True, slots=True)
class UnprovisionedDeviceBeacon:
    """Unprovisioned Device beacon (§3.10.2): UUID, OOB Information (big-endian), URI Hash."""

    BEACON_TYPE: ClassVar[BeaconType] = BeaconType.UNPROVISIONED_DEVICE

    device_uuid: bytes
    oob_information: OobInformation = NO_OOB_INFORMATION
    uri_hash: bytes | None = None

    def __post_init__(self) -> None:
        _check_size("UnprovisionedDeviceBeacon", "device_uuid", self.device_uuid, 16)
        if not 0 <= int(self.oob_information) <= 0xFFFF:
            raise UsageError("UnprovisionedDeviceBeacon.oob_information must fit in 16 bits")
        if self.uri_hash is not None:
            _check_size("UnprovisionedDeviceBeacon", "uri_hash", self.uri_hash, URI_HASH_SIZE)

    @classmethod
    def create(
        cls, device_uuid: bytes, oob_information: OobInformation | int = 0, uri: str | None = None
    ) -> Self:
        """Build a beacon; with ``uri`` the URI Hash is computed from it."""
        return cls(
            device_uuid=device_uuid,
            oob_information=_oob_from_int(int(oob_information)),
            uri_hash=None if uri is None else uri_hash(uri),
        )

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.device_uuid)

    def matches_uri(self, uri: str | bytes) -> bool:
        """Whether a URI (text or received URI Data) is the one this beacon hashes."""
        return self.uri_hash is not None and hmac.compare_digest(self.uri_hash, uri_hash(uri))

    def to_bytes(self) -> bytes:
        return (
            bytes((self.BEACON_TYPE,))
            + self.device_uuid
            + int(self.oob_information).to_bytes(2, "big")
            + (self.uri_hash or b"")
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        _expect_length("UnprovisionedDeviceBeacon", data, 19, 23)
        if data[0] != cls.BEACON_TYPE:
            raise DecodeError("UnprovisionedDeviceBeacon", "beacon_type", f"0x{data[0]:02x}")
        return cls(
            device_uuid=bytes(data[1:17]),
            oob_information=_oob_from_int(int.from_bytes(data[17:19], "big")),
            uri_hash=bytes(data[19:23]) if len(data) == 23 else None,
        )


@dataclass(frozen=True, slots=True)
class NetworkBeaconInfo:
    """What an authenticated Secure Network or Mesh Private beacon tells us (§3.10.3/4)."""

    key_refresh: bool
    iv_update: bool
    iv_index: int
    private: bool = False


def _flags_octet(key_refresh: bool, iv_update: bool) -> int:
    return (_FLAG_KEY_REFRESH if key_refresh else 0) | (_FLAG_IV_UPDATE if iv_update else 0)


def _check_flags(structure: str, flags: int) -> None:
    if flags & _FLAGS_RFU:
        raise DecodeError(structure, "flags", f"reserved bits set (0x{flags:02x})")


@dataclass(frozen=True, slots=True)
class SecureNetworkBeacon:
    """Secure Network beacon (§3.10.3).

    Beacon Type 0x01 || Flags || Network ID (8) || IV Index (4) || Authentication Value (8),
    Authentication Value = AES-CMAC_BeaconKey(Flags || Network ID || IV Index)[0:8].
    """

    BEACON_TYPE: ClassVar[BeaconType] = BeaconType.SECURE_NETWORK
    SIZE: ClassVar[int] = 22

    key_refresh: bool
    iv_update: bool
    network_id: bytes
    iv_index: int
    authentication_value: bytes

    def __post_init__(self) -> None:
        _check_size("SecureNetworkBeacon", "network_id", self.network_id, NETWORK_ID_SIZE)
        _check_iv_index("SecureNetworkBeacon", self.iv_index)
        _check_size(
            "SecureNetworkBeacon",
            "authentication_value",
            self.authentication_value,
            AUTHENTICATION_VALUE_SIZE,
        )

    @property
    def flags(self) -> int:
        return _flags_octet(self.key_refresh, self.iv_update)

    def _authenticated_part(self) -> bytes:
        return bytes((self.flags,)) + self.network_id + self.iv_index.to_bytes(4, "big")

    @classmethod
    def create(
        cls, net_key: bytes, iv_index: int, *, key_refresh: bool = False, iv_update: bool = False
    ) -> Self:
        """Build and authenticate a beacon for ``net_key``."""
        _check_net_key(net_key)
        _check_iv_index("SecureNetworkBeacon", iv_index)
        material = network_key_material(net_key)
        flags = _flags_octet(key_refresh, iv_update)
        part = bytes((flags,)) + material.network_id + iv_index.to_bytes(4, "big")
        return cls(
            key_refresh=key_refresh,
            iv_update=iv_update,
            network_id=material.network_id,
            iv_index=iv_index,
            authentication_value=aes_cmac(material.beacon_key, part)[:AUTHENTICATION_VALUE_SIZE],
        )

    def authenticate(self, net_key: bytes) -> NetworkBeaconInfo:
        """Check the beacon against ``net_key``.

        Raises :class:`UnknownNetworkError` when the Network ID is not this key's, and
        :class:`BeaconAuthenticationError` when the Authentication Value does not match.
        """
        _check_net_key(net_key)
        material = network_key_material(net_key)
        if not hmac.compare_digest(self.network_id, material.network_id):
            raise UnknownNetworkError("Secure Network beacon of another network")
        expected = aes_cmac(material.beacon_key, self._authenticated_part())
        if not hmac.compare_digest(expected[:AUTHENTICATION_VALUE_SIZE], self.authentication_value):
            raise BeaconAuthenticationError("Secure Network beacon authentication value mismatch")
        return NetworkBeaconInfo(
            key_refresh=self.key_refresh, iv_update=self.iv_update, iv_index=self.iv_index
        )

    def to_bytes(self) -> bytes:
        return bytes((self.BEACON_TYPE,)) + self._authenticated_part() + self.authentication_value

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        _expect_length("SecureNetworkBeacon", data, cls.SIZE)
        if data[0] != cls.BEACON_TYPE:
            raise DecodeError("SecureNetworkBeacon", "beacon_type", f"0x{data[0]:02x}")
        flags = data[1]
        _check_flags("SecureNetworkBeacon", flags)
        return cls(
            key_refresh=bool(flags & _FLAG_KEY_REFRESH),
            iv_update=bool(flags & _FLAG_IV_UPDATE),
            network_id=bytes(data[2:10]),
            iv_index=int.from_bytes(data[10:14], "big"),
            authentication_value=bytes(data[14:22]),
        )


@dataclass(frozen=True, slots=True)
class MeshPrivateBeacon:
    """Mesh Private beacon (§3.10.4): Random (13) || Obfuscated Data (5) || Auth Tag (8).

    Private Beacon Data = Flags || IV Index. §3.10.4.1 defines the tag and the obfuscation
    block by block (B0 = 0x19 || Random || 0x0005, C0/C1 = 0x01 || Random || 0x0000/0x0001);
    that is exactly AES-CCM with the Random as nonce, an 8-octet MIC and no associated data,
    so the work is done by :func:`~.crypto.aes_ccm_encrypt` / ``aes_ccm_decrypt``.
    """

    BEACON_TYPE: ClassVar[BeaconType] = BeaconType.MESH_PRIVATE
    SIZE: ClassVar[int] = 27

    random: bytes
    obfuscated_private_beacon_data: bytes
    authentication_tag: bytes

    def __post_init__(self) -> None:
        _check_size("MeshPrivateBeacon", "random", self.random, PRIVATE_RANDOM_SIZE)
        _check_size(
            "MeshPrivateBeacon",
            "obfuscated_private_beacon_data",
            self.obfuscated_private_beacon_data,
            PRIVATE_BEACON_DATA_SIZE,
        )
        _check_size(
            "MeshPrivateBeacon",
            "authentication_tag",
            self.authentication_tag,
            AUTHENTICATION_TAG_SIZE,
        )

    @classmethod
    def create(
        cls,
        net_key: bytes,
        iv_index: int,
        *,
        key_refresh: bool = False,
        iv_update: bool = False,
        random: bytes | None = None,
    ) -> Self:
        """Build a beacon; ``random`` defaults to 13 fresh random octets (§3.10.4)."""
        _check_net_key(net_key)
        _check_iv_index("MeshPrivateBeacon", iv_index)
        if random is None:
            random = secrets.token_bytes(PRIVATE_RANDOM_SIZE)
        _check_size("MeshPrivateBeacon", "random", random, PRIVATE_RANDOM_SIZE)
        data = bytes((_flags_octet(key_refresh, iv_update),)) + iv_index.to_bytes(4, "big")
        sealed = aes_ccm_encrypt(
            network_key_material(net_key).private_beacon_key,
            random,
            data,
            AUTHENTICATION_TAG_SIZE,
        )
        return cls(
            random=random,
            obfuscated_private_beacon_data=sealed[:PRIVATE_BEACON_DATA_SIZE],
            authentication_tag=sealed[PRIVATE_BEACON_DATA_SIZE:],
        )

    def authenticate(self, net_key: bytes) -> NetworkBeaconInfo:
        """De-obfuscate and authenticate with ``net_key``'s PrivateBeaconKey.

        Raises :class:`BeaconAuthenticationError` when the tag does not match (tampered, or
        another network: a private beacon has no Network ID to tell the two apart), and
        :class:`DecodeError` when an authentic beacon sets reserved Flags bits.
        """
        _check_net_key(net_key)
        try:
            data = aes_ccm_decrypt(
                network_key_material(net_key).private_beacon_key,
                self.random,
                self.obfuscated_private_beacon_data + self.authentication_tag,
                AUTHENTICATION_TAG_SIZE,
            )
        except InvalidMicError:
            raise BeaconAuthenticationError(
                "Mesh Private beacon authentication tag mismatch"
            ) from None
        _check_flags("MeshPrivateBeacon", data[0])
        return NetworkBeaconInfo(
            key_refresh=bool(data[0] & _FLAG_KEY_REFRESH),
            iv_update=bool(data[0] & _FLAG_IV_UPDATE),
            iv_index=int.from_bytes(data[1:5], "big"),
            private=True,
        )

    def to_bytes(self) -> bytes:
        return (
            bytes((self.BEACON_TYPE,))
            + self.random
            + self.obfuscated_private_beacon_data
            + self.authentication_tag
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        _expect_length("MeshPrivateBeacon", data, cls.SIZE)
        if data[0] != cls.BEACON_TYPE:
            raise DecodeError("MeshPrivateBeacon", "beacon_type", f"0x{data[0]:02x}")
        return cls(
            random=bytes(data[1:14]),
            obfuscated_private_beacon_data=bytes(data[14:19]),
            authentication_tag=bytes(data[19:27]),
        )


type MeshBeacon = UnprovisionedDeviceBeacon | SecureNetworkBeacon | MeshPrivateBeacon

_BEACON_CLASSES: dict[
    int, type[UnprovisionedDeviceBeacon | SecureNetworkBeacon | MeshPrivateBeacon]
] = {
    BeaconType.UNPROVISIONED_DEVICE: UnprovisionedDeviceBeacon,
    BeaconType.SECURE_NETWORK: SecureNetworkBeacon,
    BeaconType.MESH_PRIVATE: MeshPrivateBeacon,
}


def decode_beacon(data: bytes) -> MeshBeacon:
    """Decode a mesh beacon (Mesh Beacon AD payload or Proxy "Mesh Beacon" message)."""
    if not data:
        raise DecodeError("MeshBeacon", "beacon_type", "missing")
    beacon_class = _BEACON_CLASSES.get(data[0])
    if beacon_class is None:
        raise DecodeError("MeshBeacon", "beacon_type", f"unknown beacon type 0x{data[0]:02x}")
    return beacon_class.from_bytes(data)


def authenticate_network_beacon[K](
    beacon: SecureNetworkBeacon | MeshPrivateBeacon, net_keys: Mapping[K, bytes]
) -> tuple[K, NetworkBeaconInfo] | None:
    """Find the NetKey (old or new, any subnet) that authenticates ``beacon``.

    ``net_keys`` maps a caller-chosen id (NetKey Index, ``(index, phase)``...) to the key.
    Returns ``(id, info)`` for the first key that authenticates, or ``None``: a beacon no key
    authenticates is not ours, or was forged, and is ignored either way (§3.10.3/§3.10.4).
    A Secure Network beacon is only tried with keys whose Network ID matches.
    """
    for key_id, net_key in net_keys.items():
        try:
            return key_id, beacon.authenticate(net_key)
        except (UnknownNetworkError, BeaconAuthenticationError):
            continue
    return None


# --- Mesh Proxy Service data (§7.2.2.2) ---------------------------------------------------


class ProxyIdentificationType(IntEnum):
    """Identification Type of the Mesh Proxy service data (§7.2.2.2.1)."""

    NETWORK_ID = 0x00
    NODE_IDENTITY = 0x01
    PRIVATE_NETWORK_IDENTITY = 0x02
    PRIVATE_NODE_IDENTITY = 0x03


def _random8(random: bytes | None, structure: str) -> bytes:
    if random is None:
        return secrets.token_bytes(IDENTITY_RANDOM_SIZE)
    _check_size(structure, "random", random, IDENTITY_RANDOM_SIZE)
    return random


def _identity_hash(identity_key: bytes, block: bytes) -> bytes:
    # "Hash = e(IdentityKey, ...) mod 2^64": the 8 least significant (last) octets.
    return aes_ecb(identity_key, block)[-IDENTITY_HASH_SIZE:]


def _node_identity_hash(net_key: bytes, random: bytes, address: int, *, private: bool) -> bytes:
    # §7.2.2.2.3: Padding (6 x 0x00) || Random || Address.
    # §7.2.2.2.5: Padding (5 x 0x00) || 0x03 || Random || Address.
    padding = bytes(5) + (b"\x03" if private else b"\x00")
    block = padding + random + address.to_bytes(2, "big")
    return _identity_hash(network_key_material(net_key).identity_key, block)


def _private_network_hash(net_key: bytes, random: bytes) -> bytes:
    # §7.2.2.2.4: Hash = e(IdentityKey, Network ID || Random) mod 2^64.
    material = network_key_material(net_key)
    return _identity_hash(material.identity_key, material.network_id + random)


def _decode_identity(structure: str, data: bytes, expected_type: int) -> tuple[bytes, bytes]:
    _expect_length(structure, data, 1 + IDENTITY_HASH_SIZE + IDENTITY_RANDOM_SIZE)
    if data[0] != expected_type:
        raise DecodeError(structure, "identification_type", f"0x{data[0]:02x}")
    return bytes(data[1:9]), bytes(data[9:17])


@dataclass(frozen=True, slots=True)
class NetworkIdAdvertisement:
    """Proxy advertising with Network ID (§7.2.2.2.2): 0x00 || Network ID (8)."""

    SERVICE_UUID: ClassVar[int] = MESH_PROXY_SERVICE_UUID16
    IDENTIFICATION_TYPE: ClassVar[ProxyIdentificationType] = ProxyIdentificationType.NETWORK_ID

    network_id: bytes

    def __post_init__(self) -> None:
        _check_size("NetworkIdAdvertisement", "network_id", self.network_id, NETWORK_ID_SIZE)

    @classmethod
    def create(cls, net_key: bytes) -> Self:
        _check_net_key(net_key)
        return cls(network_id=network_key_material(net_key).network_id)

    def matches_network(self, net_key: bytes) -> bool:
        _check_net_key(net_key)
        return hmac.compare_digest(self.network_id, network_key_material(net_key).network_id)

    def matches_node(self, net_key: bytes, unicast_address: int) -> bool:
        """A Network ID advertisement names no node: always ``False``."""
        return False

    def to_bytes(self) -> bytes:
        return bytes((self.IDENTIFICATION_TYPE,)) + self.network_id

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        _expect_length("NetworkIdAdvertisement", data, 1 + NETWORK_ID_SIZE)
        if data[0] != cls.IDENTIFICATION_TYPE:
            raise DecodeError("NetworkIdAdvertisement", "identification_type", f"0x{data[0]:02x}")
        return cls(network_id=bytes(data[1:9]))

    def to_ad_structure(self) -> bytes:
        return service_data_ad(self.SERVICE_UUID, self.to_bytes())


@dataclass(frozen=True, slots=True)
class _NodeIdentityBase:
    """Hash (8) || Random (8) naming one node; shared by the public and private forms."""

    SERVICE_UUID: ClassVar[int] = MESH_PROXY_SERVICE_UUID16
    IDENTIFICATION_TYPE: ClassVar[ProxyIdentificationType]
    _PRIVATE: ClassVar[bool]

    identity_hash: bytes
    random: bytes

    def __post_init__(self) -> None:
        name = type(self).__name__
        _check_size(name, "identity_hash", self.identity_hash, IDENTITY_HASH_SIZE)
        _check_size(name, "random", self.random, IDENTITY_RANDOM_SIZE)

    @classmethod
    def create(cls, net_key: bytes, unicast_address: int, random: bytes | None = None) -> Self:
        """Build the advertisement of node ``unicast_address`` (fresh Random by default)."""
        _check_net_key(net_key)
        _check_unicast(cls.__name__, unicast_address)
        random = _random8(random, cls.__name__)
        return cls(
            identity_hash=_node_identity_hash(
                net_key, random, unicast_address, private=cls._PRIVATE
            ),
            random=random,
        )

    def matches_network(self, net_key: bytes) -> bool:
        """A node identity cannot be checked without the address: always ``False``."""
        return False

    def matches_node(self, net_key: bytes, unicast_address: int) -> bool:
        """Whether this advertisement is node ``unicast_address``'s under ``net_key``."""
        _check_net_key(net_key)
        _check_unicast(type(self).__name__, unicast_address)
        expected = _node_identity_hash(net_key, self.random, unicast_address, private=self._PRIVATE)
        return hmac.compare_digest(expected, self.identity_hash)

    def to_bytes(self) -> bytes:
        return bytes((self.IDENTIFICATION_TYPE,)) + self.identity_hash + self.random

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        identity_hash, random = _decode_identity(cls.__name__, data, cls.IDENTIFICATION_TYPE)
        return cls(identity_hash=identity_hash, random=random)

    def to_ad_structure(self) -> bytes:
        return service_data_ad(self.SERVICE_UUID, self.to_bytes())


@dataclass(frozen=True, slots=True)
class NodeIdentityAdvertisement(_NodeIdentityBase):
    """Proxy advertising with Node Identity (§7.2.2.2.3): 0x01 || Hash (8) || Random (8).

    Hash = e(IdentityKey, 0x000000000000 || Random || Address) mod 2^64.
    """

    IDENTIFICATION_TYPE: ClassVar[ProxyIdentificationType] = ProxyIdentificationType.NODE_IDENTITY
    _PRIVATE: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class PrivateNodeIdentityAdvertisement(_NodeIdentityBase):
    """Proxy advertising with Private Node Identity (§7.2.2.2.5): 0x03 || Hash || Random.

    Hash = e(IdentityKey, 0x0000000000 || 0x03 || Random || Address) mod 2^64.
    """

    IDENTIFICATION_TYPE: ClassVar[ProxyIdentificationType] = (
        ProxyIdentificationType.PRIVATE_NODE_IDENTITY
    )
    _PRIVATE: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class PrivateNetworkIdentityAdvertisement:
    """Proxy advertising with Private Network Identity (§7.2.2.2.4): 0x02 || Hash || Random.

    Hash = e(IdentityKey, Network ID || Random) mod 2^64.
    """

    SERVICE_UUID: ClassVar[int] = MESH_PROXY_SERVICE_UUID16
    IDENTIFICATION_TYPE: ClassVar[ProxyIdentificationType] = (
        ProxyIdentificationType.PRIVATE_NETWORK_IDENTITY
    )

    identity_hash: bytes
    random: bytes

    def __post_init__(self) -> None:
        name = "PrivateNetworkIdentityAdvertisement"
        _check_size(name, "identity_hash", self.identity_hash, IDENTITY_HASH_SIZE)
        _check_size(name, "random", self.random, IDENTITY_RANDOM_SIZE)

    @classmethod
    def create(cls, net_key: bytes, random: bytes | None = None) -> Self:
        _check_net_key(net_key)
        random = _random8(random, cls.__name__)
        return cls(identity_hash=_private_network_hash(net_key, random), random=random)

    def matches_network(self, net_key: bytes) -> bool:
        _check_net_key(net_key)
        return hmac.compare_digest(_private_network_hash(net_key, self.random), self.identity_hash)

    def matches_node(self, net_key: bytes, unicast_address: int) -> bool:
        """A network identity names no node: always ``False``."""
        return False

    def to_bytes(self) -> bytes:
        return bytes((self.IDENTIFICATION_TYPE,)) + self.identity_hash + self.random

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        identity_hash, random = _decode_identity(cls.__name__, data, cls.IDENTIFICATION_TYPE)
        return cls(identity_hash=identity_hash, random=random)

    def to_ad_structure(self) -> bytes:
        return service_data_ad(self.SERVICE_UUID, self.to_bytes())


type ProxyAdvertisement = (
    NetworkIdAdvertisement
    | NodeIdentityAdvertisement
    | PrivateNetworkIdentityAdvertisement
    | PrivateNodeIdentityAdvertisement
)


def decode_proxy_service_data(data: bytes) -> ProxyAdvertisement:
    """Decode Mesh Proxy service data (§7.2.2.2.1); 0x04-0xFF are RFU (DecodeError)."""
    if not data:
        raise DecodeError("MeshProxyServiceData", "identification_type", "missing")
    match data[0]:
        case ProxyIdentificationType.NETWORK_ID:
            return NetworkIdAdvertisement.from_bytes(data)
        case ProxyIdentificationType.NODE_IDENTITY:
            return NodeIdentityAdvertisement.from_bytes(data)
        case ProxyIdentificationType.PRIVATE_NETWORK_IDENTITY:
            return PrivateNetworkIdentityAdvertisement.from_bytes(data)
        case ProxyIdentificationType.PRIVATE_NODE_IDENTITY:
            return PrivateNodeIdentityAdvertisement.from_bytes(data)
    raise DecodeError(
        "MeshProxyServiceData", "identification_type", f"reserved value 0x{data[0]:02x}"
    )


def _as_proxy_advertisement(service_data: bytes | ProxyAdvertisement) -> ProxyAdvertisement | None:
    if not isinstance(service_data, bytes | bytearray | memoryview):
        return service_data
    try:
        return decode_proxy_service_data(bytes(service_data))
    except DecodeError:
        return None


def matches_network(service_data: bytes | ProxyAdvertisement, net_keys: Iterable[bytes]) -> bool:
    """Whether a proxy advertises one of our networks (Network ID or Private Network Identity).

    Node Identity advertisements need an address: use :func:`matches_node`. Malformed
    service data is never ours (``False``).
    """
    advertisement = _as_proxy_advertisement(service_data)
    if advertisement is None:
        return False
    return any(advertisement.matches_network(net_key) for net_key in net_keys)


def matches_node(
    service_data: bytes | ProxyAdvertisement, net_key: bytes, unicast_address: int
) -> bool:
    """Whether a proxy advertises the (Private) Node Identity of ``unicast_address``."""
    advertisement = _as_proxy_advertisement(service_data)
    if advertisement is None:
        return False
    return advertisement.matches_node(net_key, unicast_address)


# --- Proxy Solicitation (§6.9, Solicitation PDU §6.9.1, nonce §3.9.5.5) -------------------

_SOLICITATION_IDENTIFICATION_TYPE = 0x00  # §6.9: 0x00 Proxy Solicitation, others RFU
_SOLICITATION_CTL_TTL = 0x80  # CTL = 1, TTL = 0
_SOLICITATION_MIC_SIZE = 8


def solicitation_nonce(sseq: int, ssrc: int) -> bytes:
    """Solicitation nonce (§3.9.5.5): 0x04 || 0x00 || SSEQ || SSRC || 0x0000 || 0x00000000."""
    if not 0 <= sseq <= 0xFFFFFF:
        raise UsageError("sseq must fit in 24 bits")
    _check_unicast("solicitation_nonce", ssrc)
    return struct.pack(">BB3sHHI", 0x04, 0x00, sseq.to_bytes(3, "big"), ssrc, 0, 0)


@dataclass(frozen=True, slots=True)
class SolicitationInfo:
    """Decrypted content of a Solicitation PDU."""

    sseq: int
    ssrc: int
    dst: int


@dataclass(frozen=True, slots=True)
class ProxySolicitationPdu:
    """Solicitation PDU (§6.9.1): IVI|NID || obfuscated(CTL|TTL, SSEQ, SSRC) || EncDST || NetMIC.

    The IV Index used for the nonce and the obfuscation is 0x00000000 (so IVI = 0); the
    service data of UUID 0x1859 is Identification Type 0x00 || this PDU.
    """

    SERVICE_UUID: ClassVar[int] = MESH_PROXY_SOLICITATION_UUID16

    nid: int
    obfuscated_header: bytes
    encrypted_dst_and_mic: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.nid <= 0x7F:
            raise UsageError("ProxySolicitationPdu.nid must fit in 7 bits")
        _check_size("ProxySolicitationPdu", "obfuscated_header", self.obfuscated_header, 6)
        _check_size("ProxySolicitationPdu", "encrypted_dst_and_mic", self.encrypted_dst_and_mic, 10)

    @classmethod
    def create(cls, net_key: bytes, *, sseq: int, ssrc: int, dst: int = 0x0000) -> Self:
        """Build a Solicitation PDU (DST 0x0000 solicits all proxies)."""
        _check_net_key(net_key)
        if not 0 <= dst <= 0xFFFF:
            raise UsageError("dst must fit in 16 bits")
        material = network_key_material(net_key)
        sealed = aes_ccm_encrypt(
            material.encryption_key,
            solicitation_nonce(sseq, ssrc),
            dst.to_bytes(2, "big"),
            _SOLICITATION_MIC_SIZE,
        )
        header = bytes((_SOLICITATION_CTL_TTL,)) + sseq.to_bytes(3, "big") + ssrc.to_bytes(2, "big")
        return cls(
            nid=material.nid,
            obfuscated_header=obfuscate(material.privacy_key, 0, sealed[:7], header),
            encrypted_dst_and_mic=sealed,
        )

    def decrypt(self, net_key: bytes) -> SolicitationInfo:
        """De-obfuscate and decrypt; raises UnknownNetworkError / BeaconAuthenticationError."""
        _check_net_key(net_key)
        material = network_key_material(net_key)
        if material.nid != self.nid:
            raise UnknownNetworkError("Solicitation PDU of another network")
        header = obfuscate(
            material.privacy_key, 0, self.encrypted_dst_and_mic[:7], self.obfuscated_header
        )
        sseq = int.from_bytes(header[1:4], "big")
        ssrc = int.from_bytes(header[4:6], "big")
        if header[0] != _SOLICITATION_CTL_TTL or not 0x0001 <= ssrc <= 0x7FFF:
            # A wrong key (same NID) de-obfuscates to garbage: authentication failure.
            raise BeaconAuthenticationError("Solicitation PDU does not authenticate")
        try:
            dst = aes_ccm_decrypt(
                material.encryption_key,
                solicitation_nonce(sseq, ssrc),
                self.encrypted_dst_and_mic,
                _SOLICITATION_MIC_SIZE,
            )
        except InvalidMicError:
            raise BeaconAuthenticationError("Solicitation PDU does not authenticate") from None
        return SolicitationInfo(sseq=sseq, ssrc=ssrc, dst=int.from_bytes(dst, "big"))

    def to_bytes(self) -> bytes:
        return bytes((self.nid,)) + self.obfuscated_header + self.encrypted_dst_and_mic

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        _expect_length("ProxySolicitationPdu", data, SOLICITATION_PDU_SIZE)
        if data[0] & 0x80:
            raise DecodeError("ProxySolicitationPdu", "ivi", "must be 0 (IV Index 0x00000000)")
        return cls(
            nid=data[0] & 0x7F,
            obfuscated_header=bytes(data[1:7]),
            encrypted_dst_and_mic=bytes(data[7:17]),
        )

    def to_service_data(self) -> bytes:
        return bytes((_SOLICITATION_IDENTIFICATION_TYPE,)) + self.to_bytes()

    @classmethod
    def from_service_data(cls, data: bytes) -> Self:
        if not data:
            raise DecodeError("ProxySolicitationServiceData", "identification_type", "missing")
        if data[0] != _SOLICITATION_IDENTIFICATION_TYPE:
            raise DecodeError(
                "ProxySolicitationServiceData", "identification_type", f"reserved 0x{data[0]:02x}"
            )
        return cls.from_bytes(data[1:])

    def to_ad_structure(self) -> bytes:
        return service_data_ad(self.SERVICE_UUID, self.to_service_data())
