"""A simulated device that misbehaves on purpose during provisioning (MshPRT 1.1 §5.4).

The engine's :class:`~custom_components.ble_mesh.mesh.provisioning.Device` is honest and has no
switch to be anything else. :class:`FaultyDevice` wraps one and produces each
:class:`DeviceFaults` switch from the outside only: it replaces, pads, truncates or drops the
PDUs the device sends, holds back a PDU it receives, or answers in the device's place. The
switches exist so that tests prove the Provisioner refuses each attack, each with exactly one of
its named checks (a ``FailureReason``):

* ``reflect_public_key``: ``REFLECTED_PUBLIC_KEY`` (CVE-2020-26560);
* ``off_curve_public_key``: ``INVALID_PUBLIC_KEY`` (an invalid-curve attack);
* ``wrong_confirmation``: ``CONFIRMATION_FAILED`` (the Confirmation does not match the Random);
* ``reflect_confirmation``: ``REFLECTED_CONFIRMATION``;
* ``random_equal_to_provisioner``: ``REFLECTED_RANDOM``;
* ``ignore_confirmation_failure``: ``CONFIRMATION_FAILED`` (a rogue that lacks the AuthValue);
* ``fail_with`` / ``fail_at``: ``REMOTE_FAILED`` with the given error code;
* ``truncate_pdu`` / ``oversize_pdu``: ``MALFORMED_PDU``;
* ``unexpected_pdu_at``: ``UNEXPECTED_PDU``;
* ``silent_at`` / ``skip_input_complete``: ``TIMEOUT`` (the Provisioner waits in vain).

:class:`ServerFaults` makes a Remote Provisioning Server (MshPRT 1.1 §4.4.5,
:mod:`simulator.remote_provisioning`) misbehave on PB-Remote (§5.2.3): it drops the link
mid-way, falls silent, or numbers its Provisioning PDU Reports wrong. A relayed device
misbehaves with :class:`DeviceFaults` exactly as over PB-GATT.
"""

from __future__ import annotations

from dataclasses import dataclass
import secrets

from custom_components.ble_mesh.mesh.errors import DecodeError
from custom_components.ble_mesh.mesh.provisioning import (
    Device,
    DeviceState,
    Failed,
    FailureReason,
    OobValue,
    PduType,
    ProvisioningAction,
    ProvisioningCapabilities,
    ProvisioningComplete,
    ProvisioningConfirmation,
    ProvisioningErrorCode,
    ProvisioningFailed,
    ProvisioningFailure,
    ProvisioningPublicKey,
    ProvisioningRandom,
    SendProvisioningPdu,
    decode_pdu,
)

__all__ = ["OFF_CURVE_PUBLIC_KEY", "DeviceFaults", "FaultyDevice", "ServerFaults"]

# A point that is not on P-256 (x = 1, y = 1): what an invalid-curve attacker would send.
OFF_CURVE_PUBLIC_KEY = (1).to_bytes(32, "big") + (1).to_bytes(32, "big")


@dataclass(frozen=True, slots=True)
class DeviceFaults:
    """Deliberate misbehaviour of a simulated device; each fault does exactly what it names.

    * ``wrong_confirmation``: send a Confirmation that does not match the Random we reveal.
    * ``reflect_confirmation``: send the Provisioner's Confirmation back as ours.
    * ``reflect_public_key``: send the Provisioner's public key back as ours (CVE-2020-26560).
    * ``off_curve_public_key``: send a public key that is not a P-256 point.
    * ``random_equal_to_provisioner``: send the Provisioner's Random back as ours.
    * ``fail_with`` / ``fail_at``: on receiving a PDU of type ``fail_at``, answer Provisioning
      Failed with ``fail_with`` instead of the normal response.
    * ``truncate_pdu``: drop the last octet of the PDU of this type we send.
    * ``oversize_pdu``: append one octet to the PDU of this type we send.
    * ``unexpected_pdu_at``: on receiving a PDU of this type, answer Provisioning Complete
      (a PDU out of order) instead of the normal response.
    * ``silent_at``: on receiving a PDU of this type, answer nothing (the peer times out).
    * ``skip_input_complete``: with Input OOB, go on after the value is entered without
      sending Input Complete.
    * ``ignore_confirmation_failure``: reveal our Random without checking the Provisioner's
      Confirmation first (a rogue device that does not know the AuthValue carries on, so the
      Provisioner must catch it).
    """

    wrong_confirmation: bool = False
    reflect_confirmation: bool = False
    reflect_public_key: bool = False
    off_curve_public_key: bool = False
    random_equal_to_provisioner: bool = False
    fail_with: ProvisioningErrorCode | None = None
    fail_at: PduType = PduType.INVITE
    truncate_pdu: PduType | None = None
    oversize_pdu: PduType | None = None
    unexpected_pdu_at: PduType | None = None
    silent_at: PduType | None = None
    skip_input_complete: bool = False
    ignore_confirmation_failure: bool = False


@dataclass(frozen=True, slots=True)
class ServerFaults:
    """Deliberate misbehaviour of a Remote Provisioning Server; each does what it names.

    * ``close_link_after_pdu``: relay N Provisioning PDU Sends, then on the next one close
      the PB-ADV link and send Link Report (Link Closed by Server, Idle).
    * ``silent_after_pdu``: relay N PDU Sends, then answer nothing more on that link (no
      Outbound Report, no PDU Report, no Link Report: the client's timers must end it).
    * ``skip_report_number``: the PDU Report that should carry this number carries the next
      one (a number is skipped).
    * ``reuse_report_number``: the PDU Report that should carry this number carries the
      previous one again (a duplicated number; its PDU looks like a repeat and is lost).
    """

    close_link_after_pdu: int | None = None
    silent_after_pdu: int | None = None
    skip_report_number: int | None = None
    reuse_report_number: int | None = None


class FaultyDevice:
    """The engine's honest :class:`Device` (``device``) with :class:`DeviceFaults` applied to
    what it receives and sends.

    It is driven like a ``Device`` (``receive``, ``provide_oob``, ``timeout``, ``cancel``,
    ``link_closed``, ``next_deadline``) and reports the same state. ``faults`` may be replaced
    at any time and applies from the next call; with no fault switched on the wrapper is
    transparent.
    """

    __slots__ = (
        "_failure",
        "_held_random",
        "_peer_confirmation",
        "_peer_public_key",
        "_peer_random",
        "_random",
        "device",
        "faults",
    )

    def __init__(
        self,
        capabilities: ProvisioningCapabilities,
        *,
        static_oob: bytes | None = None,
        oob_private_key: int | None = None,
        faults: DeviceFaults | None = None,
    ) -> None:
        # Our own copy of the device's Random, the one session value a rogue device needs
        # (``ignore_confirmation_failure``). It is sized for the algorithm the Provisioner
        # has to pick: MshPRT 1.1 §5.4.2.3 forbids CMAC when the device also offers HMAC.
        size = max((a.auth_size for a in capabilities.supported_algorithms), default=16)
        self._random = secrets.token_bytes(size)
        self.device = Device(
            capabilities,
            static_oob=static_oob,
            oob_private_key=oob_private_key,
            random=self._random,
        )
        self.faults = faults or DeviceFaults()
        # What the Provisioner sent, for the reflections.
        self._peer_public_key = b""
        self._peer_confirmation = b""
        self._peer_random = b""
        self._held_random: bytes | None = None
        self._failure: ProvisioningFailure | None = None

    def __repr__(self) -> str:
        return f"FaultyDevice(state={self.state.name}, faults={self.faults!r})"

    # --- what the device reports ------------------------------------------------------

    @property
    def state(self) -> DeviceState:
        """The honest device's state."""
        return self.device.state

    @property
    def finished(self) -> bool:
        """Whether the session completed or failed."""
        return self.device.finished

    @property
    def failure(self) -> ProvisioningFailure | None:
        """Why the session failed, once it has (a simulated Provisioning Failed included)."""
        return self._failure or self.device.failure

    @property
    def public_key(self) -> bytes:
        """The device's real public key in this session (not what a fault sent instead)."""
        return self.device.public_key

    @property
    def attention_duration(self) -> int | None:
        """The Attention Timer the Provisioner asked for in its Invite."""
        return self.device.attention_duration

    def next_deadline(self) -> float | None:
        """When :meth:`timeout` must be called, or ``None``."""
        return self.device.next_deadline()

    # --- events -----------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> list[ProvisioningAction]:
        """One Provisioning PDU from the Provisioner, through the faults."""
        if self.device.finished:
            return self.device.receive(data, now)  # the engine refuses it
        try:
            pdu = decode_pdu(data)
        except DecodeError:
            return self._outgoing(self.device.receive(data, now))  # the device refuses it
        kind = pdu.PDU_TYPE
        if isinstance(pdu, ProvisioningPublicKey):
            self._peer_public_key = pdu.key
        elif isinstance(pdu, ProvisioningConfirmation):
            self._peer_confirmation = pdu.confirmation
        elif isinstance(pdu, ProvisioningRandom):
            self._peer_random = pdu.random
        faults = self.faults
        if faults.fail_with is not None and faults.fail_at is kind:
            return self._send_failed(faults.fail_with, kind, now)
        if faults.silent_at is kind:
            return []  # held back: the device never sees it and never answers
        if faults.unexpected_pdu_at is kind:
            return self._outgoing([SendProvisioningPdu(ProvisioningComplete().to_bytes())])
        actions: list[ProvisioningAction] = []
        if self._held_random is not None:
            # The rogue's postponed check: the device now sees the Provisioner's Random (and
            # refuses it if the Confirmation did not match); its Random has already gone out.
            held, self._held_random = self._held_random, None
            actions += [
                action
                for action in self.device.receive(held, now)
                if not (
                    isinstance(action, SendProvisioningPdu) and action.pdu_type is PduType.RANDOM
                )
            ]
            if self.device.finished:
                return self._outgoing(actions)
        if (
            faults.ignore_confirmation_failure
            and isinstance(pdu, ProvisioningRandom)
            and self.device.state is DeviceState.WAIT_RANDOM
            and len(pdu.random) == len(self._random)
        ):
            # A rogue device answers with its Random before checking the Provisioner's
            # Confirmation, which needs the AuthValue it may not know.
            self._held_random = data
            return self._outgoing(
                [SendProvisioningPdu(ProvisioningRandom(self._random).to_bytes())]
            )
        actions += self.device.receive(data, now)
        return self._outgoing(actions)

    def provide_oob(self, value: OobValue, now: float) -> list[ProvisioningAction]:
        """The value a person entered on the device (Input OOB), through the faults."""
        return self._outgoing(self.device.provide_oob(value, now))

    def timeout(self, now: float) -> list[ProvisioningAction]:
        """The device's protocol timer fired."""
        return self.device.timeout(now)

    def cancel(self, now: float) -> list[ProvisioningAction]:
        """Abandon the session."""
        return self.device.cancel(now)

    def link_closed(self, now: float) -> list[ProvisioningAction]:
        """The bearer closed under the device."""
        return self.device.link_closed(now)

    # --- tampering --------------------------------------------------------------------

    def _send_failed(
        self, code: ProvisioningErrorCode, at: PduType, now: float
    ) -> list[ProvisioningAction]:
        # The honest session ends (keys forgotten, timer stopped); its own Failed is replaced
        # by ours: Provisioning Failed with the chosen code, then wait for the Provisioner to
        # close the link (§5.4.4).
        self.device.cancel(now)
        self._failure = ProvisioningFailure(
            FailureReason.REMOTE_FAILED, code, f"the device sent {code.name} on {at.name}"
        )
        return [
            SendProvisioningPdu(ProvisioningFailed(code).to_bytes()),
            Failed(self._failure, close_link=False),
        ]

    def _outgoing(self, actions: list[ProvisioningAction]) -> list[ProvisioningAction]:
        out: list[ProvisioningAction] = []
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                data = self._tamper(action.data)
                if data is None:
                    continue
                action = SendProvisioningPdu(data)  # noqa: PLW2901 - the tampered replacement
            out.append(action)
        return out

    def _tamper(self, data: bytes) -> bytes | None:
        """The PDU the device sends, as the faults want it (``None``: not sent at all)."""
        faults = self.faults
        pdu = decode_pdu(data)  # the honest device only sends well-formed PDUs
        kind = pdu.PDU_TYPE
        if kind is PduType.FAILED:
            return data  # the device's own refusal goes out as it is
        if kind is PduType.INPUT_COMPLETE and faults.skip_input_complete:
            return None
        if isinstance(pdu, ProvisioningPublicKey):
            if faults.reflect_public_key:
                data = ProvisioningPublicKey(self._peer_public_key).to_bytes()
            elif faults.off_curve_public_key:
                data = ProvisioningPublicKey(OFF_CURVE_PUBLIC_KEY).to_bytes()
        elif isinstance(pdu, ProvisioningConfirmation):
            if faults.reflect_confirmation:
                data = ProvisioningConfirmation(self._peer_confirmation).to_bytes()
            elif faults.wrong_confirmation:
                value = pdu.confirmation
                data = ProvisioningConfirmation(bytes((value[0] ^ 0x01,)) + value[1:]).to_bytes()
        elif isinstance(pdu, ProvisioningRandom) and faults.random_equal_to_provisioner:
            data = ProvisioningRandom(self._peer_random).to_bytes()
        if faults.truncate_pdu is kind:
            data = data[:-1]
        if faults.oversize_pdu is kind:
            data += b"\x00"
        return data
