"""Packet decoder for debugging and outside checks (MshPRT 1.1 §3.4 - §3.7, §6.6).

``python -m custom_components.ble_mesh.mesh decode --net-key HEX --iv-index HEX
[--app-key HEX]... [--dev-key HEX]... [--label-uuid HEX]... PDU_HEX``

prints one JSON object describing an on-air Network PDU layer by layer: ``network``
(MshPRT 1.1 §3.4.4), ``lower_transport`` (§3.5.2), ``upper_transport`` (§3.6.2, which key
opened it) and ``access`` (§3.7.3: opcode, message name, parameters). A proxy configuration
message (§6.6, proxy nonce) gets a ``proxy_configuration`` section instead of the transport
ones. Integers are JSON numbers; octets and addresses are lower-case hex without ``0x``.
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
from .errors import MeshError
from .network import (
    IvIndexState,
    NetworkKeyring,
    ReceivedNetworkPdu,
    decrypt_with_keyring,
    is_virtual,
)
from .proxy_config import decode_proxy_config
from .transport import (
    HEARTBEAT_OPCODE,
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


def _parser() -> _Parser:
    parser = _Parser(prog="python -m custom_components.ble_mesh.mesh", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    decode = commands.add_parser("decode", help="decode one on-air Network PDU")
    decode.add_argument("--net-key", required=True, type=_hex("net-key", 16))
    decode.add_argument("--iv-index", required=True, type=_iv_index)
    decode.add_argument("--app-key", action="append", default=[], type=_hex("app-key", 16))
    decode.add_argument("--dev-key", action="append", default=[], type=_hex("dev-key", 16))
    decode.add_argument("--label-uuid", action="append", default=[], type=_hex("label-uuid", 16))
    decode.add_argument("pdu", type=_hex("PDU"))
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        result = _decode(args)
    except (CliError, MeshError) as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201 - a command line tool
        return EXIT_ERROR
    print(json.dumps(result))  # noqa: T201 - a command line tool
    return 0


if __name__ == "__main__":
    sys.exit(main())
