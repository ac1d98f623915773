"""Whole-stack throughput: one access message encoded and decoded, in messages per second.

Each call of a case sends one access message from a node and receives it on another:
access encode, upper transport (AES-CCM with the AppKey or device key), lower transport
(segmentation), network layer (AES-CCM with the EncryptionKey, header obfuscation with
AES-ECB), then the reverse on the receiving side down to the decoded access message.

* ``ble_mesh: MeshNode``: two :class:`MeshNode` instances, the façade Home Assistant and the
  simulator drive: ``MeshNode.send`` (a message object) -> ``data_to_send`` -> the other
  node's ``receive`` (advertising bearer: the Network PDU as is) -> its ``events`` (the
  decoded message). SEQ allocation, the network message cache, the replay protection list,
  the request tracker and the events are all exercised: every message has fresh, increasing
  SEQ numbers.
* ``ble_mesh: MeshStack``: the same below the façade, two :class:`MeshStack` instances:
  ``encode_message`` -> ``send_access`` -> ``receive`` (per PDU) -> ``decode_message``.
* ``btmesh``: the same work with the PyPI ``btmesh`` package's codec functions (it has no
  replay protection, message cache or SEQ persistence; it reassembles one message at a time).
  Installed from requirements/bench.txt only; the cases are left out when it is missing.
* ``cryptography``: only the AES calls the message needs, on cipher objects built once:
  the floor any implementation in Python pays.
* ``ble_mesh: codec functions only``: btmesh's scope done with our functions (``NetworkPdu``
  encrypt/decrypt, ``encrypt_access``/``decrypt_access``, lower transport codec,
  ``parse_opcode``), to tell the codecs' cost from the stack's bookkeeping.

Group "stack single-segment": Generic OnOff Set (AppKey, unsegmented). Group "stack decode":
the receiving side alone (what a controller mostly does), on PDUs encoded beforehand with
fresh SEQ numbers: ``MeshNode.receive`` down to the decoded message event, btmesh's decode
functions, and the bare AES calls of decoding. Group "stack
segmented": Config AppKey Add (device key, 20 octets of access payload: 2 segments) to a group
address, where no Segment Acknowledgment is due, so all three do the same work; an extra case
sends it to a unicast address and includes the receiver's Segment Acknowledgment and the
sender processing it (MshPRT 1.1 §3.5.3.3), next to its own bare-crypto floor.
"""

from __future__ import annotations

from collections.abc import Callable
import importlib.util
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from benchmarks.common import Case
from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.access import (
    Message,
    decode_message,
    encode_message,
    parse_opcode,
)
from custom_components.ble_mesh.mesh.models.config import ConfigAppKeyAdd
from custom_components.ble_mesh.mesh.models.generic import GenericOnOffSet
from custom_components.ble_mesh.mesh.network import (
    IvIndexState,
    NetworkCredentials,
    NetworkKeyring,
    NetworkPdu,
    SequenceAllocator,
)
from custom_components.ble_mesh.mesh.node import (
    Bearer,
    MeshNode,
    MessageReceived,
    NodeFeatures,
    NodeState,
)
from custom_components.ble_mesh.mesh.transport import (
    AccessMessage,
    AppKey,
    AppKeyring,
    DeviceKey,
    MeshStack,
    SarConfig,
    SendPdu,
    TransferCompleted,
    UnsegmentedAccessPdu,
    decode_lower_transport,
    decrypt_access,
    encrypt_access,
)

NET_KEY = bytes.fromhex("7dd7364cd842ad18c17c2b820c84c3d6")
APP_KEY = bytes.fromhex("63964771734fbd76e3b40519d1d94a48")
DEV_KEY = bytes.fromhex("9d6dd0e96eb25dc19a40ed9914f8f03f")
NEW_APP_KEY = bytes.fromhex("0123456789abcdef0123456789abcdef")
IV_INDEX = 0x12345678
SENDER = 0x0001
RECEIVER = 0x0100
GROUP = 0xC001
TTL = 5
SEQ_RESTART = 0xF00000  # rebuild both stacks before SEQ runs out (never within one measurement)

SINGLE = "stack single-segment"
DECODE = "stack decode"
DECODE_BATCH = 20_000  # PDUs encoded ahead for the decode group (a fresh receiver per batch)
SEGMENTED = "stack segmented"
UNIT = "message"


# --- ble_mesh -------------------------------------------------------------------------------


class _OurPair:
    """A sender and a receiver MeshStack on one subnet, fresh SEQ for every message."""

    def __init__(self) -> None:
        self.tid = 0
        self._build()

    def _build(self) -> None:
        def stack(address: int) -> MeshStack:
            ring = NetworkKeyring()
            ring.add(0, NET_KEY)
            return MeshStack(
                primary_address=address,
                net_keys=ring,
                app_keys=AppKeyring([AppKey(0, APP_KEY)]),
                device_keys=[DeviceKey(DEV_KEY, address=SENDER)],
                iv=IvIndexState(iv_index=IV_INDEX),
                seq=SequenceAllocator(IV_INDEX, 0),
                # No multicast retransmissions: a segmented message to a group is done once sent.
                sar=SarConfig(multicast_retransmissions=0),
            )

        self.sender = stack(SENDER)
        self.receiver = stack(RECEIVER)
        self.app_key = self.sender.app_keys.get(0)
        self.dev_key = self.sender.device_keys[0]

    def exchange(
        self, message: Message, dst: int, key: AppKey | DeviceKey, *, acknowledged: bool = False
    ) -> Message:
        """Send ``message`` and receive it; return what the receiver decoded."""
        if self.sender.seq.next_seq >= SEQ_RESTART:
            self._build()
        sent = self.sender.send_access(dst, encode_message(message), key=key, now=0.0)
        delivered: Message | None = None
        for action in sent:
            if isinstance(action, SendPdu):
                for result in self.receiver.receive(action.data, now=0.0):
                    if isinstance(result, AccessMessage):
                        delivered = decode_message(result.payload)
                    elif acknowledged and isinstance(result, SendPdu):
                        # The Segment Acknowledgment goes back and completes the transfer.
                        done = self.sender.receive(result.data, now=0.0)
                        if not any(isinstance(d, TransferCompleted) for d in done):
                            raise RuntimeError("segment ack did not complete the transfer")
        if delivered is None:
            raise RuntimeError(f"not delivered: {self.receiver.last_drop_reason}")
        return delivered


def _our_single() -> Callable[[], object]:
    pair = _OurPair()

    def run() -> object:
        pair.tid = (pair.tid + 1) & 0xFF
        return pair.exchange(GenericOnOffSet(on=True, tid=pair.tid), RECEIVER, pair.app_key)

    return run


def _our_segmented(*, unicast: bool) -> Callable[[], object]:
    pair = _OurPair()
    message = ConfigAppKeyAdd(net_key_index=0x123, app_key_index=0x456, app_key=NEW_APP_KEY)
    dst = RECEIVER if unicast else GROUP

    def run() -> object:
        return pair.exchange(message, dst, pair.dev_key, acknowledged=unicast)

    return run


def _our_codec_single() -> Callable[[], object]:
    """btmesh's scope with our functions: PDU codecs and security, no stack bookkeeping."""
    credentials = NetworkCredentials.flooding(NET_KEY)
    key = AppKey(0, APP_KEY)
    aid = key.aid
    state = {"seq": 0}

    def run() -> object:
        seq = state["seq"] = (state["seq"] + 1) % SEQ_RESTART
        payload = encode_message(GenericOnOffSet(on=True, tid=seq & 0xFF))
        upper = encrypt_access(payload, key, seq=seq, src=SENDER, dst=RECEIVER, iv_index=IV_INDEX)
        lower = UnsegmentedAccessPdu(True, aid, upper).to_bytes()
        sent = NetworkPdu(IV_INDEX & 1, credentials.nid, False, TTL, seq, SENDER, RECEIVER, lower)
        pdu = NetworkPdu.decrypt(sent.encrypt(credentials, IV_INDEX), credentials, IV_INDEX)
        received = decode_lower_transport(pdu.ctl, pdu.transport_pdu)
        assert isinstance(received, UnsegmentedAccessPdu)
        opened = decrypt_access(
            received.upper_transport_pdu,
            key,
            seq=pdu.seq,
            src=pdu.src,
            dst=pdu.dst,
            iv_index=IV_INDEX,
        )
        return parse_opcode(opened)

    return run


class _NodePair:
    """A sender and a receiver MeshNode on the advertising bearer (no proxy, no relaying)."""

    def __init__(self) -> None:
        self.tid = 0
        self._build()

    def _build(self) -> None:
        self.sender = _node(SENDER)
        self.receiver = _node(RECEIVER)

    def exchange(self, message: Message) -> Message:
        if self.sender.next_seq >= SEQ_RESTART:
            self._build()
        self.sender.send(RECEIVER, message, now=0.0)
        receiver = self.receiver
        for transmission in self.sender.data_to_send():
            receiver.receive(transmission.data, 0.0, bearer=Bearer.ADV_NETWORK)
        event = receiver.events()[0]
        if not isinstance(event, MessageReceived):
            raise RuntimeError(f"not delivered: {event}")
        return event.message


def _node(address: int) -> MeshNode:
    ring = NetworkKeyring()
    ring.add(0, NET_KEY)
    state = NodeState(IvIndexState(iv_index=IV_INDEX), {"iv_index": IV_INDEX, "seq": 0}, {})
    return MeshNode(
        address=address,
        net_keys=ring,
        app_keys=[AppKey(0, APP_KEY)],
        state=state,
        features=NodeFeatures(advertising=True),
        persist_state=False,  # the caller stores nothing here: no reservation to wait for
    )


def _node_single() -> Callable[[], object]:
    pair = _NodePair()

    def run() -> object:
        pair.tid = (pair.tid + 1) & 0xFF
        return pair.exchange(GenericOnOffSet(on=True, tid=pair.tid))

    return run


def _batch(sender: MeshNode) -> list[bytes]:
    """DECODE_BATCH Generic OnOff Sets from ``sender``, each with its own SEQ."""
    pdus = []
    for n in range(DECODE_BATCH):
        sender.send(RECEIVER, GenericOnOffSet(on=True, tid=n & 0xFF), now=0.0)
        pdus.extend(t.data for t in sender.data_to_send())
    return pdus


def _node_decode() -> Callable[[], object]:
    pdus = _batch(_node(SENDER))
    state: dict[str, Any] = {"n": len(pdus), "receiver": None}

    def run() -> object:
        n = state["n"]
        if n == len(pdus):  # a fresh receiver: its replay list has seen none of them
            n = 0
            state["receiver"] = _node(RECEIVER)
        state["n"] = n + 1
        receiver: MeshNode = state["receiver"]
        receiver.receive(pdus[n], 0.0, bearer=Bearer.ADV_NETWORK)
        return receiver.events()

    return run


def _bare_decode() -> Callable[[], object]:
    pdus = _batch(_node(SENDER))  # PDU n has SEQ n
    bare = _BareCrypto()
    state = {"n": -1}

    def run() -> object:
        n = state["n"] = (state["n"] + 1) % len(pdus)
        raw = pdus[n]
        # Deobfuscate (one AES-ECB), decrypt the Network PDU, then the upper transport PDU.
        bare.ecb.update(b"\x00\x00\x00\x00\x00\x12\x34\x56\x78" + raw[7:14])
        seq = n.to_bytes(3, "big")
        nonce = b"\x00\x05" + seq + b"\x00\x01\x00\x00\x12\x34\x56\x78"
        clear = bare.net.decrypt(nonce, raw[7:], None)
        nonce = b"\x01\x00" + seq + b"\x00\x01\x01\x00\x12\x34\x56\x78"
        return bare.app.decrypt(nonce, clear[3:], None)

    return run


# --- bare cryptography ----------------------------------------------------------------------


class _BareCrypto:
    """The AES calls of one message, on cipher objects built once (nonces still built)."""

    def __init__(self) -> None:
        material = crypto.network_key_material(NET_KEY)
        self.net = AESCCM(material.encryption_key, tag_length=4)
        self.net_ctl = AESCCM(material.encryption_key, tag_length=8)
        self.app = AESCCM(APP_KEY, tag_length=4)
        self.dev = AESCCM(DEV_KEY, tag_length=4)
        cipher = Cipher(algorithms.AES(material.privacy_key), modes.ECB())
        self.ecb = cipher.encryptor()  # ECB keeps no state between blocks: reuse it
        self.seq = 0

    def _network(self, plaintext: bytes, ctl: bool) -> None:
        """Encrypt + obfuscate, then deobfuscate + decrypt, one Network PDU."""
        ccm = self.net_ctl if ctl else self.net
        nonce = b"\x00\x05" + self.seq.to_bytes(3, "big") + b"\x00\x01\x00\x00\x12\x34\x56\x78"
        sealed = ccm.encrypt(nonce, plaintext, None)
        pecb_in = b"\x00\x00\x00\x00\x00\x12\x34\x56\x78" + sealed[:7]
        self.ecb.update(pecb_in)  # obfuscate (sender)
        self.ecb.update(pecb_in)  # deobfuscate (receiver)
        ccm.decrypt(nonce, sealed, None)
        self.seq = (self.seq + 1) & 0xFFFFFF

    def message(self, ccm: AESCCM, payload: bytes, segments: int, *, ack: bool = False) -> None:
        nonce = b"\x01\x00" + self.seq.to_bytes(3, "big") + b"\x00\x01\x01\x00\x12\x34\x56\x78"
        upper = ccm.encrypt(nonce, payload, None)
        for n in range(segments):
            self._network(b"\x01\x00" + upper[n * 12 : n * 12 + 16], ctl=False)
        ccm.decrypt(nonce, upper, None)
        if ack:
            self._network(b"\x00\x01\x00" + bytes(7), ctl=True)


def _bare_single() -> Callable[[], object]:
    bare = _BareCrypto()
    payload = encode_message(GenericOnOffSet(on=True, tid=1))
    return lambda: bare.message(bare.app, payload, 1)


def _bare_segmented(*, ack: bool) -> Callable[[], object]:
    bare = _BareCrypto()
    payload = encode_message(
        ConfigAppKeyAdd(net_key_index=0x123, app_key_index=0x456, app_key=NEW_APP_KEY)
    )
    segments = -(-(len(payload) + 4) // 12)
    return lambda: bare.message(bare.dev, payload, segments, ack=ack)


# --- btmesh -------------------------------------------------------------------------------


def _btmesh_cases() -> tuple[Callable[[], object], Callable[[], object]] | None:
    """(single-segment, segmented) with btmesh's encode/decode functions, or None."""
    if importlib.util.find_spec("btmesh") is None:
        return None
    from btmesh import (
        access as bt_access,
        crypto as bt_crypto,
        network as bt_network,
        transport as bt_transport,
    )

    state: dict[str, Any] = {"tid": 0}

    def context() -> Any:
        return bt_network.NetworkContext(net_key=NET_KEY, iv_index=IV_INDEX, seq=0)

    tx, rx = context(), context()
    aid = bt_crypto.k4(APP_KEY)
    assembler = bt_transport.SegmentAssembler()

    def send(key: bytes, akf: bool, dst: int, payload: bytes) -> list[bytes]:
        if tx.seq >= SEQ_RESTART:
            tx.seq = 0
        upper_len = len(payload) + bt_transport.TRANS_MIC_LEN
        count = -(-upper_len // bt_transport.SEGMENT_SIZE)
        segmented = upper_len > bt_transport.UNSEG_MAX_UPPER_LEN
        first = tx.next_seq(count if segmented else 1)
        upper = bt_transport.encrypt_access(
            key, akf=akf, seq=first, src=SENDER, dst=dst, iv_index=IV_INDEX, access_pdu=payload
        )
        kid = aid if akf else 0
        if segmented:
            lowers = bt_transport.segment_access_message(upper, akf=akf, aid=kid, first_seq=first)
        else:
            lowers = [(first, bt_transport.build_unsegmented_access(upper, akf=akf, aid=kid))]
        return [
            bt_network.encode(
                tx, ctl=False, ttl=TTL, seq=seq, src=SENDER, dst=dst, transport_pdu=lower
            )
            for seq, lower in lowers
        ]

    def receive(key: bytes, raw: bytes) -> tuple[int, bytes] | None:
        pdu = bt_network.decode(rx, raw)
        parsed = bt_transport.parse_access_lower(pdu.transport_pdu)
        if isinstance(parsed, bt_transport.UnsegmentedAccess):
            upper, seq_auth = parsed.upper_pdu, pdu.seq
        else:
            whole = assembler.add(parsed)
            if whole is None:
                return None
            upper = whole
            seq_auth = (pdu.seq & ~0x1FFF) | parsed.seq_zero
            if seq_auth > pdu.seq:
                seq_auth -= 0x2000
        payload = bt_transport.decrypt_access(
            key,
            akf=parsed.akf,
            seq=seq_auth,
            src=pdu.src,
            dst=pdu.dst,
            iv_index=IV_INDEX,
            upper_pdu=upper,
        )
        opcode, parameters = bt_access.parse_access(payload)
        return int(opcode), bytes(parameters)

    def exchange(key: bytes, akf: bool, dst: int, payload: bytes) -> tuple[int, bytes]:
        delivered = None
        for raw in send(key, akf, dst, payload):
            delivered = receive(key, raw) or delivered
        if delivered is None:
            raise RuntimeError("btmesh did not deliver the message")
        return delivered

    def single() -> object:
        state["tid"] = (state["tid"] + 1) & 0xFF
        return exchange(APP_KEY, True, RECEIVER, bt_access.generic_onoff_set(True, state["tid"]))

    def segmented() -> object:
        payload = bt_access.config_appkey_add(0x123, 0x456, NEW_APP_KEY)
        return exchange(DEV_KEY, False, GROUP, payload)

    return single, segmented


def _btmesh_decode() -> Callable[[], object] | None:
    """btmesh's decode functions on the PDUs MeshNode encoded, or None without btmesh."""
    if importlib.util.find_spec("btmesh") is None:
        return None
    from btmesh import access as bt_access, network as bt_network, transport as bt_transport

    pdus = _batch(_node(SENDER))
    rx = bt_network.NetworkContext(net_key=NET_KEY, iv_index=IV_INDEX, seq=0)
    state = {"n": -1}

    def run() -> object:
        n = state["n"] = (state["n"] + 1) % len(pdus)
        pdu = bt_network.decode(rx, pdus[n])
        parsed = bt_transport.parse_access_lower(pdu.transport_pdu)
        payload = bt_transport.decrypt_access(
            APP_KEY,
            akf=parsed.akf,
            seq=pdu.seq,
            src=pdu.src,
            dst=pdu.dst,
            iv_index=IV_INDEX,
            upper_pdu=parsed.upper_pdu,
        )
        return bt_access.parse_access(payload)

    return run


# --- cases ----------------------------------------------------------------------------------

BARE = "cryptography: bare AES calls"
OURS = "ble_mesh: MeshStack send+receive"
NODE = "ble_mesh: MeshNode send+receive"
NODE_DECODE = "ble_mesh: MeshNode.receive (to the message event)"
CODEC = "ble_mesh: codec functions only (btmesh's scope)"
BARE_ACK = "cryptography: bare AES calls, with Segment Ack"
OURS_ACK = "ble_mesh: MeshStack to unicast, with Segment Ack back"


def cases() -> list[Case]:
    """Both groups; the btmesh cases only when btmesh is installed."""
    found = _btmesh_cases()
    result = [
        Case(SINGLE, BARE, _bare_single(), unit=UNIT),
        Case(SINGLE, NODE, _node_single(), baseline=BARE, unit=UNIT),
        Case(SINGLE, OURS, _our_single(), baseline=BARE, unit=UNIT),
    ]
    if found is not None:
        result.append(
            Case(SINGLE, "btmesh 0.1.0 (ratio: btmesh/ours)", found[0], baseline=NODE, unit=UNIT)
        )
    result.append(Case(SINGLE, CODEC, _our_codec_single(), baseline=BARE, unit=UNIT))
    if found is not None:
        result.append(
            Case(
                SINGLE,
                "btmesh 0.1.0 (ratio: btmesh/ours codec functions)",
                found[0],
                baseline=CODEC,
                unit=UNIT,
            )
        )
    result += [
        Case(DECODE, "cryptography: bare AES calls (decode)", _bare_decode(), unit=UNIT),
        Case(
            DECODE,
            NODE_DECODE,
            _node_decode(),
            baseline="cryptography: bare AES calls (decode)",
            unit=UNIT,
        ),
    ]
    bt_decode = _btmesh_decode()
    if bt_decode is not None:
        result.append(
            Case(
                DECODE,
                "btmesh 0.1.0 decode functions (ratio: btmesh/ours)",
                bt_decode,
                baseline=NODE_DECODE,
                unit=UNIT,
            )
        )
    result += [
        Case(SEGMENTED, BARE, _bare_segmented(ack=False), unit=UNIT),
        Case(
            SEGMENTED,
            OURS + " (group dst)",
            _our_segmented(unicast=False),
            baseline=BARE,
            unit=UNIT,
        ),
    ]
    if found is not None:
        result.append(
            Case(
                SEGMENTED,
                "btmesh 0.1.0, group dst (ratio: btmesh/ours)",
                found[1],
                baseline=OURS + " (group dst)",
                unit=UNIT,
            )
        )
    result += [
        Case(SEGMENTED, BARE_ACK, _bare_segmented(ack=True), unit=UNIT),
        Case(SEGMENTED, OURS_ACK, _our_segmented(unicast=True), baseline=BARE_ACK, unit=UNIT),
    ]
    return result
