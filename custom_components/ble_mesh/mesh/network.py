"""Network layer (MshPRT 1.1 §3.4) and the network-wide security state around it.

* :class:`NetworkPdu`: the Network PDU (§3.4.4) with its encryption and obfuscation
  (§3.9.7.2, §3.9.7.3). The on-air form is produced by :func:`seal_network_pdu` (also as
  :meth:`NetworkPdu.encrypt`, for a PDU object) and read back by :meth:`NetworkPdu.decrypt`;
  ``to_bytes``/``from_bytes`` are the clear-text layout (header neither obfuscated nor
  encrypted), useful for logs and tests.
* :class:`NetworkCredentials`: NID, EncryptionKey, PrivacyKey of one NetKey (flooding or
  friendship credentials, §3.9.6.3.1).
* :class:`NetworkKeyring`: the NetKeys of a node by NetKey Index with their Key Refresh state
  (§3.11.4): which credentials to transmit with, which to try on reception (several NetKeys can
  share a NID: every candidate is tried and the NetMIC decides).
* :class:`IvIndexState`: IV Index, IV Update procedure and IV Index Recovery (§3.11.5), with
  the 96-hour rules driven by ``now`` values the caller passes in.
* :class:`SequenceAllocator`: SEQ numbers (§3.9.3) that are never reused, even across crashes,
  through a persisted reservation (high-water mark).
* :class:`ReplayProtectionList`: the replay protection list (§3.9.8), bounded per known node,
  persisted as marks reserved ahead (like SEQ) so that a crash never lets a message be
  accepted twice.
* :class:`NetworkMessageCache`: the bounded network message cache (§3.4.6.5).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum
from functools import lru_cache
import struct
from typing import Any, Self

from . import crypto
from .errors import AuthenticationError, DecodeError, UsageError

__all__ = [
    "DEFAULT_REPLAY_MARGIN",
    "DEFAULT_UNKNOWN_SOURCES",
    "HOUR",
    "IV_UPDATE_MIN_DURATION",
    "MAX_TTL",
    "IvIndexChange",
    "IvIndexState",
    "KeyRefreshPhase",
    "NetKeyEntry",
    "NetworkCredentials",
    "NetworkKeyring",
    "NetworkMessageCache",
    "NetworkPdu",
    "NoMatchingNetKeyError",
    "ReceivedNetworkPdu",
    "ReplayProtectionList",
    "SequenceAllocation",
    "SequenceAllocator",
    "SequenceExhaustedError",
    "decrypt_with_keyring",
    "friendship_p",
    "is_group",
    "is_unicast",
    "is_virtual",
    "seal_network_pdu",
]

# --- addresses (§3.4.2) -------------------------------------------------------------------

UNASSIGNED_ADDRESS = 0x0000
MAX_TTL = 0x7F  # §3.4.4.3: TTL 0..127; 1 must not be used to send
MAX_SEQ = 0xFFFFFF


def is_unicast(address: int) -> bool:
    """Unicast address (§3.4.2.2): 0x0001..0x7FFF."""
    return 0x0001 <= address <= 0x7FFF


def is_virtual(address: int) -> bool:
    """Virtual address (§3.4.2.3): 0x8000..0xBFFF."""
    return 0x8000 <= address <= 0xBFFF


def is_group(address: int) -> bool:
    """Group or fixed group address (§3.4.2.4): 0xC000..0xFFFF."""
    return 0xC000 <= address <= 0xFFFF


# --- errors -------------------------------------------------------------------------------


class NoMatchingNetKeyError(AuthenticationError):
    """No known NetKey (old or new, any IV Index candidate) authenticates the Network PDU."""


class SequenceExhaustedError(UsageError):
    """Every SEQ of the current IV Index is used: an IV Update must complete first (§3.9.3)."""


# --- credentials and the Network PDU (§3.4.4, §3.9.7) ------------------------------------

NET_PDU_HEADER_SIZE = 9  # IVI|NID, CTL|TTL, SEQ(3), SRC(2), DST(2)
NET_PDU_MAX_SIZE = 29  # §3.4.4: at most 29 octets on the advertising bearer


def net_mic_size(ctl: bool) -> int:
    """NetMIC size (§3.4.4.7): 32 bits for access messages, 64 bits for control messages."""
    return 8 if ctl else 4


def max_transport_pdu_size(ctl: bool) -> int:
    """Largest TransportPDU (§3.4.4.6): 16 octets for access, 12 for control messages."""
    return NET_PDU_MAX_SIZE - NET_PDU_HEADER_SIZE - net_mic_size(ctl)


def friendship_p(
    lpn_address: int, friend_address: int, lpn_counter: int, friend_counter: int
) -> bytes:
    """P for the friendship credentials k2 derivation (§3.9.6.3.1)."""
    return (
        b"\x01"
        + lpn_address.to_bytes(2, "big")
        + friend_address.to_bytes(2, "big")
        + lpn_counter.to_bytes(2, "big")
        + friend_counter.to_bytes(2, "big")
    )


@dataclass(frozen=True, slots=True, repr=False)
class NetworkCredentials:
    """NID, EncryptionKey and PrivacyKey derived from a NetKey with k2 (§3.9.6.3.1)."""

    nid: int
    encryption_key: bytes
    privacy_key: bytes

    @classmethod
    def flooding(cls, net_key: bytes) -> Self:
        """Managed-flooding credentials: k2(NetKey, 0x00)."""
        if cls is NetworkCredentials and type(net_key) is bytes:
            return _flooding(net_key)  # type: ignore[return-value]
        material = crypto.network_key_material(net_key)
        return cls(material.nid, material.encryption_key, material.privacy_key)

    @classmethod
    def friendship(cls, net_key: bytes, p: bytes) -> Self:
        """Friendship credentials: k2(NetKey, P) with P from :func:`friendship_p`."""
        nid, encryption_key, privacy_key = crypto.k2(net_key, p)
        return cls(nid, encryption_key, privacy_key)

    def __repr__(self) -> str:
        return f"NetworkCredentials(nid=0x{self.nid:02x})"


@lru_cache(maxsize=64)
def _flooding(net_key: bytes) -> NetworkCredentials:
    # Credentials are immutable: every PDU sent or received with a NetKey shares one object.
    material = crypto.network_key_material(net_key)
    return NetworkCredentials(material.nid, material.encryption_key, material.privacy_key)


def _check_field(name: str, value: int, limit: int) -> None:
    if not 0 <= value <= limit:
        raise UsageError(f"NetworkPdu.{name} out of range: {value}")


# CTL|TTL << 24 | SEQ (4 octets), SRC (2 octets): the header that obfuscation hides.
_HEADER = struct.Struct(">IH")


@dataclass(frozen=True, slots=True)
class NetworkPdu:
    """A Network PDU (§3.4.4) in clear text.

    ``net_mic`` is filled in by :meth:`decrypt`; :meth:`encrypt` computes it and ignores the
    value held here.
    """

    ivi: int
    nid: int
    ctl: bool
    ttl: int
    seq: int
    src: int
    dst: int
    transport_pdu: bytes
    net_mic: bytes = b""

    def __post_init__(self) -> None:
        size = len(self.transport_pdu)
        if (
            0 <= self.ivi <= 1
            and 0 <= self.nid <= 0x7F
            and 0 <= self.ttl <= MAX_TTL
            and 0 <= self.seq <= MAX_SEQ
            and 0 <= self.src <= 0xFFFF
            and 0 <= self.dst <= 0xFFFF
            and 1 <= size <= (12 if self.ctl else 16)
            and (not self.net_mic or len(self.net_mic) == (8 if self.ctl else 4))
        ):
            return  # the common case: every field valid, checked in one expression
        _check_field("ivi", self.ivi, 1)
        _check_field("nid", self.nid, 0x7F)
        _check_field("ttl", self.ttl, MAX_TTL)
        _check_field("seq", self.seq, MAX_SEQ)
        _check_field("src", self.src, 0xFFFF)
        _check_field("dst", self.dst, 0xFFFF)
        if not 1 <= len(self.transport_pdu) <= max_transport_pdu_size(self.ctl):
            raise UsageError(
                f"NetworkPdu.transport_pdu must be 1..{max_transport_pdu_size(self.ctl)} octets"
            )
        if self.net_mic and len(self.net_mic) != net_mic_size(self.ctl):
            raise UsageError("NetworkPdu.net_mic has the wrong size for CTL")

    # -- clear-text layout -----------------------------------------------------------------

    def _header(self) -> bytes:
        """CTL|TTL || SEQ || SRC: the six octets that obfuscation hides (§3.9.7.3)."""
        return _HEADER.pack(((0x80 if self.ctl else 0) | self.ttl) << 24 | self.seq, self.src)

    def to_bytes(self) -> bytes:
        """Clear-text layout: IVI|NID, CTL|TTL, SEQ, SRC, DST, TransportPDU, NetMIC."""
        return (
            bytes([(self.ivi << 7) | self.nid])
            + self._header()
            + self.dst.to_bytes(2, "big")
            + self.transport_pdu
            + self.net_mic
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse the clear-text layout produced by :meth:`to_bytes` (NetMIC included)."""
        if len(data) < 2:
            raise DecodeError("NetworkPdu", None, f"too short ({len(data)} octets)")
        ctl = bool(data[1] & 0x80)
        mic = net_mic_size(ctl)
        return cls._parse(data[0], data[1:7], data[7:-mic] if len(data) > mic else b"", data, mic)

    @classmethod
    def _parse(
        cls, first: int, header: bytes, dst_transport: bytes, whole: bytes, mic: int
    ) -> Self:
        ctl = bool(header[0] & 0x80)
        if len(whole) < NET_PDU_HEADER_SIZE + 1 + mic:
            raise DecodeError("NetworkPdu", None, f"too short ({len(whole)} octets)")
        if len(whole) > NET_PDU_MAX_SIZE:
            raise DecodeError("NetworkPdu", None, f"too long ({len(whole)} octets)")
        transport = dst_transport[2:]
        if len(transport) > max_transport_pdu_size(ctl):
            raise DecodeError("NetworkPdu", "transport_pdu", "too long for CTL")
        return cls(
            ivi=first >> 7,
            nid=first & 0x7F,
            ctl=ctl,
            ttl=header[0] & 0x7F,
            seq=int.from_bytes(header[1:4], "big"),
            src=int.from_bytes(header[4:6], "big"),
            dst=int.from_bytes(dst_transport[:2], "big"),
            transport_pdu=bytes(transport),
            net_mic=bytes(whole[-mic:]),
        )

    # -- security (§3.9.7.2, §3.9.7.3) -------------------------------------------------------

    def encrypt(
        self, credentials: NetworkCredentials, iv_index: int, *, proxy: bool = False
    ) -> bytes:
        """The on-air Network PDU: encrypt DST||TransportPDU, then obfuscate the header.

        ``proxy=True`` uses the proxy nonce (§3.9.5.4), for proxy configuration messages.
        ``iv_index`` must have the LSB ``ivi``; ``nid`` must be the credentials' NID.
        """
        if iv_index & 1 != self.ivi:
            raise UsageError("NetworkPdu.ivi is not the LSB of the IV Index")
        if credentials.nid != self.nid:
            raise UsageError("NetworkPdu.nid does not belong to these credentials")
        return seal_network_pdu(
            credentials,
            iv_index,
            ctl=self.ctl,
            ttl=self.ttl,
            seq=self.seq,
            src=self.src,
            dst=self.dst,
            transport_pdu=self.transport_pdu,
            proxy=proxy,
        )

    @classmethod
    def decrypt(
        cls, data: bytes, credentials: NetworkCredentials, iv_index: int, *, proxy: bool = False
    ) -> Self:
        """Deobfuscate and decrypt an on-air Network PDU.

        Raises :class:`DecodeError` for a malformed PDU and :class:`crypto.InvalidMicError`
        when these credentials / this IV Index do not authenticate it.
        """
        if len(data) < NET_PDU_HEADER_SIZE + 1 + 4:
            raise DecodeError("NetworkPdu", None, f"too short ({len(data)} octets)")
        if len(data) > NET_PDU_MAX_SIZE:
            raise DecodeError("NetworkPdu", None, f"too long ({len(data)} octets)")
        if data[0] & 0x7F != credentials.nid:
            raise crypto.InvalidMicError("NID does not match")
        if data[0] >> 7 != iv_index & 1:
            raise UsageError("IV Index does not match the PDU's IVI")
        header = crypto.obfuscate(credentials.privacy_key, iv_index, data[7:14], data[1:7])
        ctl_ttl_seq, src = _HEADER.unpack(header)
        ctl_ttl = ctl_ttl_seq >> 24
        ctl = ctl_ttl >= 0x80
        mic = 8 if ctl else 4
        if len(data) < NET_PDU_HEADER_SIZE + 1 + mic:
            raise DecodeError("NetworkPdu", None, f"too short for CTL={int(ctl)}")
        seq = ctl_ttl_seq & MAX_SEQ
        if proxy:
            nonce = crypto.proxy_nonce(seq, src, iv_index)
        else:
            nonce = crypto.network_nonce(ctl_ttl, seq, src, iv_index)
        clear = crypto.aes_ccm_decrypt(credentials.encryption_key, nonce, data[7:], mic)
        # What _parse checks and builds, inline: this is the receive hot path. The length
        # checks above bound the TransportPDU to max_transport_pdu_size(ctl) octets.
        first = data[0]
        return cls(
            first >> 7,
            first & 0x7F,
            ctl,
            ctl_ttl & 0x7F,
            seq,
            src,
            (clear[0] << 8) | clear[1],
            bytes(clear[2:]),
            bytes(data[-mic:]),
        )

    def relayed(self) -> Self | None:
        """The PDU to relay (TTL decremented), or None when TTL is 0 or 1 (§3.4.6.3)."""
        if self.ttl < 2:
            return None
        return self.with_ttl(self.ttl - 1)

    def with_ttl(self, ttl: int) -> Self:
        """The same PDU with another TTL (relaying decrements it, §3.4.6.3)."""
        return replace(self, ttl=ttl, net_mic=b"")


def seal_network_pdu(
    credentials: NetworkCredentials,
    iv_index: int,
    *,
    ctl: bool,
    ttl: int,
    seq: int,
    src: int,
    dst: int,
    transport_pdu: bytes,
    proxy: bool = False,
) -> bytes:
    """The on-air Network PDU: encrypt DST||TransportPDU, then obfuscate CTL|TTL||SEQ||SRC
    (§3.9.7.2, §3.9.7.3). The one implementation: :meth:`NetworkPdu.encrypt` calls it.

    ``proxy=True`` uses the proxy nonce (§3.9.5.4), for proxy configuration messages. A field
    out of range raises :class:`UsageError`, as :class:`NetworkPdu` does.
    """
    if not (
        0 <= ttl <= MAX_TTL
        and 0 <= seq <= MAX_SEQ
        and 0 <= src <= 0xFFFF
        and 0 <= dst <= 0xFFFF
        and 1 <= len(transport_pdu) <= (12 if ctl else 16)
    ):
        # The precise UsageError for the field that is wrong.
        NetworkPdu(iv_index & 1, credentials.nid, ctl, ttl, seq, src, dst, transport_pdu)
    ctl_ttl = (0x80 if ctl else 0) | ttl
    if proxy:
        nonce = crypto.proxy_nonce(seq, src, iv_index)
    else:
        nonce = crypto.network_nonce(ctl_ttl, seq, src, iv_index)
    sealed = crypto.aes_ccm_encrypt(
        credentials.encryption_key,
        nonce,
        dst.to_bytes(2, "big") + transport_pdu,
        8 if ctl else 4,
    )
    header = _HEADER.pack(ctl_ttl << 24 | seq, src)
    obfuscated = crypto.obfuscate(credentials.privacy_key, iv_index, sealed[:7], header)
    return bytes((((iv_index & 1) << 7) | credentials.nid,)) + obfuscated + sealed


# --- NetKeys and Key Refresh (§3.11.4) ---------------------------------------------------


class KeyRefreshPhase(IntEnum):
    """Key Refresh Phase state (§3.11.4, Table 4.24 in MshPRT 1.1 §4.2.15)."""

    NORMAL = 0
    KEY_DISTRIBUTION = 1
    USING_NEW_KEYS = 2


@dataclass(slots=True, repr=False)
class NetKeyEntry:
    """One NetKey with its Key Refresh state. ``repr`` shows the index and phase only."""

    index: int
    key: bytes
    new_key: bytes | None = None
    phase: KeyRefreshPhase = KeyRefreshPhase.NORMAL

    def __repr__(self) -> str:
        return f"NetKeyEntry(index={self.index}, phase={self.phase.name})"

    @property
    def tx_key(self) -> bytes:
        """Phase 0/1 transmit with the old key, phase 2 with the new one (§3.11.4.2)."""
        if self.phase == KeyRefreshPhase.USING_NEW_KEYS and self.new_key is not None:
            return self.new_key
        return self.key

    def rx_keys(self) -> list[tuple[bytes, bool]]:
        """(key, is_new) pairs to receive with: both during a Key Refresh."""
        keys = [(self.key, False)]
        if self.new_key is not None:
            keys.append((self.new_key, True))
        return keys


class NetworkKeyring:
    """The NetKeys of a node, by NetKey Index (0..4095)."""

    def __init__(self) -> None:
        self._keys: dict[int, NetKeyEntry] = {}

    def __repr__(self) -> str:
        return f"NetworkKeyring(indexes={sorted(self._keys)})"

    def __contains__(self, index: object) -> bool:
        return index in self._keys

    def __iter__(self) -> Iterator[NetKeyEntry]:
        return iter(list(self._keys.values()))

    def add(self, index: int, key: bytes) -> None:
        """Add a NetKey (Config NetKey Add); re-adding the same key is idempotent."""
        if not 0 <= index <= 0xFFF:
            raise UsageError(f"NetKey index out of range: {index}")
        if len(key) != 16:
            raise UsageError("a NetKey is 16 octets")
        existing = self._keys.get(index)
        if existing is not None and existing.key != key:
            raise UsageError(f"NetKey index {index} already holds another key")
        if existing is None:
            self._keys[index] = NetKeyEntry(index, bytes(key))

    def remove(self, index: int) -> None:
        """Forget a NetKey."""
        self._keys.pop(index, None)

    def get(self, index: int) -> NetKeyEntry:
        """The entry of a NetKey Index; UsageError when unknown."""
        try:
            return self._keys[index]
        except KeyError:
            raise UsageError(f"unknown NetKey index {index}") from None

    def update(self, index: int, new_key: bytes) -> None:
        """Start Key Refresh phase 1 with ``new_key`` (Config NetKey Update, §3.11.4.1)."""
        entry = self.get(index)
        if len(new_key) != 16:
            raise UsageError("a NetKey is 16 octets")
        if entry.phase == KeyRefreshPhase.NORMAL and new_key != entry.key:
            entry.new_key = bytes(new_key)
            entry.phase = KeyRefreshPhase.KEY_DISTRIBUTION
        elif entry.phase == KeyRefreshPhase.KEY_DISTRIBUTION and new_key == entry.new_key:
            return  # idempotent retry
        else:
            raise UsageError(f"NetKey {index} cannot be updated in phase {entry.phase.name}")

    def set_phase(self, index: int, phase: int) -> None:
        """Key Refresh transition 2 (use new keys) or 3 (revoke old keys, back to phase 0)."""
        entry = self.get(index)
        if phase == 2 and entry.phase in (
            KeyRefreshPhase.KEY_DISTRIBUTION,
            KeyRefreshPhase.USING_NEW_KEYS,
        ):
            entry.phase = KeyRefreshPhase.USING_NEW_KEYS
        elif phase == 3 and entry.new_key is not None:
            entry.key, entry.new_key = entry.new_key, None
            entry.phase = KeyRefreshPhase.NORMAL
        elif phase == 3 and entry.phase == KeyRefreshPhase.NORMAL:
            return
        else:
            raise UsageError(f"invalid Key Refresh transition {phase} from {entry.phase.name}")

    def tx_credentials(self, index: int) -> NetworkCredentials:
        """Flooding credentials to transmit with on a subnet."""
        return _flooding(self.get(index).tx_key)

    def candidates(self, nid: int) -> list[tuple[int, bool, NetworkCredentials]]:
        """Every (NetKey Index, is_new_key, credentials) whose flooding NID is ``nid``."""
        found = []
        for entry in self._keys.values():
            credentials = _flooding(entry.key)
            if credentials.nid == nid:
                found.append((entry.index, False, credentials))
            if entry.new_key is not None:
                credentials = _flooding(entry.new_key)
                if credentials.nid == nid:
                    found.append((entry.index, True, credentials))
        return found

    def to_dict(self) -> list[dict[str, Any]]:
        """Plain data for storage (contains key material: store it like the other keys)."""
        return [
            {
                "index": e.index,
                "key": e.key.hex(),
                "new_key": e.new_key.hex() if e.new_key else None,
                "phase": int(e.phase),
            }
            for e in self._keys.values()
        ]

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Restore from :meth:`to_dict` output; DecodeError on malformed data."""
        ring = cls()
        try:
            for item in data:
                entry = NetKeyEntry(
                    int(item["index"]),
                    bytes.fromhex(item["key"]),
                    bytes.fromhex(item["new_key"]) if item["new_key"] else None,
                    KeyRefreshPhase(int(item["phase"])),
                )
                if len(entry.key) != 16 or (entry.new_key is not None and len(entry.new_key) != 16):
                    raise ValueError("key length")
                ring._keys[entry.index] = entry
        except (TypeError, KeyError, ValueError) as err:
            raise DecodeError(
                "NetworkKeyring", None, f"malformed stored keys ({type(err).__name__})"
            ) from None
        return ring


@dataclass(frozen=True, slots=True)
class ReceivedNetworkPdu:
    """A Network PDU that authenticated, with what opened it."""

    pdu: NetworkPdu
    net_key_index: int
    new_key: bool
    iv_index: int


def decrypt_with_keyring(
    data: bytes, keyring: NetworkKeyring, iv: IvIndexState, *, proxy: bool = False
) -> ReceivedNetworkPdu:
    """Try every NetKey whose NID matches (§3.4.6.3); the first valid NetMIC wins.

    Raises :class:`DecodeError` for a malformed PDU, :class:`NoMatchingNetKeyError` when no
    candidate authenticates it.
    """
    if len(data) < NET_PDU_HEADER_SIZE + 1 + 4:
        raise DecodeError("NetworkPdu", None, f"too short ({len(data)} octets)")
    if len(data) > NET_PDU_MAX_SIZE:
        raise DecodeError("NetworkPdu", None, f"too long ({len(data)} octets)")
    iv_index = iv.rx_iv_index(data[0] >> 7)
    if iv_index is None:
        raise NoMatchingNetKeyError("no IV Index for this IVI")
    for index, is_new, credentials in keyring.candidates(data[0] & 0x7F):
        try:
            pdu = NetworkPdu.decrypt(data, credentials, iv_index, proxy=proxy)
        except crypto.InvalidMicError:
            continue
        except UsageError as err:  # a decrypted field out of range: malformed
            raise DecodeError("NetworkPdu", None, str(err)) from None
        return ReceivedNetworkPdu(pdu, index, is_new, iv_index)
    raise NoMatchingNetKeyError("no NetKey authenticates this Network PDU")


# --- IV Index (§3.11.5) --------------------------------------------------------------------

HOUR = 3600.0
IV_UPDATE_MIN_DURATION = 96 * HOUR
IV_UPDATE_MAX_IN_PROGRESS = 144 * HOUR
IV_RECOVERY_INTERVAL = 192 * HOUR
IV_RECOVERY_LIMIT = 42


@dataclass(frozen=True, slots=True)
class IvIndexChange:
    """What an IV Index state change means for the caller.

    ``reset_seq``: the transmit IV Index grew, SEQ numbers restart at 0 (persist the state first).
    """

    old_iv_index: int
    iv_index: int
    update_in_progress: bool
    recovery: bool
    reset_seq: bool


@dataclass(slots=True)
class IvIndexState:
    """IV Index and IV Update Flag of a node (§3.11.5), with the 96-hour rules.

    ``changed_at`` is the ``now`` of the last state change (None: unknown, so the limits do not
    apply, e.g. right after provisioning, §5.4.2.5). ``test_mode`` is the IV Update test mode:
    it removes the 96-hour limits.

    ``known`` is False while the IV Index is not known at all (a network imported from a Mesh
    CDB file, which carries none): there is no "last known IV Index" to measure the +42 window
    of §3.11.5.2 from, so the first authenticated Secure Network beacon of the primary subnet
    sets it, whatever its distance. Once known, the spec's limits apply.
    """

    iv_index: int = 0
    update_in_progress: bool = False
    changed_at: float | None = None
    last_recovery_at: float | None = None
    test_mode: bool = False
    known: bool = True

    def copy(self) -> IvIndexState:
        """An independent copy (a snapshot must not change with the live state)."""
        return replace(self)

    @property
    def tx_iv_index(self) -> int:
        """IV Index to transmit with: n in Normal, m-1 during an IV Update (§3.11.5)."""
        if self.update_in_progress:
            return max(self.iv_index - 1, 0)
        return self.iv_index

    def rx_iv_index(self, ivi: int) -> int | None:
        """IV Index to receive a PDU with IVI bit ``ivi``: the current or the previous one."""
        if ivi == self.iv_index & 1:
            return self.iv_index
        if self.iv_index == 0:
            return None
        return self.iv_index - 1

    def _elapsed_ok(self, now: float, minimum: float) -> bool:
        return self.test_mode or self.changed_at is None or now - self.changed_at >= minimum

    def _change(
        self, iv_index: int, in_progress: bool, now: float, *, recovery: bool, learnt: bool = False
    ) -> IvIndexChange:
        """``learnt``: the first IV Index of an unknown state, which starts no 192-hour clock."""
        old_iv, old_tx = self.iv_index, self.tx_iv_index
        self.iv_index, self.update_in_progress = iv_index, in_progress
        self.changed_at = None if recovery else now  # §3.11.5: no 96 h limits after recovery
        if learnt:
            self.known = True
        elif recovery:
            self.last_recovery_at = now
        return IvIndexChange(old_iv, iv_index, in_progress, recovery, self.tx_iv_index > old_tx)

    def start_update(self, now: float) -> IvIndexChange:
        """Initiate an IV Update ourselves (e.g. SEQ running low): Normal -> In Progress."""
        if self.update_in_progress:
            raise UsageError("an IV Update is already in progress")
        if not self._elapsed_ok(now, IV_UPDATE_MIN_DURATION):
            raise UsageError("IV Update started less than 96 hours after the last change")
        if self.iv_index >= 0xFFFFFFFF:
            raise UsageError("IV Index cannot grow any further")
        return self._change(self.iv_index + 1, True, now, recovery=False)

    def complete_update(
        self, now: float, *, transfers_pending: bool = False
    ) -> IvIndexChange | None:
        """In Progress -> Normal once 96 h passed (and no segmented transfer awaits acks)."""
        if not self.update_in_progress or transfers_pending:
            return None
        if not self._elapsed_ok(now, IV_UPDATE_MIN_DURATION):
            return None
        return self._change(self.iv_index, False, now, recovery=False)

    def poll(self, now: float, *, transfers_pending: bool = False) -> IvIndexChange | None:
        """Time-driven step: leave In Progress by 144 h at the latest (§3.11.5)."""
        if (
            self.update_in_progress
            and self.changed_at is not None
            and now - self.changed_at >= IV_UPDATE_MAX_IN_PROGRESS - HOUR
        ):
            return self.complete_update(now, transfers_pending=transfers_pending)
        return None

    def next_deadline(self) -> float | None:
        """When :meth:`poll` should run next."""
        if self.update_in_progress and self.changed_at is not None:
            return self.changed_at + IV_UPDATE_MAX_IN_PROGRESS - HOUR
        return None

    def on_beacon(
        self, iv_index: int, update_flag: bool, now: float, *, primary_subnet: bool = True
    ) -> IvIndexChange | None:
        """Process an authenticated beacon's IV Index and IV Update Flag (§3.11.5, §3.11.5.2).

        Returns the change, or None when the beacon is ignored or changes nothing.
        """
        if not self.known:
            if not primary_subnet:
                return None
            # Learning the IV Index is not a recovery from a known one: no 192-hour clock starts.
            return self._change(iv_index, update_flag, now, recovery=True, learnt=True)
        if iv_index < self.iv_index or iv_index > self.iv_index + IV_RECOVERY_LIMIT:
            return None  # older, or too far ahead: ignore
        if not primary_subnet and iv_index > self.iv_index:
            return None  # only the primary subnet drives the IV Index
        if iv_index == self.iv_index:
            if self.update_in_progress and not update_flag:
                return self.complete_update(now)
            return None
        # iv_index > self.iv_index
        if iv_index == self.iv_index + 1 and update_flag and not self.update_in_progress:
            if not self._elapsed_ok(now, IV_UPDATE_MIN_DURATION):
                return None
            return self._change(iv_index, True, now, recovery=False)
        # IV Index Recovery (§3.11.5.2): at most once per 192 hours.
        if (
            not self.test_mode
            and self.last_recovery_at is not None
            and now - self.last_recovery_at < IV_RECOVERY_INTERVAL
        ):
            return None
        return self._change(iv_index, update_flag, now, recovery=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for storage."""
        return {
            "iv_index": self.iv_index,
            "update_in_progress": self.update_in_progress,
            "changed_at": self.changed_at,
            "last_recovery_at": self.last_recovery_at,
            "known": self.known,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Restore from :meth:`to_dict` output."""
        try:
            iv_index = data["iv_index"]
            if not isinstance(iv_index, int) or not 0 <= iv_index <= 0xFFFFFFFF:
                raise ValueError("iv_index")
            changed = data.get("changed_at")
            recovered = data.get("last_recovery_at")
            return cls(
                iv_index=iv_index,
                update_in_progress=bool(data["update_in_progress"]),
                changed_at=None if changed is None else float(changed),
                last_recovery_at=None if recovered is None else float(recovered),
                known=bool(data.get("known", True)),
            )
        except (TypeError, KeyError, ValueError) as err:
            raise DecodeError("IvIndexState", None, f"malformed stored state ({err})") from None


# --- SEQ (§3.9.3) ------------------------------------------------------------------------

DEFAULT_SEQ_BLOCK = 256
DEFAULT_IV_UPDATE_THRESHOLD = 0xC00000


@dataclass(frozen=True, slots=True)
class SequenceAllocation:
    """SEQ numbers ``first .. first+count-1`` under ``iv_index``.

    When ``persist`` is not None the caller must store it (``SequenceAllocator.restore`` takes
    it back) **before** transmitting anything with these SEQ numbers.
    """

    first: int
    count: int
    iv_index: int
    persist: dict[str, int] | None

    @property
    def numbers(self) -> range:
        """The allocated SEQ numbers."""
        return range(self.first, self.first + self.count)


class SequenceAllocator:
    """Hands out SEQ numbers that are never reused for one IV Index (§3.9.3).

    The allocator reserves SEQ numbers in blocks. The persisted value is the reservation limit
    (every SEQ below it may have been used), paired with its IV Index. After a crash
    :meth:`restore` continues at the limit, so nothing that could have been sent is sent again.
    """

    def __init__(
        self,
        iv_index: int = 0,
        next_seq: int = 0,
        *,
        block_size: int = DEFAULT_SEQ_BLOCK,
        iv_update_threshold: int = DEFAULT_IV_UPDATE_THRESHOLD,
    ) -> None:
        if block_size < 1:
            raise UsageError("block_size must be positive")
        self.iv_index = iv_index
        self._next = next_seq
        self._limit = next_seq  # nothing reserved yet
        self.block_size = block_size
        self.iv_update_threshold = iv_update_threshold

    def __repr__(self) -> str:
        return (
            f"SequenceAllocator(iv_index={self.iv_index}, next={self._next}, limit={self._limit})"
        )

    @property
    def next_seq(self) -> int:
        """The SEQ the next allocation starts with."""
        return self._next

    @property
    def iv_update_needed(self) -> bool:
        """True once SEQ passed the threshold: start an IV Update now (§3.11.5)."""
        return self._next >= self.iv_update_threshold

    def persisted_state(self) -> dict[str, int]:
        """The current reservation as plain data (what :meth:`restore` takes)."""
        return {"iv_index": self.iv_index, "seq": self._limit}

    def allocate(self, count: int = 1) -> SequenceAllocation:
        """Reserve ``count`` consecutive SEQ numbers (see :class:`SequenceAllocation`)."""
        if count < 1:
            raise UsageError("count must be positive")
        if self._next + count - 1 > MAX_SEQ:
            raise SequenceExhaustedError("SEQ space exhausted for this IV Index")
        persist = None
        if self._next + count > self._limit:
            self._limit = min(self._next + count + self.block_size - 1, MAX_SEQ + 1)
            persist = self.persisted_state()
        first = self._next
        self._next += count
        return SequenceAllocation(first, count, self.iv_index, persist)

    def set_iv_index(self, iv_index: int) -> dict[str, int] | None:
        """Transmit IV Index grew: SEQ restarts at 0. Returns the value to persist."""
        if iv_index < self.iv_index:
            raise UsageError("the transmit IV Index never decreases")
        if iv_index == self.iv_index:
            return None
        self.iv_index, self._next, self._limit = iv_index, 0, 0
        return self.persisted_state()

    @classmethod
    def restore(
        cls,
        persisted: Mapping[str, Any] | None,
        iv_index: int,
        *,
        block_size: int = DEFAULT_SEQ_BLOCK,
        iv_update_threshold: int = DEFAULT_IV_UPDATE_THRESHOLD,
    ) -> Self:
        """Continue after a (possibly unclean) stop from a persisted reservation.

        ``iv_index`` is the current transmit IV Index. A reservation for an older IV Index
        means SEQ restarts at 0; one for a newer IV Index cannot be trusted (DecodeError).
        """
        if persisted is None:
            return cls(iv_index, 0, block_size=block_size, iv_update_threshold=iv_update_threshold)
        try:
            stored_iv = persisted["iv_index"]
            seq = persisted["seq"]
            if not isinstance(stored_iv, int) or not isinstance(seq, int):
                raise TypeError("not integers")
            if not 0 <= seq <= MAX_SEQ + 1:
                raise ValueError("seq out of range")
        except (TypeError, KeyError, ValueError) as err:
            raise DecodeError(
                "SequenceAllocator", None, f"malformed stored state ({err})"
            ) from None
        if stored_iv > iv_index:
            raise DecodeError("SequenceAllocator", "iv_index", "stored for a newer IV Index")
        start = seq if stored_iv == iv_index else 0
        return cls(iv_index, start, block_size=block_size, iv_update_threshold=iv_update_threshold)


# --- replay protection (§3.9.8) -----------------------------------------------------------

DEFAULT_REPLAY_MARGIN = 16
"""SEQ numbers of a source one write of the replay protection list covers (see
:class:`ReplayProtectionList`, "Persistence")."""
DEFAULT_UNKNOWN_SOURCES = 64
"""Sources outside the known ones that the replay protection list keeps (least recently heard
first out)."""


def _ivi_seq(iv_index: int, seq: int) -> int:
    # §3.9.8: IVI-SEQ, the IV Index (32 bits) followed by SEQ (24 bits), compared as a number.
    return iv_index << 24 | seq


class ReplayProtectionList:
    """Last accepted IVI-SEQ (IV Index, SEQ) per source address (§3.9.8).

    :meth:`is_replay` checks, :meth:`update` records after the message was validated (both a
    dict look-up and a comparison).

    Capacity. Sources named by :meth:`set_known` (the elements of the nodes in the network)
    keep their entry for as long as they are known, without a limit. Every other source lives
    in a least-recently-heard list of ``unknown_capacity`` entries: a flood of spoofed sources
    (anyone holding the NetKey can send control messages from any address) evicts only other
    unknown sources, never a known node's entry. An evicted source is a new source again: for
    sources that are not known, replay protection covers the last ``unknown_capacity`` heard.

    Persistence. What is stored (:meth:`to_dict`) must reject after a crash every message of a
    known source accepted before it, without a write per message. So the stored copy holds, per
    known source, a *mark* at or above every IVI-SEQ accepted from it: :meth:`reserve` tells the
    caller when an accepted message passes the mark, which then moves ``margin`` SEQ numbers
    ahead, and the caller stores :meth:`to_dict` before acting on that message (one write per
    ``margin`` SEQ numbers of a source). After a crash the restored marks also reject what the
    source had not sent yet, at most ``margin`` SEQ numbers of it, as a SEQ reservation skips
    numbers (§3.9.3). :meth:`release_marks` lowers the marks to what was accepted, for a clean
    stop. Unknown sources reserve nothing: their protection is best effort anyway (a flood
    evicts them), and a flood of spoofed sources must not cost a write per message; they are
    stored as accepted whenever the list is.
    """

    def __init__(
        self,
        *,
        margin: int = DEFAULT_REPLAY_MARGIN,
        unknown_capacity: int = DEFAULT_UNKNOWN_SOURCES,
        known: Iterable[int] = (),
    ) -> None:
        if margin < 0 or unknown_capacity < 1:
            raise UsageError("margin must not be negative, unknown_capacity must be positive")
        self.margin = margin
        self.unknown_capacity = unknown_capacity
        self._known_addresses: frozenset[int] = frozenset(known)
        self._known: dict[int, int] = {}  # src -> IVI-SEQ last accepted
        self._unknown: OrderedDict[int, int] = OrderedDict()  # least recently heard first
        self._marks: dict[int, int] = {}  # src -> IVI-SEQ the stored copy reaches

    def __repr__(self) -> str:
        return f"ReplayProtectionList(known={len(self._known)}, unknown={len(self._unknown)})"

    def __len__(self) -> int:
        return len(self._known) + len(self._unknown)

    def get(self, src: int) -> tuple[int, int] | None:
        """(IV Index, SEQ) last accepted from ``src``."""
        last = self._last(src)
        return None if last is None else (last >> 24, last & MAX_SEQ)

    def _last(self, src: int) -> int | None:
        last = self._known.get(src)
        return self._unknown.get(src) if last is None else last

    def is_replay(self, src: int, seq: int, iv_index: int) -> bool:
        """True when (iv_index, seq) is not newer than what ``src`` sent before."""
        last = self._known.get(src)
        if last is None:
            last = self._unknown.get(src)
            if last is None:
                return False
        return (iv_index << 24 | seq) <= last

    def update(self, src: int, seq: int, iv_index: int) -> None:
        """Record (iv_index, seq) for ``src`` (never moves backwards)."""
        ivi_seq = iv_index << 24 | seq
        known = self._known
        last = known.get(src)
        if last is not None or src in self._known_addresses:
            if last is None or ivi_seq > last:
                known[src] = ivi_seq
            return
        unknown = self._unknown
        last = unknown.get(src)
        if last is not None:
            unknown.move_to_end(src)
            if ivi_seq > last:
                unknown[src] = ivi_seq
            return
        unknown[src] = ivi_seq
        self._trim()

    def accept(self, src: int, seq: int, iv_index: int) -> bool:
        """Check and record in one step; False for a replayed message."""
        if self.is_replay(src, seq, iv_index):
            return False
        self.update(src, seq, iv_index)
        return True

    def reserve(self, src: int, seq: int, iv_index: int) -> bool:
        """After :meth:`update`: True when (iv_index, seq) of a known ``src`` passed what is
        stored for it.

        The mark then moves ``margin`` ahead (not beyond the IV Index's last SEQ) and the caller
        must store :meth:`to_dict` before acting on the message.
        """
        if src not in self._known:
            return False  # not a node of the network: best effort (see the class notes)
        ivi_seq = iv_index << 24 | seq
        mark = self._marks.get(src)
        if mark is not None and ivi_seq <= mark:
            return False
        self._marks[src] = min(ivi_seq + self.margin, iv_index << 24 | MAX_SEQ)
        return True

    def release_marks(self) -> None:
        """Lower the marks to what was accepted (a clean stop: nothing is rejected after it
        that the source did not send); the next message of each source reserves again."""
        self._marks.clear()

    def set_known(self, addresses: Iterable[int]) -> None:
        """The sources whose entries are never evicted (see the class notes); entries move."""
        self._known_addresses = frozenset(addresses)
        known, unknown = self._known, self._unknown
        leaving = [src for src in known if src not in self._known_addresses]
        for src in [src for src in unknown if src in self._known_addresses]:
            known[src] = unknown.pop(src)
        for src in leaving:  # a removed node: kept as recently heard
            unknown[src] = known.pop(src)
        self._trim()

    def _trim(self) -> None:
        unknown = self._unknown
        while len(unknown) > self.unknown_capacity:
            evicted, _ = unknown.popitem(last=False)
            self._marks.pop(evicted, None)

    def forget_older_than(self, iv_index: int) -> None:
        """Drop entries older than ``iv_index - 1``: such messages are rejected anyway."""
        floor = _ivi_seq(iv_index - 1, 0) if iv_index > 0 else 0
        for table in (self._known, self._unknown):
            for src in [src for src, last in table.items() if last < floor]:
                del table[src]
                self._marks.pop(src, None)

    def to_dict(self) -> dict[str, list[int]]:
        """What to store: {"<src hex>": [iv_index, seq]}, per source its mark (at or above the
        last accepted). JSON-able; :meth:`from_dict` rejects everything at or below it."""
        marks = self._marks
        result: dict[str, list[int]] = {}
        for src, last in sorted([*self._known.items(), *self._unknown.items()]):
            value = max(last, marks.get(src, last))
            result[f"{src:04x}"] = [value >> 24, value & MAX_SEQ]
        return result

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        margin: int = DEFAULT_REPLAY_MARGIN,
        unknown_capacity: int = DEFAULT_UNKNOWN_SOURCES,
        known: Iterable[int] = (),
    ) -> Self:
        """Restore from :meth:`to_dict` output; DecodeError on malformed data."""
        rpl = cls(margin=margin, unknown_capacity=unknown_capacity, known=known)
        try:
            for key, value in data.items():
                src = int(key, 16)
                iv, seq = value
                if not (is_unicast(src) and isinstance(iv, int) and isinstance(seq, int)):
                    raise ValueError("entry")
                if not (0 <= iv <= 0xFFFFFFFF and 0 <= seq <= MAX_SEQ):
                    raise ValueError("range")
                rpl.update(src, seq, iv)
                rpl._marks[src] = _ivi_seq(iv, seq)
        except (TypeError, ValueError, AttributeError) as err:
            raise DecodeError(
                "ReplayProtectionList", None, f"malformed stored list ({type(err).__name__})"
            ) from None
        return rpl


# --- network message cache (§3.4.6.5) -----------------------------------------------------


@dataclass(slots=True)
class NetworkMessageCache:
    """Bounded cache of recently seen Network PDUs; oldest entries drop first."""

    capacity: int = 256
    _seen: OrderedDict[tuple[int, int, int], None] = field(default_factory=OrderedDict)

    def seen(self, src: int, seq: int, iv_index: int) -> bool:
        """True if this (SRC, SEQ, IV Index) was already seen; otherwise remember it."""
        key = (src, seq, iv_index)
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        self._seen[key] = None
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._seen)
