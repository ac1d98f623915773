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

The command line drives a :class:`~.node.MeshNode` holding the given keys, like every other
user of the engine: ``decode`` is :meth:`MeshNode.inspect`, ``encode`` is
:meth:`MeshNode.encode`, ``beacon`` is :meth:`MeshNode.inspect_beacon`; this module only
parses arguments and prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import dataclasses
import json
import sys
from typing import Any, NoReturn

from . import access
from .beacons import SecureNetworkBeacon
from .errors import MeshError
from .network import MAX_SEQ, MAX_TTL, IvIndexState, NetworkKeyring, ReceivedNetworkPdu, is_unicast
from .node import MeshNode, NodeState, PduInspection
from .transport import (
    MAX_SEGMENTS,
    AppKey,
    DeviceKey,
    Heartbeat,
    SegmentAck,
    SegmentedAccessPdu,
    SegmentedControlPdu,
    UnsegmentedAccessPdu,
    UnsegmentedControlPdu,
)

EXIT_ERROR = 2
ANY_UNICAST = 0x8000
"""A device key given on the command line is tried for every unicast address."""


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


def _node(args: argparse.Namespace, address: int = 0x0001) -> MeshNode:
    """A node holding the keys of the command line (each ``--app-key`` n as AppKey n)."""
    ring = NetworkKeyring()
    ring.add(0, args.net_key)
    iv_index = getattr(args, "iv_index", 0)
    state = NodeState(IvIndexState(iv_index=iv_index), {"iv_index": iv_index, "seq": 0}, {})
    return MeshNode(
        address=address,
        net_keys=ring,
        app_keys=[AppKey(n, key) for n, key in enumerate(getattr(args, "app_key", []))],
        device_keys=[DeviceKey(key, 0, ANY_UNICAST) for key in getattr(args, "dev_key", [])],
        label_uuids=getattr(args, "label_uuid", []),
        state=state,
        persist_state=False,
    )


# --- decode (MshPRT 1.1 §3.4 - §3.7, §6.6) ---------------------------------------------------


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
    try:
        opcode, _ = access.parse_opcode(payload)
    except MeshError as err:
        return {"opcode": None, "error": str(err)}
    described = dict(access.describe(payload))
    described["opcode"] = opcode
    return described


def _upper_section(found: PduInspection, args: argparse.Namespace) -> dict[str, Any]:
    upper = found.upper_transport_pdu
    assert upper is not None
    mic = 8 if found.szmic else 4
    section: dict[str, Any] = {
        "upper_transport_pdu": upper.hex(),
        "trans_mic": upper[-mic:].hex(),
        "seq_auth": found.seq_auth,
    }
    opened = found.access
    if opened is None:
        section["error"] = "no given key opens the upper transport PDU"
        return section
    key = opened.key
    if isinstance(key, AppKey):
        kind, number = "app_key", key.index
    else:
        kind, number = "dev_key", list(args.dev_key).index(key.key)
    section |= {"access_payload": opened.payload.hex(), "key": kind, "key_number": number}
    if opened.label_uuid is not None:
        section["label_uuid"] = opened.label_uuid.hex()
    return section


def _control_parameters(found: PduInspection, parameters: bytes) -> dict[str, Any]:
    control = found.control
    if isinstance(control, SegmentAck):
        return {
            "obo": int(control.obo),
            "seq_zero": control.seq_zero,
            "block_ack": control.block_ack,
        }
    if isinstance(control, Heartbeat):
        return {"init_ttl": control.init_ttl, "features": control.features}
    return {"raw": parameters.hex()}


def _decode(args: argparse.Namespace) -> dict[str, Any]:
    try:
        found = _node(args).inspect(args.pdu)
    except MeshError as err:
        raise CliError(f"network: {err}") from None
    if found.proxy_configuration is not None:
        message = found.proxy_configuration
        return {
            "network": _network_section(found.network) | {"nonce": "proxy"},
            "proxy_configuration": {"opcode": message.OPCODE, "name": type(message).__name__}
            | _proxy_fields(message),
        }
    if found.error is not None:
        raise CliError(found.error)
    result: dict[str, Any] = {"network": _network_section(found.network)}
    lower = found.lower
    if isinstance(lower, UnsegmentedControlPdu):
        result["lower_transport"] = {
            "seg": 0,
            "opcode": lower.opcode,
            "parameters": lower.parameters.hex(),
        } | _control_parameters(found, lower.parameters)
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
    assert isinstance(lower, UnsegmentedAccessPdu | SegmentedAccessPdu)
    lower_section: dict[str, Any] = {"seg": int(isinstance(lower, SegmentedAccessPdu))}
    lower_section |= {"akf": int(lower.akf), "aid": lower.aid}
    if isinstance(lower, SegmentedAccessPdu):
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
        if found.upper_transport_pdu is None:
            raise CliError("segment too short for its TransMIC")
    result["lower_transport"] = lower_section
    result["upper_transport"] = _upper_section(found, args)
    if found.access is not None:
        result["access"] = _access_section(found.access.payload)
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


def _encode(args: argparse.Namespace) -> list[str]:
    if not is_unicast(args.src):
        raise CliError("src must be a unicast address (0001..7fff)")
    if args.dst == 0:
        raise CliError("dst must not be the unassigned address")
    if not args.payload:
        raise CliError("the payload is empty")
    if not args.ctl and not args.app_key and not args.dev_key:
        raise CliError("encode needs --app-key or --dev-key (or --ctl)")
    node = _node(args, address=args.src)
    pdus = node.encode(
        args.dst,
        args.payload,
        seq=args.seq,
        app_key_index=0 if args.app_key else None,
        control=args.ctl,
        seq_auth=args.seq_auth,
        segments=args.segments,
        szmic=args.szmic,
        segmented=args.segmented,
        ttl=args.ttl,
    )
    return [pdu.hex() for pdu in pdus]


# --- beacon (MshPRT 1.1 §3.10.3) --------------------------------------------------------------


def _beacon(args: argparse.Namespace) -> dict[str, Any]:
    found = _node(args).inspect_beacon(args.beacon)
    beacon = found.beacon
    if not isinstance(beacon, SecureNetworkBeacon):
        raise CliError("not a Secure Network beacon")
    return {
        "key_refresh": beacon.key_refresh,
        "iv_update": beacon.iv_update,
        "network_id": beacon.network_id.hex(),
        "iv_index": beacon.iv_index,
        "authenticated": found.net_key_index is not None,
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
