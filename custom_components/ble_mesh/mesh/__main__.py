"""Packet decoder and encoder for debugging and outside checks.

MshPRT 1.1 §3.4 - §3.7 (network to access layer), §3.10.3 (Secure Network beacon), §6.6.

``python -m custom_components.ble_mesh.mesh decode --net-key HEX --iv-index HEX
[--app-key HEX]... [--dev-key HEX]... [--label-uuid HEX]... PDU_HEX``

prints one JSON object describing an on-air Network PDU layer by layer: ``network``
(MshPRT 1.1 §3.4.4), ``lower_transport`` (§3.5.2), ``upper_transport`` (§3.6.2, which key
opened it) and ``access`` (§3.7.3: opcode, message name, parameters). A proxy configuration
message (§6.6, proxy nonce) gets a ``proxy_configuration`` section instead of the transport
ones. Integers are JSON numbers; octets and addresses are lower-case hex without ``0x``.

``python -m custom_components.ble_mesh.mesh encode --net-key HEX --iv-index HEX
[--app-key HEX]... [--dev-key HEX]... [--label-uuid HEX]... --src HEX --dst HEX --seq N
--ttl N [--ctl] [--szmic] [--segmented] [--seq-auth N] [--segments LIST] PAYLOAD_HEX``

prints the on-air Network PDU(s) (flooding credentials, §3.9.6.3.1) in hex, one per line.
Without ``--ctl`` PAYLOAD_HEX is an access payload (opcode + parameters, §3.7.3); it is
encrypted with the first ``--app-key`` (AKF=1) or else the first ``--dev-key`` (AKF=0), with
the ``--label-uuid`` whose virtual address is DST as additional data (§3.9.7.1). With
``--ctl`` PAYLOAD_HEX is a transport control message: its first octet is the opcode
(0x00..0x7f), the rest the parameters (§3.6.5), i.e. the Unsegmented Control PDU. The message
is segmented (§3.5.2.2, §3.5.2.4) like the stack does it: when it does not fit one
unsegmented PDU (more than 15 octets of Upper Transport PDU, or 11 octets of control
parameters), with ``--szmic`` (64-bit TransMIC) or with ``--segmented``. Segment n carries
SEQ N+n. ``--seq-auth`` (default: N) is the SEQ the segmented message was first sent with
(nonce and SeqZero), and ``--segments 0,2`` emits only those segments: together they encode
a retransmission with new SEQ numbers (§3.5.3.3). ``--src``/``--dst``/``--iv-index`` are
hex; ``--seq``, ``--seq-auth`` and ``--ttl`` are decimal or ``0x``-prefixed hex.

``python -m custom_components.ble_mesh.mesh beacon --net-key HEX BEACON_HEX``

decodes a Secure Network beacon (§3.10.3) and prints JSON: ``key_refresh``, ``iv_update``,
``network_id`` (hex), ``iv_index`` (number) and ``authenticated`` (false when the Network ID
is another network's or the Authentication Value does not match).

Any error prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import dataclasses
import json
import sys
from typing import Any, NoReturn

from . import crypto
from .beacons import BeaconAuthenticationError, SecureNetworkBeacon, UnknownNetworkError
from .errors import MeshError
from .network import (
    MAX_SEQ,
    MAX_TTL,
    IvIndexState,
    NetworkCredentials,
    NetworkKeyring,
    NetworkPdu,
    ReceivedNetworkPdu,
    decrypt_with_keyring,
    is_unicast,
    is_virtual,
)
from .proxy_config import decode_proxy_config
from .transport import (
    ACCESS_SEGMENT_SIZE,
    CONTROL_SEGMENT_SIZE,
    HEARTBEAT_OPCODE,
    MAX_SEGMENTS,
    MAX_UNSEGMENTED_CONTROL_PARAMETERS,
    MAX_UNSEGMENTED_UPPER_ACCESS,
    SEQ_ZERO_MASK,
    AppKey,
    DeviceKey,
    Heartbeat,
    SegmentAck,
    SegmentedAccessPdu,
    SegmentedControlPdu,
    UnsegmentedAccessPdu,
    UnsegmentedControlPdu,
    decode_lower_transport,
    decrypt_access,
    encrypt_access,
)

EXIT_ERROR = 2


class CliError(Exception):
    """A one-line error for the user (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(message)


def _hex(name: str, size: int | None = None) -> Any:
    def parse(text: str) -> bytes:
        cleaned = text.strip().lower().removeprefix("0x").replace(":", "").replace(" ", "")
        try:
            value = bytes.fromhex(cleaned)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} is not hexadecimal") from None
        if size is not None and len(value) != size:
            raise argparse.ArgumentTypeError(f"{name} must be {size} octets, got {len(value)}")
        return value

    parse.__name__ = name
    return parse


def _iv_index(text: str) -> int:
    value = _hex("iv-index")(text)
    if not 1 <= len(value) <= 4:
        raise argparse.ArgumentTypeError("iv-index must be 1 to 4 octets of hex")
    return int.from_bytes(value, "big")


def _number(name: str, limit: int) -> Any:
    """Decimal or ``0x``-prefixed hexadecimal integer in 0..limit."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 0)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be a decimal or 0x-prefixed hexadecimal number"
            ) from None
        if not 0 <= value <= limit:
            raise argparse.ArgumentTypeError(f"{name} must be 0..{limit}, got {value}")
        return value

    parse.__name__ = name
    return parse


def _hex_number(name: str, limit: int) -> Any:
    """Hexadecimal integer (``0x`` optional) in 0..limit, like the addresses of decode."""

    def parse(text: str) -> int:
        cleaned = text.strip().lower().removeprefix("0x")
        try:
            value = int(cleaned, 16)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} is not hexadecimal") from None
        if not 0 <= value <= limit:
            raise argparse.ArgumentTypeError(f"{name} must be 0..{limit:x} (hex), got {cleaned}")
        return value

    parse.__name__ = name
    return parse


def _segment_list(text: str) -> list[int]:
    try:
        values = [int(part, 0) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("segments must be a comma-separated list") from None
    if not values or any(not 0 <= v < MAX_SEGMENTS for v in values):
        raise argparse.ArgumentTypeError(f"segments must be numbers in 0..{MAX_SEGMENTS - 1}")
    return values


def _add_key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--net-key", required=True, type=_hex("net-key", 16))
    parser.add_argument("--iv-index", required=True, type=_iv_index)
    parser.add_argument("--app-key", action="append", default=[], type=_hex("app-key", 16))
    parser.add_argument("--dev-key", action="append", default=[], type=_hex("dev-key", 16))
    parser.add_argument("--label-uuid", action="append", default=[], type=_hex("label-uuid", 16))


def _parser() -> _Parser:
    parser = _Parser(
        prog="python -m custom_components.ble_mesh.mesh",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    decode = commands.add_parser("decode", help="decode one on-air Network PDU")
    _add_key_options(decode)
    decode.add_argument("pdu", type=_hex("PDU"))
    encode = commands.add_parser("encode", help="encode a message into on-air Network PDUs")
    _add_key_options(encode)
    encode.add_argument("--src", required=True, type=_hex_number("src", 0xFFFF))
    encode.add_argument("--dst", required=True, type=_hex_number("dst", 0xFFFF))
    encode.add_argument("--seq", required=True, type=_number("seq", MAX_SEQ))
    encode.add_argument("--ttl", required=True, type=_number("ttl", MAX_TTL))
    encode.add_argument("--ctl", action="store_true", help="PAYLOAD is opcode + parameters")
    encode.add_argument("--szmic", action="store_true", help="64-bit TransMIC (segmented)")
    encode.add_argument("--segmented", action="store_true", help="segment even if it fits")
    encode.add_argument("--seq-auth", type=_number("seq-auth", MAX_SEQ), default=None)
    encode.add_argument("--segments", type=_segment_list, default=None)
    encode.add_argument("payload", type=_hex("PAYLOAD"))
    beacon = commands.add_parser("beacon", help="check a Secure Network beacon")
    beacon.add_argument("--net-key", required=True, type=_hex("net-key", 16))
    beacon.add_argument("beacon", type=_hex("BEACON"))
    return parser


def _address(value: int) -> str:
    return f"{value:04x}"


def _network_section(received: ReceivedNetworkPdu) -> dict[str, Any]:
    pdu = received.pdu
    return {
        "ivi": pdu.ivi,
        "nid": pdu.nid,
        "ctl": int(pdu.ctl),
        "ttl": pdu.ttl,
        "seq": pdu.seq,
        "src": _address(pdu.src),
        "dst": _address(pdu.dst),
        "net_mic": pdu.net_mic.hex(),
        "transport_pdu": pdu.transport_pdu.hex(),
        "iv_index": received.iv_index,
    }


def _access_section(payload: bytes) -> dict[str, Any]:
    # The access layer is another module; fall back to the opcode alone without it.
    try:
        from . import access
    except ImportError:  # pragma: no cover - access.py is part of the engine
        return _opcode_only(payload)
    try:
        opcode, _ = access.parse_opcode(payload)
    except MeshError as err:
        return {"opcode": None, "error": str(err)}
    described = dict(access.describe(payload))
    described["opcode"] = opcode
    return described


def _opcode_only(payload: bytes) -> dict[str, Any]:
    size = 1 if payload[0] < 0x80 else 2 if payload[0] < 0xC0 else 3
    return {"opcode": int.from_bytes(payload[:size], "big")}


def _open_upper(
    received: ReceivedNetworkPdu,
    *,
    akf: bool,
    aid: int,
    szmic: bool,
    seq: int,
    upper: bytes,
    args: argparse.Namespace,
) -> tuple[dict[str, Any], bytes | None]:
    pdu = received.pdu
    keys: list[tuple[str, int, AppKey | DeviceKey]]
    if akf:
        keys = [
            ("app_key", n, AppKey(0, key))
            for n, key in enumerate(args.app_key)
            if crypto.k4(key) == aid
        ]
    else:
        keys = [("dev_key", n, DeviceKey(key)) for n, key in enumerate(args.dev_key)]
    labels: list[bytes | None] = [None]
    if is_virtual(pdu.dst):
        labels = [u for u in args.label_uuid if crypto.virtual_address(u) == pdu.dst]
    mic = 8 if szmic else 4
    section: dict[str, Any] = {
        "upper_transport_pdu": upper.hex(),
        "trans_mic": upper[-mic:].hex(),
        "seq_auth": seq,
    }
    for kind, number, key in keys:
        for label in labels:
            try:
                payload = decrypt_access(
                    upper,
                    key,
                    seq=seq,
                    src=pdu.src,
                    dst=pdu.dst,
                    iv_index=received.iv_index,
                    szmic=szmic,
                    label_uuid=label,
                )
            except MeshError:
                continue
            section |= {"access_payload": payload.hex(), "key": kind, "key_number": number}
            if label is not None:
                section["label_uuid"] = label.hex()
            return section, payload
    section["error"] = "no given key opens the upper transport PDU"
    return section, None


def _control_parameters(opcode: int, parameters: bytes) -> dict[str, Any]:
    if opcode == SegmentAck.OPCODE:
        ack = SegmentAck.from_parameters(parameters)
        return {"obo": int(ack.obo), "seq_zero": ack.seq_zero, "block_ack": ack.block_ack}
    if opcode == HEARTBEAT_OPCODE:
        heartbeat = Heartbeat.from_parameters(parameters)
        return {"init_ttl": heartbeat.init_ttl, "features": heartbeat.features}
    return {"raw": parameters.hex()}


def _decode(args: argparse.Namespace) -> dict[str, Any]:
    ring = NetworkKeyring()
    ring.add(0, args.net_key)
    iv = IvIndexState(iv_index=args.iv_index)
    try:
        received = decrypt_with_keyring(args.pdu, ring, iv)
    except MeshError as network_error:
        try:
            received = decrypt_with_keyring(args.pdu, ring, iv, proxy=True)
        except MeshError:
            raise CliError(f"network: {network_error}") from None
        message = decode_proxy_config(received.pdu.transport_pdu)
        return {
            "network": _network_section(received) | {"nonce": "proxy"},
            "proxy_configuration": {"opcode": message.OPCODE, "name": type(message).__name__}
            | _proxy_fields(message),
        }
    result: dict[str, Any] = {"network": _network_section(received)}
    pdu = received.pdu
    lower = decode_lower_transport(pdu.ctl, pdu.transport_pdu)
    if isinstance(lower, UnsegmentedControlPdu):
        result["lower_transport"] = {
            "seg": 0,
            "opcode": lower.opcode,
            "parameters": lower.parameters.hex(),
        } | _control_parameters(lower.opcode, lower.parameters)
        return result
    if isinstance(lower, SegmentedControlPdu):
        result["lower_transport"] = {
            "seg": 1,
            "opcode": lower.opcode,
            "seq_zero": lower.seq_zero,
            "seg_o": lower.seg_o,
            "seg_n": lower.seg_n,
            "segment": lower.segment.hex(),
        }
        return result
    lower_section: dict[str, Any] = {"seg": int(isinstance(lower, SegmentedAccessPdu))}
    lower_section |= {"akf": int(lower.akf), "aid": lower.aid}
    if isinstance(lower, UnsegmentedAccessPdu):
        upper, szmic, seq = lower.upper_transport_pdu, False, pdu.seq
    else:
        lower_section |= {
            "szmic": int(lower.szmic),
            "seq_zero": lower.seq_zero,
            "seg_o": lower.seg_o,
            "seg_n": lower.seg_n,
            "segment": lower.segment.hex(),
        }
        result["lower_transport"] = lower_section
        if lower.seg_n != 0:
            result["upper_transport"] = None  # other segments are needed to reassemble it
            return result
        upper, szmic = lower.segment, lower.szmic
        seq = pdu.seq - ((pdu.seq - lower.seq_zero) & SEQ_ZERO_MASK)
        if len(upper) <= (8 if szmic else 4) or seq < 0:
            raise CliError("segment too short for its TransMIC")
    result["lower_transport"] = lower_section
    upper_section, payload = _open_upper(
        received, akf=lower.akf, aid=lower.aid, szmic=szmic, seq=seq, upper=upper, args=args
    )
    result["upper_transport"] = upper_section
    if payload is not None:
        result["access"] = _access_section(payload)
    return result


def _proxy_fields(message: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(message):
        name, value = item.name, getattr(message, item.name)
        if name == "addresses":
            fields[name] = [_address(a) for a in value]
        elif name == "range_start" and value is not None:
            fields[name] = _address(value)
        elif isinstance(value, bool):
            fields[name] = int(value)
        else:
            fields[name] = int(value) if value is not None else None
    return fields


# --- encode (MshPRT 1.1 §3.4.4, §3.5.2, §3.9.7) ----------------------------------------------


def _upper_access(args: argparse.Namespace, seq_auth: int) -> tuple[bool, int, bytes]:
    """(AKF, AID, Upper Transport Access PDU) of the access payload."""
    key: AppKey | DeviceKey
    if args.app_key:
        key = AppKey(0, args.app_key[0])
    elif args.dev_key:
        key = DeviceKey(args.dev_key[0])
    else:
        raise CliError("encode needs --app-key or --dev-key (or --ctl)")
    label: bytes | None = None
    if is_virtual(args.dst):
        label = next((u for u in args.label_uuid if crypto.virtual_address(u) == args.dst), None)
        if label is None:
            raise CliError("dst is a virtual address: give its --label-uuid")
    upper = encrypt_access(
        args.payload,
        key,
        seq=seq_auth,
        src=args.src,
        dst=args.dst,
        iv_index=args.iv_index,
        szmic=args.szmic,
        label_uuid=label,
    )
    if isinstance(key, AppKey):
        return True, key.aid, upper
    return False, 0, upper


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _lower_pdus(args: argparse.Namespace, seq_auth: int) -> list[bytes]:
    """Every Lower Transport PDU of the message, in SegO order (one when unsegmented)."""
    payload: bytes = args.payload
    if not payload:
        raise CliError("the payload is empty")
    segmented = bool(args.segmented or args.szmic)
    if args.ctl:
        if args.szmic:
            raise CliError("--szmic applies to access messages only")
        opcode, parameters = payload[0], payload[1:]
        if opcode > 0x7F:
            raise CliError("a control opcode is 0x00..0x7f")
        if not segmented and len(parameters) <= MAX_UNSEGMENTED_CONTROL_PARAMETERS:
            return [UnsegmentedControlPdu(opcode, parameters).to_bytes()]
        if not parameters or len(parameters) > MAX_SEGMENTS * CONTROL_SEGMENT_SIZE:
            raise CliError(f"segmented control parameters must be 1..{MAX_SEGMENTS * 8} octets")
        pieces = _chunks(parameters, CONTROL_SEGMENT_SIZE)
        return [
            SegmentedControlPdu(opcode, seq_auth & SEQ_ZERO_MASK, n, len(pieces) - 1, p).to_bytes()
            for n, p in enumerate(pieces)
        ]
    mic = 8 if args.szmic else 4
    if len(payload) + mic > MAX_SEGMENTS * ACCESS_SEGMENT_SIZE:
        raise CliError(f"access payload too long (at most {MAX_SEGMENTS * 12 - mic} octets)")
    segmented = segmented or len(payload) + mic > MAX_UNSEGMENTED_UPPER_ACCESS
    akf, aid, upper = _upper_access(args, seq_auth)
    if not segmented:
        return [UnsegmentedAccessPdu(akf, aid, upper).to_bytes()]
    pieces = _chunks(upper, ACCESS_SEGMENT_SIZE)
    seq_zero = seq_auth & SEQ_ZERO_MASK
    return [
        SegmentedAccessPdu(akf, aid, args.szmic, seq_zero, n, len(pieces) - 1, p).to_bytes()
        for n, p in enumerate(pieces)
    ]


def _encode(args: argparse.Namespace) -> list[str]:
    if not is_unicast(args.src):
        raise CliError("src must be a unicast address (0001..7fff)")
    if args.dst == 0:
        raise CliError("dst must not be the unassigned address")
    seq_auth = args.seq if args.seq_auth is None else args.seq_auth
    lowers = _lower_pdus(args, seq_auth)
    chosen = list(range(len(lowers))) if args.segments is None else args.segments
    unsegmented = len(lowers) == 1 and not lowers[0][0] & 0x80  # SEG bit (§3.5.2)
    if unsegmented and (seq_auth != args.seq or chosen != [0]):
        raise CliError("--seq-auth/--segments apply to segmented messages only")
    if any(n >= len(lowers) for n in chosen):
        raise CliError(f"the message has {len(lowers)} segments")
    last_seq = args.seq + len(chosen) - 1
    if last_seq > MAX_SEQ:
        raise CliError("SEQ would pass 0xffffff")
    if not seq_auth <= args.seq or last_seq - seq_auth > SEQ_ZERO_MASK:
        raise CliError("SEQ must be SeqAuth .. SeqAuth+8191 (§3.5.3.1)")
    credentials = NetworkCredentials.flooding(args.net_key)
    lines = []
    for offset, segment in enumerate(chosen):
        pdu = NetworkPdu(
            ivi=args.iv_index & 1,
            nid=credentials.nid,
            ctl=args.ctl,
            ttl=args.ttl,
            seq=args.seq + offset,
            src=args.src,
            dst=args.dst,
            transport_pdu=lowers[segment],
        )
        lines.append(pdu.encrypt(credentials, args.iv_index).hex())
    return lines


# --- beacon (MshPRT 1.1 §3.10.3) --------------------------------------------------------------


def _beacon(args: argparse.Namespace) -> dict[str, Any]:
    beacon = SecureNetworkBeacon.from_bytes(args.beacon)
    try:
        beacon.authenticate(args.net_key)
    except (UnknownNetworkError, BeaconAuthenticationError):
        authenticated = False
    else:
        authenticated = True
    return {
        "key_refresh": beacon.key_refresh,
        "iv_update": beacon.iv_update,
        "network_id": beacon.network_id.hex(),
        "iv_index": beacon.iv_index,
        "authenticated": authenticated,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "encode":
            output = "\n".join(_encode(args))
        elif args.command == "beacon":
            output = json.dumps(_beacon(args))
        else:
            output = json.dumps(_decode(args))
    except (CliError, MeshError) as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201 - a command line tool
        return EXIT_ERROR
    print(output)  # noqa: T201 - a command line tool
    return 0


if __name__ == "__main__":
    sys.exit(main())
