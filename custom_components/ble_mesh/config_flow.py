"""Config flow: create or import a mesh network, and provision discovered devices into it.

Discovery of an unprovisioned device (Mesh Provisioning service 0x1827) starts a flow per
device. The provisioning session (:mod:`.provisioning_session`) lives outside the steps: they
only wait for its next event, so closing the dialog at any point closes the GATT link and
drops the session's secrets. Adding a device to an existing network ends the flow with the
abort reason ``provisioned``; when no network exists yet, the flow creates one and the new
network entry already contains the device.

What the device does without a person (connecting and sending its Capabilities, the key
exchange, authentication, the provisioning data) runs inside the step the person submitted;
the frontend shows the dialog as loading meanwhile. Only a wait for the person (an Input OOB
value to enter on the device) is a progress step. A progress step is left when Home Assistant
fires ``data_entry_flow_progressed``, and the frontend subscribes to that event only once it
shows the step; Home Assistant 2025.4's frontend never fetches the flow by itself, so a step
that ended first (a device answers within milliseconds) showed "Connecting" forever while the
flow already waited at the method step. A person cannot act before seeing the step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
import logging
from typing import Any
import uuid

from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.data_entry_flow import UnknownFlow
from homeassistant.helpers import translation
from homeassistant.helpers.selector import (
    FileSelector,
    FileSelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from . import qr_image
from .compat import vol
from .const import (
    CONF_MESH_UUID,
    DEFAULT_NETWORK_NAME,
    DOMAIN,
    PROVISIONER_NAME,
)
from .discovery import STEP_OFFER, STEP_OFFER_AGAIN, STEP_OFFER_NEW_NETWORK, STEP_REMOTE_OFFER
from .mesh.beacons import MeshProvisioningServiceData, oob_hints
from .mesh.database import AllocationError, CdbElement, MeshNetwork, Node, NodeKey, Security
from .mesh.errors import DecodeError, MeshError
from .mesh.network import IvIndexState
from .mesh.provisioning import (
    Algorithm,
    AuthMethod,
    CapabilitiesReceived,
    Completed,
    Failed,
    InputAction,
    InputKind,
    InvalidOobValueError,
    NoAcceptableMethodError,
    OutputAction,
    ProvisionerResult,
    ProvisioningCapabilities,
    ProvisioningData,
    ProvisioningStart,
    ProvisioningUsageError,
    PublicKeyMethod,
    RequestInput,
    ShowValue,
    select_method,
)
from .mesh.proxy import MESH_PROVISIONING_SERVICE_UUID, MESH_PROXY_SERVICE_UUID
from .mesh.qr import ProvisioningOobData, parse_provisioning_oob
from .network_store import AddressReservation, async_create_network, key_for_new_node
from .options_flow import BleMeshOptionsFlow
from .provisioning_session import (
    ProvisioningSession,
    RemoteProvisioningSession,
    SessionEvent,
    failure_reason_key,
)
from .remote_scan import (
    DISCOVERY_ENTRY,
    DISCOVERY_NAME,
    DISCOVERY_OOB,
    DISCOVERY_SERVER,
    DISCOVERY_UUID,
)
from .runtime import MeshConfigEntry
from .storage import STORE_MAX_DEPTH, UnstorableError, importable_network, now_iso

_LOGGER = logging.getLogger(__name__)

CONF_FILE = "file"
CONF_IV_INDEX = "iv_index"
CONF_NETWORK = "network"
CONF_METHOD = "method"
CONF_OOB_TEXT = "oob_text"
CONF_QR_IMAGE = "qr_image"
CONF_VALUE = "value"
NEW_NETWORK = "new"
# Failures that put the person's choice in doubt: a retry asks for it again. Any other failure
# (the link, a timeout, a misbehaving device) keeps the method and the OOB data already given.
# A device that refuses (Provisioning Failed) may refuse the method: it is chosen again.
METHOD_FAILURES = frozenset({"remote_failed"})
OOB_DATA_FAILURES = frozenset({"confirmation_failed", "invalid_oob_data", "invalid_public_key"})

# The methods a person can pick, in the engine's terms.
METHODS: dict[str, AuthMethod] = {
    "static_oob": AuthMethod.STATIC_OOB,
    "output_oob": AuthMethod.OUTPUT_OOB,
    "input_oob": AuthMethod.INPUT_OOB,
    "no_oob": AuthMethod.NO_OOB,
}
# Output and Input actions share integer values, so they need separate tables.
OUTPUT_ACTION_KEYS: dict[OutputAction, str] = {
    OutputAction.BLINK: "blink",
    OutputAction.BEEP: "beep",
    OutputAction.VIBRATE: "vibrate",
    OutputAction.OUTPUT_NUMERIC: "number",
    OutputAction.OUTPUT_ALPHANUMERIC: "text",
}
INPUT_ACTION_KEYS: dict[InputAction, str] = {
    InputAction.PUSH: "push",
    InputAction.TWIST: "twist",
    InputAction.INPUT_NUMERIC: "number",
    InputAction.INPUT_ALPHANUMERIC: "text",
}


# Placeholder values: names that are the same in every language.
ALGORITHM_NAMES: dict[Algorithm, str] = {
    Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM: "HMAC-SHA256",
    Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM: "CMAC (Mesh 1.0)",
}
# Words that go into a sentence as a placeholder (lists of the device's capabilities and OOB
# hints) are option labels of these selector keys in strings.json, read in Home Assistant's
# language. Whole sentences never are: each kind of Output/Input action has its own step
# (``output_oob_<key>``) or progress action (``input_oob_<key>``), with its own sentence.
WORDS_HINT = "oob_hint"
WORDS_OUTPUT = "output_action"
WORDS_INPUT = "input_action"
WORDS_CAPABILITY = "capability"


def _action_key(action: OutputAction | InputAction) -> str:
    if isinstance(action, OutputAction):
        return OUTPUT_ACTION_KEYS[action]
    return INPUT_ACTION_KEYS[action]


@dataclass(slots=True)
class _Device:
    """What discovery told us about the device being added."""

    address: str
    name: str
    device_uuid: uuid.UUID
    hints: str
    """Where its OOB information is, in words (translated)."""
    proxy_advertised: bool
    """Its advertisement also shows the Mesh Proxy service: it is (or was, until a reset:
    scanners merge what a device advertised, notes §2.2) a provisioned node."""
    relay: Node | None = None
    """The node whose Remote Provisioning Server heard it (no adapter does): PB-Remote."""


@dataclass(slots=True)
class _Choice:
    """What the person chose, kept across attempts: a retry asks only for what failed."""

    method: str
    """The key of the method in :data:`METHODS`."""
    confirmed: bool = False
    """No OOB: the warning was confirmed."""
    oob_given: bool = False
    """The OOB data step was answered (``oob`` may still be None: no public key given)."""
    oob: ProvisioningOobData | None = None


@dataclass(slots=True)
class _Attempt:
    """One provisioning attempt (a retry starts a new one: fresh keys, fresh AuthValue)."""

    session: ProvisioningSession | RemoteProvisioningSession
    task: asyncio.Task[SessionEvent] | None = None
    event: SessionEvent | None = None
    capabilities: ProvisioningCapabilities | None = None
    suggested: ProvisioningStart | None = None
    start: ProvisioningStart | None = None
    oob: ProvisioningOobData | None = None
    shown: ShowValue | None = None
    progress_action: str = ""
    """The progress step's text while the person acts on the device (Input OOB)."""
    progress_shown: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    reservation: AddressReservation | None = None
    """The unicast range held for the device in an existing network (released on failure)."""
    given_key: bytes | None = None
    """The NetKey the device was sent (chosen when sent: a Key Refresh may move on meanwhile)."""


class BleMeshConfigFlow(ConfigFlow, domain=DOMAIN):
    """Handle a config flow for a Bluetooth Mesh network."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing discovered."""
        self._device: _Device | None = None
        self._entry: MeshConfigEntry | None = None
        self._network: MeshNetwork | None = None
        self._attempt: _Attempt | None = None
        self._error: str | None = None
        self._choice: _Choice | None = None
        self._replaces: Node | None = None
        """The network's record of the device, when it is added again after a reset by hand."""
        self._images = qr_image.UploadedImages()
        self._recording: asyncio.Task[ConfigFlowResult] | None = None
        """Recording the provisioned node (:meth:`async_step_finish`), once."""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Groups are managed in the network entry's options (:mod:`.options_flow`)."""
        return BleMeshOptionsFlow()

    # --- discovery -----------------------------------------------------------------------

    async def async_step_bluetooth(
        self, discovery_info: BluetoothServiceInfoBleak
    ) -> ConfigFlowResult:
        """A device advertised the Mesh Provisioning (or Proxy) service."""
        raw = discovery_info.service_data.get(MESH_PROVISIONING_SERVICE_UUID)
        if raw is None:
            # Only the Proxy service: a node that is already provisioned.
            return self.async_abort(reason="already_provisioned")
        try:
            # OOB Information read big-endian, as Zephyr-based firmware sends it (the §8.5.1
            # sample shows it little-endian); it only selects the hints shown to the user.
            service_data = MeshProvisioningServiceData.from_bytes(raw)
        except DecodeError:
            return self.async_abort(reason="not_mesh_device")
        await self.async_set_unique_id(service_data.uuid.hex)
        self._abort_if_unique_id_configured()
        hints = oob_hints(service_data.oob_information) or ["not_stated"]
        self._device = _Device(
            address=discovery_info.address,
            name=discovery_info.name or discovery_info.address,
            device_uuid=service_data.uuid,
            hints=await self._async_words(WORDS_HINT, hints),
            proxy_advertised=MESH_PROXY_SERVICE_UUID in discovery_info.service_data,
        )
        return await self._async_offer()

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """A node's Remote Provisioning Server heard a device no adapter hears (remote_scan)."""
        try:
            device_uuid = uuid.UUID(hex=str(discovery_info[DISCOVERY_UUID]))
            server = int(discovery_info[DISCOVERY_SERVER])
            oob_information = int(discovery_info[DISCOVERY_OOB])
            entry_id = str(discovery_info[DISCOVERY_ENTRY])
        except (KeyError, TypeError, ValueError):
            return self.async_abort(reason="not_mesh_device")
        await self.async_set_unique_id(device_uuid.hex)
        self._abort_if_unique_id_configured()
        entry = next((e for e in self._loaded_entries() if e.entry_id == entry_id), None)
        relay = entry.runtime_data.network.node_by_address(server) if entry else None
        if entry is None or relay is None:
            return self.async_abort(reason="relay_gone")
        if self._known_node(device_uuid) is not None:
            return self.async_abort(reason="already_provisioned")
        hints = oob_hints(oob_information) or ["not_stated"]
        self._device = _Device(
            address=f"{device_uuid.hex} through {relay.unicast_address:04X}",
            name=str(discovery_info.get(DISCOVERY_NAME) or "")[:64]
            or f"Mesh device {device_uuid.hex[:8].upper()}",
            device_uuid=device_uuid,
            hints=await self._async_words(WORDS_HINT, hints),
            proxy_advertised=False,
            relay=relay,
        )
        self._entry, self._network = entry, entry.runtime_data.network
        self.context["title_placeholders"] = {"name": self._device.name}
        return await self.async_step_remote_confirm()

    async def async_step_remote_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer a device found through a node; it joins that node's network."""
        entry = self._entry
        assert entry is not None
        if user_input is not None:
            return await self._async_new_attempt()
        return self.async_show_form(
            step_id=STEP_REMOTE_OFFER,
            description_placeholders={**self._device_placeholders(), "network": entry.title},
        )

    def _known_node(self, device_uuid: uuid.UUID) -> tuple[MeshConfigEntry, Node] | None:
        """The loaded network that has the device as a node, and its record there."""
        for entry in self._loaded_entries():
            if (node := entry.runtime_data.network.node_by_uuid(device_uuid)) is not None:
                return entry, node
        return None

    async def _async_offer(self) -> ConfigFlowResult:
        """Offer the device as the loaded networks know it.

        Unknown: offered as a new device. A node of a loaded network that advertises only the
        Mesh Provisioning service was reset by hand: offered again, in place of its record.
        A node that (also) advertises the Mesh Proxy service is not offered. (A device that
        becomes a node later has its offer ended: discovery.py.)
        """
        device = self._device
        assert device is not None
        known = self._known_node(device.device_uuid)
        if known is None:
            self.context["title_placeholders"] = {"name": device.name}
            return await self.async_step_bluetooth_confirm()
        if device.proxy_advertised:
            return self.async_abort(reason="already_provisioned")
        _entry, node = known
        device.name = node.name or device.name  # the name it has in Home Assistant
        self.context["title_placeholders"] = {"name": device.name}
        return await self.async_step_bluetooth_readd()

    async def async_step_bluetooth_readd(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A node reset by hand advertises as new: add it again, in place of its record."""
        assert self._device is not None
        known = self._known_node(self._device.device_uuid)
        if known is None:  # its record was removed meanwhile: a new device now
            return await self._async_offer()
        entry, node = known
        if user_input is not None:
            self._entry, self._network, self._replaces = entry, entry.runtime_data.network, node
            return await self._async_new_attempt()
        return self.async_show_form(
            step_id=STEP_OFFER_AGAIN,
            description_placeholders={
                **self._device_placeholders(),
                "network": entry.title,
                "address": f"{node.unicast_address:04X}",
            },
        )

    async def async_step_bluetooth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the device; pick (or create) the network it joins."""
        assert self._device is not None
        entries = self._loaded_entries()
        if user_input is not None:
            choice = user_input.get(CONF_NETWORK, NEW_NETWORK if not entries else None)
            if choice == NEW_NETWORK:
                name = str(user_input.get(CONF_NAME, "")).strip() or DEFAULT_NETWORK_NAME
                self._entry = None
                self._network = MeshNetwork.create(name, PROVISIONER_NAME, now_iso())
            else:
                self._entry = next(
                    (e for e in entries if e.entry_id == choice), entries[0] if entries else None
                )
                assert self._entry is not None
                self._network = self._entry.runtime_data.network
            return await self._async_new_attempt()
        schema: dict[Any, Any] = {}
        if not entries:
            schema[vol.Required(CONF_NAME, default=DEFAULT_NETWORK_NAME)] = TextSelector()
        elif len(entries) > 1:
            schema[vol.Required(CONF_NETWORK, default=entries[0].entry_id)] = SelectSelector(
                SelectSelectorConfig(
                    options=[SelectOptionDict(value=e.entry_id, label=e.title) for e in entries],
                    mode=SelectSelectorMode.DROPDOWN,
                )
            )
        return self.async_show_form(
            step_id=STEP_OFFER if entries else STEP_OFFER_NEW_NETWORK,
            data_schema=vol.Schema(schema),
            description_placeholders=self._device_placeholders(),
        )

    async def async_step_bluetooth_new_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Same as confirm, when a network must be created first."""
        return await self.async_step_bluetooth_confirm(user_input)

    # --- provisioning --------------------------------------------------------------------

    async def _async_new_attempt(self) -> ConfigFlowResult:
        assert self._device is not None
        assert self._network is not None
        await self._async_end_attempt()
        network = self._network
        net_key = network.net_keys[0]
        runtime = self._entry.runtime_data if self._entry is not None else None
        key, key_refresh = key_for_new_node(net_key)
        data = ProvisioningData(
            net_key=key,
            key_index=net_key.index,
            iv_index=self._iv_index(),
            unicast_address=0x0001,  # the real block is allocated once Capabilities arrive
            key_refresh=key_refresh,
            iv_update=runtime.iv_update_in_progress if runtime is not None else False,
        )
        attempt: _Attempt | None = None

        def key_source() -> tuple[bytes, bool]:
            # The keys of the moment the Provisioning Data is sent, not of the attempt's start.
            net_key = network.net_keys[0]
            key, key_refresh = key_for_new_node(net_key)
            if attempt is not None:
                attempt.given_key = key
                if key != net_key.key and attempt.reservation is not None and runtime:
                    # A refresh's old keys: it waits for this device before it switches.
                    runtime.store.old_keys_given(attempt.reservation)
            return key, key_refresh

        session: ProvisioningSession | RemoteProvisioningSession
        if (relay := self._device.relay) is not None:
            assert runtime is not None  # a device found through a node joins its network
            session = RemoteProvisioningSession(
                self.hass,
                runtime,
                relay.unicast_address,
                self._device.device_uuid.bytes,
                data,
                key_source=key_source,
            )
        else:
            session = ProvisioningSession(
                self.hass, self._device.address, data, key_source=key_source
            )
        attempt = self._attempt = _Attempt(session=session, given_key=key)
        return await self._async_until_next_event(self._async_start_and_wait(session))

    def _iv_index(self) -> int:
        """The network's IV Index: live state of Home Assistant's node (0 for a new network)."""
        return self._entry.runtime_data.iv_index if self._entry is not None else 0

    async def _async_start_and_wait(
        self, session: ProvisioningSession | RemoteProvisioningSession
    ) -> SessionEvent:
        await session.async_start()
        return await session.async_next_event()

    async def _async_until_next_event(
        self, work: Coroutine[Any, Any, SessionEvent] | None = None
    ) -> ConfigFlowResult:
        """Run the session up to its next event within this step, then show the next step.

        ``work`` is what gets there (default: wait for the session's next event). The wait is a
        background task so that the dialog's close (:meth:`async_remove`) can end it.
        """
        attempt = self._attempt
        assert attempt is not None
        task = attempt.task = self.hass.async_create_background_task(
            work if work is not None else attempt.session.async_next_event(),
            f"ble_mesh provisioning {self._device_name()}",
        )
        await asyncio.wait((task,))
        if task.cancelled():
            # The dialog was closed meanwhile: async_remove took the attempt and the flow is
            # gone; Home Assistant answers the pending submit with "invalid flow".
            raise UnknownFlow
        attempt.task = None
        attempt.event = task.result()
        step: Callable[[], Awaitable[ConfigFlowResult]] = getattr(
            self, f"async_step_{self._next_step(attempt.event)}"
        )
        return await step()

    def _wait_for_person(self, action: str) -> None:
        """Wait for the session's next event behind a progress step: the person acts now."""
        attempt = self._attempt
        assert attempt is not None
        attempt.progress_action = action
        attempt.progress_shown = False
        attempt.task = self.hass.async_create_task(attempt.session.async_next_event())

    async def async_step_progress(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Wait with a visible progress step until the person has acted on the device."""
        attempt = self._attempt
        assert attempt is not None
        assert attempt.task is not None
        # Always show the progress step once, even if the event is already there: the flow
        # manager would otherwise hand the submitted form's input on to the next step.
        if not attempt.task.done() or not attempt.progress_shown:
            attempt.progress_shown = True
            placeholders = dict(self._device_placeholders())
            placeholders.update(attempt.extra)
            return self.async_show_progress(
                step_id="progress",
                progress_action=attempt.progress_action,
                progress_task=attempt.task,
                description_placeholders=placeholders,
            )
        attempt.event = attempt.task.result()
        attempt.task = None
        return self.async_show_progress_done(next_step_id=self._next_step(attempt.event))

    def _next_step(self, event: SessionEvent) -> str:
        if isinstance(event, CapabilitiesReceived):
            return "method"
        if isinstance(event, RequestInput):
            # One Output OOB step per kind of output (Output OOB always names its action).
            action = event.action if event.kind is InputKind.OUTPUT_OOB else None
            return f"output_oob_{_action_key(action)}" if action is not None else "oob_data"
        if isinstance(event, ShowValue):
            return "input_oob"
        if isinstance(event, Completed):
            return "finish"
        return "failed"

    async def async_step_method(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the device's capabilities and let the person choose how to authenticate."""
        attempt = self._attempt
        assert attempt is not None
        if isinstance(attempt.event, CapabilitiesReceived):
            attempt.capabilities = attempt.event.capabilities
            attempt.suggested = attempt.event.suggested
            attempt.event = None
        caps = attempt.capabilities
        assert caps is not None
        offered = self._offered_methods(caps)
        if not offered:
            return await self._async_fail("no_acceptable_method")
        choice = self._choice
        if user_input is None and choice is not None and choice.method in offered:
            user_input = {CONF_METHOD: choice.method}  # a retry: chosen already
        if user_input is not None:
            if choice is None or choice.method != user_input[CONF_METHOD]:
                self._choice = choice = _Choice(user_input[CONF_METHOD])
            method = METHODS[choice.method]
            if method is AuthMethod.NO_OOB:
                if choice.confirmed:
                    return await self._async_choose(method)
                return await self.async_step_no_oob_warning()
            if method is AuthMethod.STATIC_OOB or caps.public_key_oob:
                if choice.oob_given:
                    attempt.oob = choice.oob
                    return await self._async_choose(method)
                return await self.async_step_oob_data()
            return await self._async_choose(method)
        # The strongest method the device offers, assuming the person can supply what it
        # needs (the value on its label, the QR code): the engine's policy decides.
        strongest = select_method(caps, caps.public_key_oob, True)
        default = next(k for k, m in METHODS.items() if m is strongest.auth_method)
        return self.async_show_form(
            step_id="method",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_METHOD, default=default): SelectSelector(
                        SelectSelectorConfig(
                            options=offered,
                            translation_key="method",
                            mode=SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
            description_placeholders=await self._async_capability_placeholders(caps),
        )

    async def async_step_no_oob_warning(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """No OOB authenticates nothing: say so and ask for an explicit confirmation."""
        if user_input is not None:
            assert self._choice is not None
            self._choice.confirmed = True
            return await self._async_choose(AuthMethod.NO_OOB)
        return self.async_show_form(
            step_id="no_oob_warning", description_placeholders=self._device_placeholders()
        )

    async def async_step_oob_data(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The static OOB value or the device's public key: typed, pasted QR text or a QR image."""
        attempt = self._attempt
        assert attempt is not None
        caps = attempt.capabilities
        assert caps is not None
        choice = self._choice
        assert choice is not None
        method = METHODS[choice.method]
        errors: dict[str, str] = {}
        if user_input is not None:
            text = str(user_input.get(CONF_OOB_TEXT, "")).strip()
            image_id = user_input.get(CONF_QR_IMAGE)
            try:
                if image_id:
                    text = await self._images.async_text(self.hass, image_id)
                oob = parse_provisioning_oob(text) if text else None
            except qr_image.QrImageError as err:
                errors["base"] = err.reason
            except MeshError:
                errors["base"] = "invalid_oob_data"
            else:
                if oob is not None and oob.device_uuid not in (None, self._device_uuid_bytes()):
                    errors["base"] = "wrong_device"
                elif method is AuthMethod.STATIC_OOB and (oob is None or oob.static_oob is None):
                    errors["base"] = "static_oob_required"
                else:
                    attempt.oob = choice.oob = oob
                    choice.oob_given = True
                    return await self._async_choose(method)
        schema: dict[Any, Any] = {vol.Optional(CONF_OOB_TEXT): TextSelector()}
        if qr_image.available():
            schema[vol.Optional(CONF_QR_IMAGE)] = FileSelector(FileSelectorConfig(accept="image/*"))
        placeholders = dict(self._device_placeholders())
        placeholders["image_note"] = "" if qr_image.available() else qr_image.unavailable_reason()
        return self.async_show_form(
            step_id="oob_data" if method is AuthMethod.STATIC_OOB else "public_key",
            data_schema=vol.Schema(schema),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_public_key(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The optional QR code with the device's public key (same handling as OOB data)."""
        return await self.async_step_oob_data(user_input)

    async def _async_choose(self, method: AuthMethod) -> ConfigFlowResult:
        attempt = self._attempt
        assert attempt is not None
        assert self._network is not None
        _LOGGER.debug("Provisioning %s: %s chosen", self._device_name(), method)
        if attempt.session.finished:
            # The link closed while the person chose (the device's or a relay's timer): say
            # why (its Failed is queued), keeping the method and the OOB data for a retry.
            return await self._async_until_next_event()
        caps = attempt.capabilities
        assert caps is not None
        oob = attempt.oob
        public_key = oob.public_key if oob else None
        static = oob.static_oob if oob else None
        try:
            start = select_method(
                caps,
                oob_public_key_known=public_key is not None,
                static_oob_available=static is not None,
                auth_method=method,
            )
            if self._entry is not None:
                # Held in the network's store: a second dialog gets another range.
                attempt.reservation = await self._entry.runtime_data.store.async_reserve_unicast(
                    caps.number_of_elements, iv_index=self._iv_index()
                )
                address = attempt.reservation.first
            else:  # a network this dialog creates: nobody else allocates in it
                address = self._network.allocate_unicast(
                    self._local_provisioner_uuid(), caps.number_of_elements, iv_index=0
                )
            attempt.session.choose(
                start,
                unicast_address=address,
                static_oob=static,
                device_public_key=public_key if start.public_key is PublicKeyMethod.OOB else None,
            )
        except AllocationError:
            return await self._async_fail("no_free_address")
        except ProvisioningUsageError:
            # The methods offered were checked against the Capabilities, so what is left is
            # OOB data that does not fit the algorithm (e.g. a 32-octet value with CMAC).
            return await self._async_fail("invalid_oob_data" if oob else "no_acceptable_method")
        attempt.start = start
        return await self._async_until_next_event()

    async def async_step_output_oob_blink(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The device blinks a number of times: the person counts and enters it."""
        return await self._async_output_oob(user_input)

    async def async_step_output_oob_beep(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The device beeps a number of times: the person counts and enters it."""
        return await self._async_output_oob(user_input)

    async def async_step_output_oob_vibrate(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The device vibrates a number of times: the person counts and enters it."""
        return await self._async_output_oob(user_input)

    async def async_step_output_oob_number(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The device displays a number: the person enters it."""
        return await self._async_output_oob(user_input)

    async def async_step_output_oob_text(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The device displays text: the person enters it."""
        return await self._async_output_oob(user_input)

    async def _async_output_oob(self, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        """The device outputs a value (one step per kind of output, for its own sentence)."""
        attempt = self._attempt
        assert attempt is not None
        request = attempt.event
        assert isinstance(request, RequestInput)
        assert isinstance(request.action, OutputAction)  # Output OOB always names its action
        errors: dict[str, str] = {}
        if user_input is not None and attempt.session.finished:
            # The link closed while the person looked at the device: say why (its Failed).
            return await self._async_until_next_event()
        if user_input is not None:
            try:
                attempt.session.provide_oob(str(user_input[CONF_VALUE]).strip())
            except InvalidOobValueError:
                errors["base"] = "invalid_value"
            else:
                return await self._async_until_next_event()
        placeholders = dict(self._device_placeholders())
        placeholders["size"] = str(request.size)
        # Counted outputs: 1 to 9 for one digit, 1 to 99 for two...
        placeholders["largest"] = str(10**request.size - 1)
        return self.async_show_form(
            step_id=f"output_oob_{_action_key(request.action)}",
            data_schema=vol.Schema({vol.Required(CONF_VALUE): TextSelector()}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_input_oob(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Home Assistant chose a value; the person enters it on the device, we wait."""
        attempt = self._attempt
        assert attempt is not None
        shown = attempt.event
        assert isinstance(shown, ShowValue)
        attempt.shown = shown
        attempt.extra["value"] = str(shown.value)
        # One progress text per kind of input (push, twist, number, text): its own sentence.
        self._wait_for_person(f"input_oob_{_action_key(shown.action)}")
        return await self.async_step_progress()

    async def async_step_finish(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Provisioned: record the node, then end the flow.

        The step can be asked for twice at once: when the Input OOB progress ends, Home
        Assistant advances the flow itself while the frontend fetches it too. The second call
        waits for the first one's record and gets the same answer; and the record, once begun,
        is not cancelled with the request that asked for it (the device is provisioned).
        """
        if self._recording is None:
            self._recording = self.hass.async_create_task(self._async_record_node())
        return (await asyncio.shield(self._recording)).copy()

    async def _async_record_node(self) -> ConfigFlowResult:
        attempt = self._attempt
        assert attempt is not None
        assert isinstance(attempt.event, Completed)
        result = attempt.event.result
        assert isinstance(result, ProvisionerResult)
        reservation, attempt.reservation = attempt.reservation, None  # taken by the node now
        await self._async_end_attempt()
        network = self._network
        assert network is not None
        # Whether it holds the new NetKey of a running Key Refresh, as the network is now.
        net_key = network.net_keys[0]
        updated = net_key.old_key is not None and attempt.given_key == net_key.key
        node = self._node_from_result(result, updated=updated)
        if self._entry is None:
            network.add_node(node, iv_index=0)
            network.touch(now_iso())
            mesh_uuid = network.mesh_uuid.hex
            await self.async_set_unique_id(mesh_uuid, raise_on_progress=False)
            await async_create_network(self.hass, network)
            return self.async_create_entry(
                title=network.mesh_name, data={CONF_MESH_UUID: mesh_uuid}
            )
        # The store records it, then configures it (its listener, the runtime).
        await self._entry.runtime_data.store.async_commit_node(
            node, iv_index=self._iv_index(), reservation=reservation, replaces=self._replaces
        )
        return self.async_abort(
            reason="provisioned", description_placeholders={"name": self._device_name()}
        )

    async def async_step_failed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Say what went wrong; *Try again* starts a new session with the same choice.

        The method and the OOB data are kept unless the failure puts them in doubt (a value
        that does not match, a method the device refused): then the retry asks for them again.
        """
        attempt = self._attempt
        if attempt is not None and isinstance(attempt.event, Failed):
            self._error = failure_reason_key(attempt.event.failure, attempt.session.link_error)
            _LOGGER.info("Provisioning %s failed: %s", self._device_name(), attempt.event.failure)
            attempt.event = None
            await self._async_end_attempt()
        if self._error in METHOD_FAILURES:
            self._choice = None
        elif self._error in OOB_DATA_FAILURES and self._choice is not None:
            self._choice.oob_given, self._choice.oob = False, None
        if user_input is not None:
            self._error = None
            return await self._async_new_attempt()
        return self.async_show_form(
            step_id="failed",
            errors={"base": self._error or "unknown"},
            description_placeholders=self._device_placeholders(),
        )

    async def _async_fail(self, reason: str) -> ConfigFlowResult:
        self._error = reason
        await self._async_end_attempt()
        return await self.async_step_failed()

    def _take_attempt(self) -> _Attempt | None:
        """Detach the current attempt, cancelling a wait still in progress."""
        attempt, self._attempt = self._attempt, None
        if attempt is not None and attempt.task is not None:
            attempt.task.cancel()  # no effect on a finished task
        return attempt

    async def _async_end_attempt(self) -> None:
        if (attempt := self._take_attempt()) is not None:
            await self._async_close(attempt)

    async def _async_close(self, attempt: _Attempt) -> None:
        await attempt.session.async_close()
        reservation, attempt.reservation = attempt.reservation, None
        if reservation is not None and self._entry is not None:
            await self._entry.runtime_data.store.async_release(reservation)

    def async_remove(self) -> None:
        """The dialog was closed: close the link, drop the session's secrets, free the range."""
        if (attempt := self._take_attempt()) is not None:
            self.hass.async_create_task(self._async_close(attempt))

    # --- helpers -------------------------------------------------------------------------

    def _loaded_entries(self) -> list[MeshConfigEntry]:
        return [
            e
            for e in self._async_current_entries(include_ignore=False)
            if e.state is ConfigEntryState.LOADED
        ]

    def _device_name(self) -> str:
        return self._device.name if self._device else ""

    def _device_uuid_bytes(self) -> bytes:
        assert self._device is not None
        return self._device.device_uuid.bytes

    def _device_placeholders(self) -> dict[str, str]:
        device = self._device
        assert device is not None
        relay = device.relay
        return {
            "name": device.name,
            "uuid": str(device.device_uuid),
            "hints": device.hints,
            "relay": (relay.name or f"{relay.unicast_address:04X}") if relay else "",
        }

    async def _async_capability_placeholders(
        self, caps: ProvisioningCapabilities
    ) -> dict[str, str]:
        placeholders = self._device_placeholders()
        output = [OUTPUT_ACTION_KEYS[a] for a in sorted(caps.output_actions)] or ["nothing"]
        input_ = [INPUT_ACTION_KEYS[a] for a in sorted(caps.input_actions)] or ["nothing"]
        placeholders.update(
            {
                "elements": str(caps.number_of_elements),
                "algorithms": ", ".join(
                    ALGORITHM_NAMES[a] for a in sorted(caps.supported_algorithms, reverse=True)
                ),
                "public_key": await self._async_words(
                    WORDS_CAPABILITY, ["public_key_oob" if caps.public_key_oob else "in_band"]
                ),
                "output": await self._async_words(WORDS_OUTPUT, output),
                "input": await self._async_words(WORDS_INPUT, input_),
                "static": await self._async_words(
                    WORDS_CAPABILITY, ["yes" if caps.static_oob else "no"]
                ),
            }
        )
        return placeholders

    async def _async_words(self, selector: str, keys: list[str]) -> str:
        """The labels of ``keys`` among the options of ``selector`` in strings.json, as a list.

        Read in Home Assistant's language, as Home Assistant's own flows translate a value
        that goes into a placeholder (the frontend translates sentences, not placeholders).
        """
        translations = await translation.async_get_translations(
            self.hass, self.hass.config.language, "selector", {DOMAIN}
        )
        prefix = f"component.{DOMAIN}.selector.{selector}.options."
        return ", ".join(translations.get(prefix + key, key) for key in keys)

    def _offered_methods(self, caps: ProvisioningCapabilities) -> list[str]:
        offered = []
        for key, method in METHODS.items():
            try:
                select_method(caps, True, True, auth_method=method)
            except NoAcceptableMethodError:
                continue
            offered.append(key)
        return offered

    def _local_provisioner_uuid(self) -> uuid.UUID:
        assert self._network is not None
        provisioner = self._network.local_provisioner
        assert provisioner is not None
        return provisioner.uuid

    def _node_from_result(self, result: ProvisionerResult, *, updated: bool) -> Node:
        """The node record; ``updated``: it holds the new NetKey of a running Key Refresh."""
        assert self._device is not None
        return Node(
            uuid=self._device.device_uuid,
            unicast_address=result.unicast_address,
            device_key=result.device_key,
            security=Security.SECURE if result.authenticated else Security.INSECURE,
            net_keys=[NodeKey(index=0, updated=updated)],
            config_complete=False,
            elements=[CdbElement(index=i) for i in range(result.number_of_elements)],
            name=self._device.name,
        )

    # --- create / import a network by hand ------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create a new network or import one exported from another provisioner."""
        return self.async_show_menu(
            step_id="user", menu_options=["create_network", "import_network"]
        )

    async def async_step_create_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Create a new mesh network with fresh keys; Home Assistant is its provisioner."""
        if user_input is not None:
            name = user_input[CONF_NAME].strip() or DEFAULT_NETWORK_NAME
            network = MeshNetwork.create(name, PROVISIONER_NAME, now_iso())
            return await self._async_create_network_entry(network)
        return self.async_show_form(
            step_id="create_network",
            data_schema=vol.Schema(
                {vol.Required(CONF_NAME, default=DEFAULT_NETWORK_NAME): TextSelector()}
            ),
        )

    async def async_step_import_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Import a Mesh Configuration Database export (nRF Mesh and others)."""
        errors: dict[str, str] = {}
        placeholders = {"error": "", "path": "", "limit": str(STORE_MAX_DEPTH)}
        if user_input is not None:
            try:
                network = await self.hass.async_add_executor_job(
                    _read_uploaded_network, self.hass, user_input[CONF_FILE]
                )
            except UnstorableError as err:
                errors["base"] = err.problem.value
                placeholders["path"] = err.path
            except (UnicodeDecodeError, ValueError) as err:
                if isinstance(err, MeshError):
                    errors["base"] = "invalid_network"
                    placeholders["error"] = str(err)
                else:
                    errors["base"] = "invalid_file"
            else:
                await self.async_set_unique_id(network.mesh_uuid.hex, raise_on_progress=False)
                self._abort_if_unique_id_configured()
                try:
                    provisioner = network.add_provisioner(PROVISIONER_NAME, uuid.uuid4())
                except AllocationError:
                    errors["base"] = "no_free_range"
                else:
                    network.set_local_provisioner(provisioner.uuid)
                    network.touch(now_iso())
                    # A Mesh CDB file has no IV Index: the one typed here, else the network's
                    # first authenticated beacon tells it (MshPRT 1.1 §3.11.5.2).
                    given = user_input.get(CONF_IV_INDEX)
                    iv = IvIndexState(iv_index=int(given or 0), known=given is not None)
                    return await self._async_create_network_entry(network, iv=iv)
        return self.async_show_form(
            step_id="import_network",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_FILE): FileSelector(FileSelectorConfig(accept=".json")),
                    vol.Optional(CONF_IV_INDEX): NumberSelector(
                        NumberSelectorConfig(
                            min=0, max=0xFFFFFFFF, step=1, mode=NumberSelectorMode.BOX
                        )
                    ),
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_create_network_entry(
        self, network: MeshNetwork, *, iv: IvIndexState | None = None
    ) -> ConfigFlowResult:
        mesh_uuid = network.mesh_uuid.hex
        await self.async_set_unique_id(mesh_uuid, raise_on_progress=False)
        self._abort_if_unique_id_configured()
        await async_create_network(self.hass, network, iv=iv)
        return self.async_create_entry(title=network.mesh_name, data={CONF_MESH_UUID: mesh_uuid})


def _read_uploaded_network(hass: Any, file_id: str) -> MeshNetwork:
    """Read and parse an uploaded export (runs in the executor; the upload is deleted after)."""
    with process_uploaded_file(hass, file_id) as path:
        text = path.read_text(encoding="utf-8")
    return importable_network(text)
