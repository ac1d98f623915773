"""Network layer (MshPRT 1.1 §3.4), IV Index (§3.11.5), SEQ (§3.9.3) and replay protection (§3.9.8)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.errors import DecodeError, MeshError, UsageError
from custom_components.ble_mesh.mesh.network import (
    DEFAULT_UNKNOWN_SOURCES,
    HOUR,
    IvIndexState,
    KeyRefreshPhase,
    NetworkCredentials,
    NetworkKeyring,
    NetworkMessageCache,
    NetworkPdu,
    NoMatchingNetKeyError,
    ReplayProtectionList,
    SequenceAllocator,
    SequenceExhaustedError,
    decrypt_with_keyring,
    friendship_p,
    seal_network_pdu,
)
from tests.sig_vectors import h, ids, vectors

NET_KEY = h("7dd7364cd842ad18c17c2b820c84c3d6")


@pytest.mark.parametrize("v", vectors("obfuscation_library"), ids=ids)
def test_obfuscation_library_vector(v: dict[str, Any]) -> None:
    i = v["inputs"]
    header = h(i["ctl_ttl_seq_src"])
    out = crypto.obfuscate(
        h(i["privacy_key"]), int(i["iv_index"], 16), h(i["privacy_random"]), header
    )
    assert out == h(v["expected"]["obfuscated"])
    # Obfuscation is its own inverse.
    back = crypto.obfuscate(
        h(i["privacy_key"]), int(i["iv_index"], 16), h(i["privacy_random"]), out
    )
    assert back == header


def test_friendship_p_matches_the_sample() -> None:
    # MshPRT 1.1 §8.1.4: LPN 0x1201, Friend 0x2345, LPNCounter 0x0000, FriendCounter 0x072f.
    assert friendship_p(0x1201, 0x2345, 0x0000, 0x072F) == h("01120123450000072f")
    assert (
        NetworkCredentials.friendship(NET_KEY, friendship_p(0x1201, 0x2345, 0, 0x072F)).nid == 0x5E
    )


def test_credentials_repr_hides_keys() -> None:
    creds = NetworkCredentials.flooding(NET_KEY)
    assert creds.encryption_key.hex() not in repr(creds)
    ring = NetworkKeyring()
    ring.add(0, NET_KEY)
    assert NET_KEY.hex() not in repr(ring) + repr(ring.get(0))


pdu_strategy = st.builds(
    lambda ctl, ttl, seq, src, dst, ivi, data: NetworkPdu(
        ivi,
        NetworkCredentials.flooding(NET_KEY).nid,
        ctl,
        ttl,
        seq,
        src,
        dst,
        data[: 12 if ctl else 16],
    ),
    st.booleans(),
    st.integers(0, 127),
    st.integers(0, 0xFFFFFF),
    st.integers(1, 0x7FFF),
    st.integers(0, 0xFFFF),
    st.integers(0, 1),
    st.binary(min_size=1, max_size=16),
)


@settings(max_examples=200)
@given(pdu=pdu_strategy, proxy=st.booleans())
def test_encrypt_decrypt_round_trip(pdu: NetworkPdu, proxy: bool) -> None:
    iv_index = 0x12345678 | pdu.ivi if pdu.ivi else 0x12345678 & ~1
    creds = NetworkCredentials.flooding(NET_KEY)
    raw = pdu.encrypt(creds, iv_index, proxy=proxy)
    assert len(raw) == 9 + len(pdu.transport_pdu) + (8 if pdu.ctl else 4)
    back = NetworkPdu.decrypt(raw, creds, iv_index, proxy=proxy)
    assert back.with_ttl(back.ttl) == pdu.with_ttl(pdu.ttl)
    assert NetworkPdu.from_bytes(back.to_bytes()) == back
    # Any flipped bit after the NID is caught by the NetMIC (or the layout checks).
    for position in (1, 7, len(raw) - 1):
        tampered = bytearray(raw)
        tampered[position] ^= 0x01
        if proxy and position == 1:
            # The proxy nonce does not cover CTL|TTL (§3.9.5.4): a flipped TTL bit passes the
            # NetMIC, which is why proxy configuration PDUs must be checked for TTL=0.
            assert NetworkPdu.decrypt(bytes(tampered), creds, iv_index, proxy=True).ttl != pdu.ttl
            continue
        with pytest.raises(MeshError):
            NetworkPdu.decrypt(bytes(tampered), creds, iv_index, proxy=proxy)


@settings(max_examples=100)
@given(pdu=pdu_strategy, proxy=st.booleans())
def test_seal_network_pdu_is_what_encrypt_does(pdu: NetworkPdu, proxy: bool) -> None:
    """One sealing implementation: NetworkPdu.encrypt is seal_network_pdu on its fields."""
    iv_index = 0x12345678 | pdu.ivi if pdu.ivi else 0x12345678 & ~1
    creds = NetworkCredentials.flooding(NET_KEY)
    sealed = seal_network_pdu(
        creds,
        iv_index,
        ctl=pdu.ctl,
        ttl=pdu.ttl,
        seq=pdu.seq,
        src=pdu.src,
        dst=pdu.dst,
        transport_pdu=pdu.transport_pdu,
        proxy=proxy,
    )
    assert sealed == pdu.encrypt(creds, iv_index, proxy=proxy)


def test_seal_network_pdu_rejects_invalid_fields() -> None:
    creds = NetworkCredentials.flooding(NET_KEY)
    fields = {"ctl": False, "ttl": 3, "seq": 1, "src": 1, "dst": 2, "transport_pdu": b"abcde"}
    for name, value in (
        ("ttl", 128),
        ("seq", 0x1000000),
        ("src", 0x10000),
        ("dst", -1),
        ("transport_pdu", bytes(17)),
        ("transport_pdu", b""),
    ):
        with pytest.raises(UsageError, match=name):
            seal_network_pdu(creds, 0, **(fields | {name: value}))  # type: ignore[arg-type]


def test_relay_decrements_ttl() -> None:
    pdu = NetworkPdu(0, 0x68, False, 3, 1, 1, 2, b"abcde")
    relayed = pdu.relayed()
    assert relayed is not None
    assert relayed.ttl == 2
    assert relayed.relayed() is not None
    assert pdu.with_ttl(1).relayed() is None
    assert pdu.with_ttl(0).relayed() is None


def test_network_pdu_rejects_invalid_fields() -> None:
    with pytest.raises(UsageError):
        NetworkPdu(0, 0, False, 128, 0, 1, 1, b"x")
    with pytest.raises(UsageError):
        NetworkPdu(0, 0, True, 0, 0, 1, 1, bytes(13))  # control TransportPDU is at most 12
    with pytest.raises(UsageError):
        NetworkPdu(0, 0, False, 0, 0x1000000, 1, 1, b"x")
    creds = NetworkCredentials.flooding(NET_KEY)
    pdu = NetworkPdu(0, creds.nid, False, 3, 1, 1, 2, b"abcde")
    with pytest.raises(UsageError):
        pdu.encrypt(creds, 0x12345679)  # IVI does not match


def _keys_sharing_a_nid() -> tuple[bytes, bytes]:
    seen: dict[int, bytes] = {}
    for n in range(1000):
        key = crypto.s1(n.to_bytes(4, "big"))
        nid = NetworkCredentials.flooding(key).nid
        if nid in seen:
            return seen[nid], key
        seen[nid] = key
    raise AssertionError("no NID collision found")


def test_keyring_tries_every_key_with_the_nid() -> None:
    first, second = _keys_sharing_a_nid()
    ring = NetworkKeyring()
    ring.add(1, first)
    ring.add(2, second)
    iv = IvIndexState(iv_index=5)
    creds = NetworkCredentials.flooding(second)
    raw = NetworkPdu(1, creds.nid, False, 4, 7, 0x0001, 0x0002, b"hello").encrypt(creds, 5)
    received = decrypt_with_keyring(raw, ring, iv)
    assert received.net_key_index == 2
    assert received.pdu.transport_pdu == b"hello"
    ring.remove(2)
    with pytest.raises(NoMatchingNetKeyError):
        decrypt_with_keyring(raw, ring, iv)


def test_key_refresh_phases() -> None:
    new_key = crypto.s1(b"new net key")
    ring = NetworkKeyring()
    ring.add(0, NET_KEY)
    ring.add(0, NET_KEY)  # idempotent
    with pytest.raises(UsageError):
        ring.add(0, new_key)
    iv = IvIndexState(iv_index=1)
    old_creds, new_creds = (
        NetworkCredentials.flooding(NET_KEY),
        NetworkCredentials.flooding(new_key),
    )
    raw_old = NetworkPdu(1, old_creds.nid, False, 4, 1, 1, 2, b"old!!").encrypt(old_creds, 1)
    raw_new = NetworkPdu(1, new_creds.nid, False, 4, 2, 1, 2, b"new!!").encrypt(new_creds, 1)
    with pytest.raises(NoMatchingNetKeyError):
        decrypt_with_keyring(raw_new, ring, iv)
    ring.update(0, new_key)
    ring.update(0, new_key)  # idempotent retry in phase 1
    assert ring.get(0).phase == KeyRefreshPhase.KEY_DISTRIBUTION
    assert ring.tx_credentials(0).nid == old_creds.nid  # phase 1 still sends with the old key
    assert decrypt_with_keyring(raw_new, ring, iv).new_key is True
    assert decrypt_with_keyring(raw_old, ring, iv).new_key is False
    ring.set_phase(0, 2)
    assert ring.tx_credentials(0).encryption_key == new_creds.encryption_key
    restored = NetworkKeyring.from_dict(json.loads(json.dumps(ring.to_dict())))
    assert restored.get(0).phase == KeyRefreshPhase.USING_NEW_KEYS
    ring.set_phase(0, 3)
    assert ring.get(0).phase == KeyRefreshPhase.NORMAL
    assert ring.get(0).key == new_key
    with pytest.raises(NoMatchingNetKeyError):
        decrypt_with_keyring(raw_old, ring, iv)
    with pytest.raises(DecodeError):
        NetworkKeyring.from_dict([{"index": 0}])


# --- IV Index -----------------------------------------------------------------------------


def test_iv_index_for_receiving_and_sending() -> None:
    iv = IvIndexState(iv_index=0x12345678)
    assert iv.tx_iv_index == 0x12345678
    assert iv.rx_iv_index(0) == 0x12345678
    assert iv.rx_iv_index(1) == 0x12345677
    iv.update_in_progress = True
    assert iv.tx_iv_index == 0x12345677
    assert IvIndexState(iv_index=0).rx_iv_index(1) is None


def test_iv_update_follows_the_network_with_96_hour_rules() -> None:
    t0 = 1000.0
    iv = IvIndexState(iv_index=10, changed_at=t0)
    # Too soon after the last change: ignored.
    assert iv.on_beacon(11, True, t0 + 95 * HOUR) is None
    change = iv.on_beacon(11, True, t0 + 96 * HOUR)
    assert change is not None
    assert change.update_in_progress
    assert not change.reset_seq
    assert (iv.iv_index, iv.tx_iv_index) == (11, 10)
    # Network says update done, but not 96 h in progress yet.
    assert iv.on_beacon(11, False, t0 + 100 * HOUR) is None
    done = iv.on_beacon(11, False, t0 + 192 * HOUR)
    assert done is not None
    assert done.reset_seq
    assert not done.update_in_progress
    assert iv.tx_iv_index == 11
    # Older or too far ahead: ignored.
    assert iv.on_beacon(10, False, t0 + 400 * HOUR) is None
    assert iv.on_beacon(11 + 43, False, t0 + 400 * HOUR) is None


def test_iv_update_we_start_and_the_144_hour_limit() -> None:
    iv = IvIndexState(iv_index=3, changed_at=0.0)
    with pytest.raises(UsageError):
        iv.start_update(10 * HOUR)
    change = iv.start_update(96 * HOUR)
    assert change.iv_index == 4
    assert iv.update_in_progress
    with pytest.raises(UsageError):
        iv.start_update(97 * HOUR)
    assert iv.complete_update(100 * HOUR) is None  # less than 96 h in progress
    deadline = iv.next_deadline()
    assert deadline is not None
    assert iv.poll(deadline - 1) is None
    assert iv.poll(deadline, transfers_pending=True) is None  # deferred while awaiting acks
    finished = iv.poll(deadline)
    assert finished is not None
    assert finished.reset_seq
    assert not iv.update_in_progress


def test_iv_recovery_once_per_192_hours() -> None:
    iv = IvIndexState(iv_index=100, changed_at=0.0)
    change = iv.on_beacon(120, False, 1.0)
    assert change is not None
    assert change.recovery
    assert change.reset_seq
    assert iv.iv_index == 120
    assert iv.on_beacon(130, False, 2.0) is None  # a second recovery too soon
    assert iv.on_beacon(130, False, 200 * HOUR) is not None
    # After a recovery, the 96 h limit does not apply to the next update.
    assert iv.on_beacon(131, True, 200 * HOUR + 1) is not None
    restored = IvIndexState.from_dict(json.loads(json.dumps(iv.to_dict())))
    assert restored == iv
    with pytest.raises(DecodeError):
        IvIndexState.from_dict({"iv_index": -1, "update_in_progress": False})


def test_an_unknown_iv_index_is_taken_from_the_first_primary_beacon() -> None:
    """An imported network has no IV Index: the first authenticated primary-subnet beacon sets
    it, more than 42 ahead included; then the +42 window and the 192 h rule apply again."""
    iv = IvIndexState(known=False)
    assert iv.on_beacon(100, False, 5.0, primary_subnet=False) is None  # not the primary subnet
    assert not iv.known
    change = iv.on_beacon(100, True, 5.0)
    assert change is not None
    assert (change.old_iv_index, change.iv_index, change.update_in_progress) == (0, 100, True)
    assert change.reset_seq
    assert (iv.iv_index, iv.update_in_progress, iv.known) == (100, True, True)
    assert iv.tx_iv_index == 99
    assert iv.last_recovery_at is None  # learning is not a recovery: no 192 h wait follows
    assert iv.on_beacon(100, False, 6.0) is not None  # the update ends as usual
    assert iv.on_beacon(100 + 43, False, 7.0) is None  # known now: too far ahead
    assert iv.on_beacon(130, False, 8.0) is not None  # a recovery within +42 works at once
    restored = IvIndexState.from_dict(json.loads(json.dumps(IvIndexState(known=False).to_dict())))
    assert not restored.known
    assert IvIndexState.from_dict({"iv_index": 3, "update_in_progress": False}).known


def test_iv_rules_hold_across_a_restart() -> None:
    """The recovery and update times are stored: a restart does not reopen the 192 h or the
    96 h windows (16 -> 58, restart, 100 stays ignored; an update cannot end early)."""
    iv = IvIndexState(iv_index=16, changed_at=0.0)
    assert iv.on_beacon(58, False, 10.0) is not None
    restored = IvIndexState.from_dict(json.loads(json.dumps(iv.to_dict())))
    assert restored.on_beacon(100, False, 20.0) is None
    assert restored.iv_index == 58
    restored.on_beacon(59, True, 30.0)  # an IV Update starts (no 96 h limit after recovery)
    assert restored.update_in_progress
    again = IvIndexState.from_dict(json.loads(json.dumps(restored.to_dict())))
    assert again.on_beacon(59, False, 31.0) is None  # normal again 1 s later: too early
    assert again.update_in_progress
    assert again.on_beacon(59, False, 30.0 + 96 * HOUR) is not None


def test_iv_secondary_subnet_cannot_raise_the_iv_index() -> None:
    iv = IvIndexState(iv_index=7)
    assert iv.on_beacon(8, True, 0.0, primary_subnet=False) is None
    assert iv.iv_index == 7


def test_iv_test_mode_removes_the_96_hour_limits() -> None:
    iv = IvIndexState(iv_index=7, changed_at=0.0, test_mode=True)
    assert iv.start_update(1.0) is not None
    assert iv.complete_update(2.0) is not None


# --- SEQ ----------------------------------------------------------------------------------


def test_sequence_allocator_persists_before_handing_out() -> None:
    seq = SequenceAllocator(iv_index=5, block_size=10)
    first = seq.allocate()
    assert first.first == 0
    assert first.persist == {"iv_index": 5, "seq": 10}
    assert all(seq.allocate().persist is None for _ in range(9))
    nxt = seq.allocate(3)
    assert nxt.first == 10
    assert nxt.persist == {"iv_index": 5, "seq": 22}
    assert list(nxt.numbers) == [10, 11, 12]
    resumed = SequenceAllocator.restore(nxt.persist, 5)
    assert resumed.allocate().first == 22
    # Restored for a newer IV Index: SEQ restarts.
    assert SequenceAllocator.restore(nxt.persist, 6).allocate().first == 0
    with pytest.raises(DecodeError):
        SequenceAllocator.restore(nxt.persist, 4)
    with pytest.raises(DecodeError):
        SequenceAllocator.restore({"iv_index": "x"}, 4)


def test_sequence_exhaustion_and_iv_update_signal() -> None:
    seq = SequenceAllocator(iv_index=1, next_seq=0xBFFFFF, iv_update_threshold=0xC00000)
    assert not seq.iv_update_needed
    seq.allocate()
    assert seq.iv_update_needed
    late = SequenceAllocator(iv_index=1, next_seq=0xFFFFFF)
    assert late.allocate().first == 0xFFFFFF
    with pytest.raises(SequenceExhaustedError):
        late.allocate()
    assert late.set_iv_index(2) == {"iv_index": 2, "seq": 0}
    assert late.allocate().first == 0


@settings(max_examples=200)
@given(
    steps=st.lists(st.tuples(st.integers(1, 5), st.booleans(), st.booleans()), max_size=60),
    block=st.integers(1, 20),
)
def test_no_seq_is_ever_reused_across_crashes(
    steps: list[tuple[int, bool, bool]], block: int
) -> None:
    """Crash at any point: between allocating and persisting, or after sending."""
    disk: dict[str, int] | None = None
    allocator = SequenceAllocator.restore(disk, 9, block_size=block)
    transmitted: list[int] = []
    for count, persisted_ok, crash in steps:
        allocation = allocator.allocate(count)
        if allocation.persist is not None:
            if not persisted_ok:  # crash before the write reached the disk: nothing was sent
                allocator = SequenceAllocator.restore(disk, 9, block_size=block)
                continue
            disk = allocation.persist
        transmitted += list(allocation.numbers)
        if crash:
            allocator = SequenceAllocator.restore(disk, 9, block_size=block)
    assert len(transmitted) == len(set(transmitted))


# --- replay protection --------------------------------------------------------------------


def test_replay_protection_list_rules_and_persistence() -> None:
    rpl = ReplayProtectionList()
    assert rpl.accept(0x0001, 10, 5)
    assert not rpl.accept(0x0001, 10, 5)  # same
    assert not rpl.accept(0x0001, 9, 5)  # older SEQ
    assert rpl.accept(0x0001, 11, 5)
    assert rpl.accept(0x0001, 0, 6)  # newer IV Index, SEQ restarted
    assert not rpl.accept(0x0001, 100, 5)  # lower IV Index after a higher one
    assert rpl.accept(0x0002, 1, 6)
    assert rpl.get(0x0001) == (6, 0)
    data = json.loads(json.dumps(rpl.to_dict()))
    assert data == {"0001": [6, 0], "0002": [6, 1]}  # nothing reserved: what was accepted
    restored = ReplayProtectionList.from_dict(data)
    assert not restored.accept(0x0001, 0, 6)
    assert restored.accept(0x0001, 1, 6)
    restored.forget_older_than(8)
    assert len(restored) == 0
    for bad in ({"zz": [1, 2]}, {"0001": [1]}, {"0001": ["a", 1]}, {"8001": [1, 1]}):
        with pytest.raises(DecodeError):
            ReplayProtectionList.from_dict(bad)


def test_replay_marks_are_reserved_once_per_margin() -> None:
    """The stored list reaches ``margin`` SEQ numbers ahead: one write per margin + 1
    messages of a source, never beyond the IV Index's last SEQ, lowered for a clean stop."""
    rpl = ReplayProtectionList(margin=8, known=[0x0002])
    reservations = 0
    for seq in range(100, 190):
        assert rpl.accept(0x0002, seq, 3)
        if rpl.reserve(0x0002, seq, 3):
            reservations += 1
            assert rpl.to_dict() == {"0002": [3, seq + 8]}
    assert reservations == 10  # 90 messages, 9 each
    assert rpl.get(0x0002) == (3, 189)
    # The mark never spills into the next IV Index: SEQ 0 of IV Index 4 is still newer.
    assert rpl.accept(0x0002, 0xFFFFFE, 3)
    assert rpl.reserve(0x0002, 0xFFFFFE, 3)
    assert rpl.to_dict() == {"0002": [3, 0xFFFFFF]}
    assert rpl.accept(0x0002, 0, 4)
    assert rpl.reserve(0x0002, 0, 4)
    assert rpl.to_dict() == {"0002": [4, 8]}
    # A restart from the marks refuses what the source has not sent yet, up to the margin.
    crashed = ReplayProtectionList.from_dict(rpl.to_dict(), margin=8, known=[0x0002])
    assert not crashed.accept(0x0002, 8, 4)
    assert crashed.accept(0x0002, 9, 4)
    # A clean stop stores what was accepted: nothing the source sends next is lost.
    rpl.release_marks()
    assert rpl.to_dict() == {"0002": [4, 0]}
    clean = ReplayProtectionList.from_dict(rpl.to_dict(), margin=8, known=[0x0002])
    assert not clean.accept(0x0002, 0, 4)
    assert clean.accept(0x0002, 1, 4)
    assert rpl.accept(0x0002, 1, 4)
    assert rpl.reserve(0x0002, 1, 4)  # released: the next message reserves again


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(0, 1), st.booleans()),
        max_size=60,
    ),
    st.integers(0, 5),
)
def test_a_crash_never_lets_an_accepted_message_in_again(
    plan: list[tuple[int, int, int, bool]], margin: int
) -> None:
    """§3.9.8 across crashes: the list is stored only when :meth:`reserve` asks (before the
    message is acted on). At any step the node may be killed and restarted from what is
    stored; an attacker then replays every message ever seen. Nothing is accepted twice."""
    known = [1, 2, 3]
    disk: dict[str, list[int]] = {}
    rpl = ReplayProtectionList(margin=margin, known=known)
    sent: dict[int, tuple[int, int]] = {}  # per source: its (IV Index, SEQ) so far
    seen: list[tuple[int, int, int]] = []
    acted: set[tuple[int, int, int]] = set()

    def receive(src: int, seq: int, iv_index: int) -> None:
        nonlocal disk
        if not rpl.accept(src, seq, iv_index):
            return
        if rpl.reserve(src, seq, iv_index):
            disk = rpl.to_dict()
        assert (src, seq, iv_index) not in acted
        acted.add((src, seq, iv_index))

    for src, step, iv_step, crash in plan:
        iv_index, seq = sent.get(src, (0, -1))
        iv_index, seq = (iv_index + 1, 0) if iv_step else (iv_index, seq + step)
        sent[src] = (iv_index, seq)
        seen.append((src, seq, iv_index))
        receive(src, seq, iv_index)
        if crash:
            rpl = ReplayProtectionList.from_dict(disk, margin=margin, known=known)
        for message in seen:
            receive(*message)


def test_spoofed_sources_never_evict_a_known_node() -> None:
    """1100 sources nobody provisioned (anyone with the NetKey can send control messages from
    any address) take turns in a small list; the network's nodes keep their entries."""
    rpl = ReplayProtectionList(known=[0x0002, 0x0003, 0x0004])
    assert rpl.accept(0x0002, 500, 0)
    assert rpl.reserve(0x0002, 500, 0)
    for spoofed in range(0x1000, 0x1000 + 1100):
        assert rpl.accept(spoofed, 1, 0)
        assert not rpl.reserve(spoofed, 1, 0)  # no write for them: best effort
    assert len(rpl) == 1 + DEFAULT_UNKNOWN_SOURCES
    assert len(rpl.to_dict()) == 1 + DEFAULT_UNKNOWN_SOURCES  # and so is what is stored
    assert not rpl.accept(0x0002, 500, 0)  # still protected
    assert rpl.accept(0x0002, 501, 0)  # and still heard
    assert rpl.accept(0x0003, 1, 0)  # a known node heard for the first time
    # The most recently heard unknown sources are the ones kept.
    assert not rpl.accept(0x1000 + 1099, 1, 0)
    assert rpl.accept(0x1000, 1, 0)  # long evicted: a new source again
    # A restart keeps the split; a node removed from the network joins the unknown ones.
    restored = ReplayProtectionList.from_dict(rpl.to_dict(), known=[0x0002, 0x0003])
    assert len(restored) == len(rpl)
    restored.set_known([0x0003])
    assert not restored.accept(0x0002, 501, 0)  # removed, most recently heard: kept
    for spoofed in range(0x2000, 0x2000 + DEFAULT_UNKNOWN_SOURCES):
        assert restored.accept(spoofed, 1, 0)
    assert restored.get(0x0002) is None  # now it may give way
    assert not restored.accept(0x0003, 1, 0)
    restored.set_known([0x0003, 0x2000])
    assert restored.get(0x2000) == (0, 1)  # a new node's entry moves to the kept ones


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 50), st.integers(0, 3)), max_size=80))
def test_rpl_accepts_only_strictly_newer(messages: list[tuple[int, int, int]]) -> None:
    rpl = ReplayProtectionList()
    best: dict[int, tuple[int, int]] = {}
    for src, seq, iv in messages:
        expected = src not in best or (iv, seq) > best[src]
        assert rpl.accept(src, seq, iv) == expected
        if expected:
            best[src] = (iv, seq)
        # Persist and restore at every step: the decisions do not change.
        rpl = ReplayProtectionList.from_dict(rpl.to_dict())


def test_message_cache_is_bounded_and_drops_duplicates() -> None:
    cache = NetworkMessageCache(capacity=3)
    assert not cache.seen(1, 1, 0)
    assert cache.seen(1, 1, 0)
    for seq in range(2, 6):
        assert not cache.seen(1, seq, 0)
    assert len(cache) == 3
    assert not cache.seen(1, 1, 0)  # evicted long ago


# --- fuzzing ------------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=40))
def test_decoders_raise_only_mesh_errors(data: bytes) -> None:
    ring = NetworkKeyring()
    ring.add(0, NET_KEY)
    iv = IvIndexState(iv_index=0x12345678)
    for call in (
        lambda: NetworkPdu.from_bytes(data),
        lambda: decrypt_with_keyring(data, ring, iv),
        lambda: decrypt_with_keyring(data, ring, iv, proxy=True),
    ):
        with contextlib.suppress(MeshError):
            call()


SAMPLE = h("68eca487516765b5e5bfdacbaf6cb7fb6bff871f035444ce83a670df")


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_sample_pdus_never_leak_other_errors(mutations: list[tuple[int, int]]) -> None:
    ring = NetworkKeyring()
    ring.add(0, NET_KEY)
    iv = IvIndexState(iv_index=0x12345678)
    data = bytearray(SAMPLE)
    for position, value in mutations:
        if position < len(data):
            data[position] = value
        else:
            data.append(value)
    try:
        received = decrypt_with_keyring(bytes(data), ring, iv)
    except MeshError:
        return
    assert received.pdu.src == 0x1201  # only an unmodified (or NID-only-equal) PDU opens
