"""Discovery -> provisioning through HA's Bluetooth stack, the virtual proxy and simulated lights.

Nothing of ours is mocked: the manifest matcher starts the flow, the flow connects with
bleak-retry-connector through the virtual proxy, and the simulated light runs the engine's
device role on the other side.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import SOURCE_BLUETOOTH
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, UnknownFlow
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.ble_mesh.config_flow import (
    INPUT_ACTION_KEYS,
    OUTPUT_ACTION_KEYS,
    BleMeshConfigFlow,
)
from custom_components.ble_mesh.const import CONF_MESH_UUID, DOMAIN
from custom_components.ble_mesh.mesh.beacons import oob_hints
from custom_components.ble_mesh.mesh.database import MeshNetwork, Security
from custom_components.ble_mesh.mesh.provisioning import (
    Algorithm,
    InputAction,
    OutputAction,
    PduType,
    ProvisioningErrorCode,
)
from simulator.faults import DeviceFaults
from simulator.node import NodeFaults, OobCapabilities, SimulatedNode
from simulator.virtual_proxy import VirtualProxy
from tests.simulator_fixtures import AddPeripheral

from .flows import (
    STRINGS,
    FrontendDialog,
    Uploader,
    async_add_network,
    configure,
    configure_until_input_oob,
    discover,
    flow_for,
)

STATIC_16 = bytes(range(1, 17))
STATIC_32 = bytes(range(1, 33))


def _stored(hass: HomeAssistant, entry: MockConfigEntry) -> MeshNetwork:
    network: MeshNetwork = entry.runtime_data.network
    return network


@pytest.mark.parametrize(
    "algorithm",
    [Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM, Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM],
)
async def test_no_oob_needs_an_explicit_confirmation(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
    hass_storage: dict[str, Any],
    algorithm: Algorithm,
) -> None:
    node = SimulatedNode("dimmable", oob=OobCapabilities(algorithms=frozenset({algorithm})))
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    assert result["step_id"] == "method"
    assert result["description_placeholders"]["elements"] == "1"
    result = await configure(hass, flow_id, {"method": "no_oob"})
    assert result["step_id"] == "no_oob_warning"
    result = await configure(hass, flow_id, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "provisioned"

    assert node.is_provisioned
    network = _stored(hass, network_entry)
    stored = network.node_by_uuid(node.device_uuid.hex())
    assert stored is not None
    assert stored.unicast_address == node.unicast_address
    assert stored.security is Security.INSECURE  # No OOB: unauthenticated
    assert stored.device_key == node.provisioned.device_key
    assert not stored.config_complete
    # The node is a device of the network entry.
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), network_entry.entry_id)
    assert [d.name for d in devices] == [node.name]
    # The link is closed after provisioning.
    assert not virtual_proxy.is_connected(node.address)


async def test_static_oob_typed(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    node = SimulatedNode("ctl", oob=OobCapabilities(static_oob=STATIC_32))
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    assert result["step_id"] == "method"
    assert result["data_schema"]({})["method"] == "static_oob"  # the strongest is the default
    result = await configure(hass, flow_id, {"method": "static_oob"})
    assert result["step_id"] == "oob_data"
    result = await configure(hass, flow_id, {"oob_text": STATIC_32.hex()})
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "provisioned"
    stored = _stored(hass, network_entry).node_by_uuid(node.device_uuid.hex())
    assert stored is not None
    assert stored.security is Security.SECURE
    assert stored.element_count == node.profile.number_of_elements


def _text(*keys: str, **placeholders: str) -> str:
    """A text of strings.json with its placeholders filled in (a missing one raises)."""
    text: Any = STRINGS
    for key in keys:
        text = text[key]
    assert isinstance(text, str), keys
    return text.format(**placeholders)


@pytest.mark.parametrize(
    ("action", "size", "step_id", "sentence"),
    [
        (OutputAction.BLINK, 1, "output_oob_blink", "Count how many times {name} blinks (1 to 9)"),
        (OutputAction.BEEP, 2, "output_oob_beep", "Count how many times {name} beeps (1 to 99)"),
        (OutputAction.VIBRATE, 1, "output_oob_vibrate", "Count how many times {name} vibrates"),
        (OutputAction.OUTPUT_NUMERIC, 4, "output_oob_number", "Read the number {name} shows (up"),
        (OutputAction.OUTPUT_ALPHANUMERIC, 6, "output_oob_text", "Read the text {name} shows (up"),
    ],
)
async def test_output_oob(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
    action: OutputAction,
    size: int,
    step_id: str,
    sentence: str,
) -> None:
    """Each kind of output has its own step, so its sentence is a translation of its own."""
    node = SimulatedNode(
        "hsl", oob=OobCapabilities(output_actions=frozenset({action}), output_size=size)
    )
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "output_oob"})
    assert result["step_id"] == step_id
    placeholders = result["description_placeholders"]
    name = placeholders["name"]
    description = _text("config", "step", step_id, "description", **placeholders)
    assert description.startswith(sentence.format(name=name)), description
    assert ("digits" in description) is (action is OutputAction.OUTPUT_NUMERIC)
    _text("config", "step", step_id, "title", **placeholders)
    assert set(STRINGS["config"]["step"][step_id]["data"]) == {"value"}
    assert node.shown_oob_value is not None
    result = await configure(hass, flow_id, {"value": str(node.shown_oob_value)})
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "provisioned"
    assert node.is_provisioned


@pytest.mark.parametrize(
    ("action", "size", "progress_action", "sentence"),
    [
        (InputAction.PUSH, 1, "input_oob_push", "Push the button on {name} {value} times."),
        (InputAction.TWIST, 1, "input_oob_twist", "Twist {name} {value} times."),
        (InputAction.INPUT_NUMERIC, 4, "input_oob_number", "Enter **{value}** on {name}."),
        (InputAction.INPUT_ALPHANUMERIC, 6, "input_oob_text", "Enter **{value}** on {name}."),
    ],
)
async def test_input_oob(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
    action: InputAction,
    size: int,
    progress_action: str,
    sentence: str,
) -> None:
    """Each kind of input has its own progress text; the placeholders carry only values."""
    node = SimulatedNode(
        "dimmable", oob=OobCapabilities(input_actions=frozenset({action}), input_size=size)
    )
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    result = await configure_until_input_oob(hass, flow_id, {"method": "input_oob"})
    assert result["progress_action"] == progress_action
    placeholders = result["description_placeholders"]
    value = placeholders["value"]
    if action is InputAction.INPUT_ALPHANUMERIC:
        assert len(value) == size
    text = _text("config", "progress", progress_action, **placeholders)
    assert text.startswith(sentence.format(name=placeholders["name"], value=value)), text
    assert node.input_oob_request is not None
    # The person enters the value HA shows on the device.
    node.enter_input_oob(value)
    await hass.async_block_till_done()
    result = await configure(hass, flow_id)
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "provisioned"


async def test_the_last_step_asked_twice_at_once_records_the_node_once(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    """The progress ends: Home Assistant advances the flow while the frontend fetches it too.

    Both requests reach the last step together; the node is recorded once and the first gets
    the result. The second gets the same result where Home Assistant lets a step end a flow
    that ended meanwhile (2026.11), else Home Assistant's "unknown flow" (2025.4). Before, it
    failed with an internal error.
    """
    oob = OobCapabilities(input_actions=frozenset({InputAction.PUSH}), input_size=1)
    node = SimulatedNode("dimmable", oob=oob)
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    shown = await configure_until_input_oob(hass, flow_id, {"method": "input_oob"})
    node.enter_input_oob(shown["description_placeholders"]["value"])
    await hass.async_block_till_done()
    manager = hass.config_entries.flow
    first, second = await asyncio.gather(
        manager.async_configure(flow_id), manager.async_configure(flow_id), return_exceptions=True
    )
    assert not isinstance(first, BaseException), first
    assert (first["type"], first["reason"]) == (FlowResultType.ABORT, "provisioned")
    assert isinstance(second, UnknownFlow) or second == first, second
    network = _stored(hass, network_entry)
    assert [n.unicast_address for n in network.nodes if n.unicast_address != 1] == [
        node.unicast_address
    ]
    assert network.reserved_addresses() == []


@pytest.mark.parametrize("method", ["no_oob", "output_oob", "input_oob"])
async def test_dialog_never_waits_for_a_device_that_answers_at_once(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
    method: str,
) -> None:
    """The 1-in-10 stall: "Connecting" forever while the flow already waited at the method.

    The link and the device were fine: Capabilities arrived and the flow moved on before the
    frontend subscribed to hear that a progress step had ended. Whatever the device does
    without a person (connect, Capabilities, key exchange, authentication) now happens inside
    the step the person submitted; only a wait for the person is a progress step.
    """
    node = SimulatedNode(
        "dimmable",
        oob=OobCapabilities(
            output_actions=frozenset({OutputAction.BLINK}),
            output_size=1,
            input_actions=frozenset({InputAction.PUSH}),
            input_size=1,
        ),
    )
    await add_virtual_peripheral(node)
    dialog = FrontendDialog(hass, flow_for(hass, node)["flow_id"])
    result = await dialog.submit({})
    assert result["step_id"] == "method"
    if method == "no_oob":
        result = await dialog.submit({"method": "no_oob"})
        assert result["step_id"] == "no_oob_warning"
        result = await dialog.submit({})
    elif method == "output_oob":
        result = await dialog.submit({"method": "output_oob"})
        assert result["step_id"] == "output_oob_blink"
        wrong = int(node.shown_oob_value or 0) % 9 + 1
        result = await dialog.submit({"value": str(wrong)})
        assert result["step_id"] == "failed"
        result = await dialog.submit({})  # try again: connect again, new keys, same method
        assert result["step_id"] == "output_oob_blink"
        result = await dialog.submit({"value": str(node.shown_oob_value)})
    else:
        result = await dialog.submit(
            {"method": "input_oob"},
            person=lambda shown: node.enter_input_oob(shown["description_placeholders"]["value"]),
        )
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "provisioned"
    assert node.is_provisioned


def test_every_output_step_and_input_text_is_translated() -> None:
    # Computed step ids and progress actions, which the metadata test's patterns cannot see.
    strings = STRINGS["config"]
    for key in OUTPUT_ACTION_KEYS.values():
        step = strings["step"][f"output_oob_{key}"]
        assert {"title", "description", "data", "data_description"} <= set(step)
        assert callable(getattr(BleMeshConfigFlow, f"async_step_output_oob_{key}"))
    for key in INPUT_ACTION_KEYS.values():
        assert f"input_oob_{key}" in strings["progress"]
    # The words that go into placeholders (lists of capabilities and hints).
    words = STRINGS["selector"]
    assert set(OUTPUT_ACTION_KEYS.values()) | {"nothing"} == set(words["output_action"]["options"])
    assert set(INPUT_ACTION_KEYS.values()) | {"nothing"} == set(words["input_action"]["options"])
    assert set(oob_hints(0xFFFF)) | {"not_stated"} == set(words["oob_hint"]["options"])


@pytest.mark.parametrize(
    ("oob_information", "hints"),
    [(0, "the device does not say"), (0x2004, "in a QR code, on a piece of paper")],
)
async def test_oob_hints_in_words(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
    oob_information: int,
    hints: str,
) -> None:
    node = SimulatedNode("dimmable", oob_information=oob_information)
    await add_virtual_peripheral(node)
    flow = flow_for(hass, node)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["step_id"] == "bluetooth_confirm"
    assert result["description_placeholders"]["hints"] == hints
    text = _text(
        "config", "step", "bluetooth_confirm", "description", **result["description_placeholders"]
    )
    assert text.endswith(f"\nWhere to find its authentication data: {hints}"), text
    result = await configure(hass, flow["flow_id"], {})
    assert result["step_id"] == "method"
    placeholders = result["description_placeholders"]
    assert placeholders["hints"] == hints
    assert placeholders["public_key"] == "over the air"
    assert placeholders["static"] == "no"
    assert placeholders["output"] == placeholders["input"] == "nothing"
    _text("config", "step", "method", "description", **placeholders)


async def test_oob_public_key_from_qr_text(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    node = SimulatedNode("xyl", oob=OobCapabilities(public_key_oob=True, static_oob=STATIC_32))
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "static_oob"})
    assert result["step_id"] == "oob_data"
    result = await configure(hass, flow_id, {"oob_text": node.qr_text()})
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "provisioned"


async def test_first_device_creates_the_network(
    hass: HomeAssistant,
    enable_bluetooth: None,
    add_virtual_peripheral: AddPeripheral,
    hass_storage: dict[str, Any],
) -> None:
    node = SimulatedNode("onoff_plug", oob=OobCapabilities(static_oob=STATIC_16))
    await add_virtual_peripheral(node)
    flow = flow_for(hass, node)
    # No network yet: the flow offers to create one first.
    assert flow["step_id"] == "bluetooth_new_network"
    result = await configure(hass, flow["flow_id"], {"name": "Flat"})
    assert result["step_id"] == "method"
    result = await configure(hass, flow["flow_id"], {"method": "static_oob"})
    result = await configure(hass, flow["flow_id"], {"oob_text": STATIC_16.hex()})
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert result["title"] == "Flat"
    mesh_uuid = result["data"][CONF_MESH_UUID]
    network = MeshNetwork.from_json(hass_storage[f"{DOMAIN}.{mesh_uuid}"]["data"])
    stored = network.node_by_uuid(node.device_uuid.hex())
    assert stored is not None
    assert stored.security is Security.SECURE
    await hass.async_block_till_done()


async def test_proxy_advertisement_of_a_provisioned_node_is_not_offered(
    hass: HomeAssistant, network_entry: MockConfigEntry
) -> None:
    from homeassistant.helpers.service_info.bluetooth import BluetoothServiceInfo

    from custom_components.ble_mesh.mesh.proxy import MESH_PROXY_SERVICE_UUID

    info = BluetoothServiceInfo(
        name="Mesh Light",
        address="AA:BB:CC:DD:EE:02",
        rssi=-60,
        manufacturer_data={},
        service_data={MESH_PROXY_SERVICE_UUID: b"\x00" + bytes(8)},
        service_uuids=[MESH_PROXY_SERVICE_UUID],
        source="local",
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_BLUETOOTH}, data=info
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_provisioned"


async def test_malformed_provisioning_advertisement(
    hass: HomeAssistant, network_entry: MockConfigEntry
) -> None:
    from homeassistant.helpers.service_info.bluetooth import BluetoothServiceInfo

    from custom_components.ble_mesh.mesh.proxy import MESH_PROVISIONING_SERVICE_UUID

    info = BluetoothServiceInfo(
        name="Odd",
        address="AA:BB:CC:DD:EE:03",
        rssi=-60,
        manufacturer_data={},
        service_data={MESH_PROVISIONING_SERVICE_UUID: b"\x01\x02"},
        service_uuids=[MESH_PROVISIONING_SERVICE_UUID],
        source="local",
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_BLUETOOTH}, data=info
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_mesh_device"


# --- errors the user can act on ---------------------------------------------------------


async def _failed_then_retry(
    hass: HomeAssistant, proxy: VirtualProxy, flow_id: str, result: dict[str, Any], error: str
) -> dict[str, Any]:
    """The failure is shown with its translated reason and the link is closed; then retry."""
    assert result["type"] is FlowResultType.FORM, result
    assert result["step_id"] == "failed"
    assert result["errors"] == {"base": error}
    assert not proxy.connected_addresses, "the failed attempt left the link open"
    return await configure(hass, flow_id, {})


def _provisioner_public_keys(proxy: VirtualProxy, node: SimulatedNode) -> list[bytes]:
    """The Provisioning Public Key PDUs HA wrote (PB-GATT, complete SAR: 0x03 then 0x03)."""
    # Proxy PDU type 3 (provisioning, complete), Provisioning PDU type 3 (Public Key).
    return [
        record.data[2:]
        for record in proxy.stats.log
        if record.address == node.address
        and record.direction == "write"
        and record.data[:2] == b"\x03\x03"
    ]


async def test_wrong_output_value_then_retry_with_fresh_keys(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    await virtual_proxy_mtu(virtual_proxy, 185)  # the public key fits one write
    node = SimulatedNode(
        "dimmable",
        oob=OobCapabilities(output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}), output_size=6),
    )
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "output_oob"})
    shown = int(node.shown_oob_value or 0)
    result = await configure(hass, flow_id, {"value": str((shown + 1) % 1_000_000)})
    result = await _failed_then_retry(hass, virtual_proxy, flow_id, result, "confirmation_failed")
    # Nothing was stored for the failed attempt.
    assert network_entry.runtime_data.network.node_by_uuid(node.device_uuid.hex()) is None
    assert not node.is_provisioned
    # The retry is a new session with the method kept: a new key pair, and the device shows
    # a new value, asked for at once.
    assert result["step_id"] == "output_oob_number"
    result = await configure(hass, flow_id, {"value": str(node.shown_oob_value)})
    assert result["reason"] == "provisioned"
    keys = _provisioner_public_keys(virtual_proxy, node)
    assert len(keys) == 2
    assert keys[0] != keys[1]


async def virtual_proxy_mtu(proxy: VirtualProxy, mtu: int) -> None:
    proxy.mtu = mtu


async def test_malformed_output_value_is_refused_in_the_form(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    node = SimulatedNode(
        "dimmable",
        oob=OobCapabilities(output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}), output_size=2),
    )
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "output_oob"})
    result = await configure(hass, flow_id, {"value": "12345"})  # more digits than 2
    assert result["step_id"] == "output_oob_number"
    assert result["errors"] == {"base": "invalid_value"}
    result = await configure(hass, flow_id, {"value": str(node.shown_oob_value)})
    assert result["reason"] == "provisioned"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"reflect_public_key": True}, "reflected_public_key"),
        ({"off_curve_public_key": True}, "invalid_public_key"),
        ({"random_equal_to_provisioner": True}, "reflected_random"),
        ({"wrong_confirmation": True}, "confirmation_failed"),
        ({"reflect_confirmation": True}, "reflected_confirmation"),
        (
            {"fail_with": ProvisioningErrorCode.OUT_OF_RESOURCES, "fail_at": PduType.START},
            "remote_failed",
        ),
        ({"unexpected_pdu_at": PduType.START}, "unexpected_pdu"),
        ({"truncate_pdu": PduType.CONFIRMATION}, "malformed_pdu"),
    ],
)
async def test_misbehaving_device_is_refused_and_retry_succeeds(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
    fault: dict[str, Any],
    error: str,
) -> None:
    node = SimulatedNode("dimmable", oob=OobCapabilities(static_oob=STATIC_32))
    node.faults = NodeFaults(device=DeviceFaults(**fault))
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "static_oob"})
    result = await configure(hass, flow_id, {"oob_text": STATIC_32.hex()})
    node.faults = NodeFaults()  # the next attempt meets a well-behaved device
    assert network_entry.runtime_data.network.node_by_uuid(node.device_uuid.hex()) is None
    result = await _failed_then_retry(hass, virtual_proxy, flow_id, result, error)
    # The method is kept unless the device refused it; the value is asked for again only
    # when it may be what failed.
    if error == "remote_failed":
        assert result["step_id"] == "method"
        result = await configure(hass, flow_id, {"method": "static_oob"})
    if error in ("confirmation_failed", "invalid_public_key", "remote_failed"):
        assert result["step_id"] == "oob_data"
        result = await configure(hass, flow_id, {"oob_text": STATIC_32.hex()})
    assert result["reason"] == "provisioned"


async def test_link_dropped_mid_provisioning(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    node = SimulatedNode("dimmable", faults=NodeFaults(drop_link_after_pdu=3))
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "no_oob"})
    result = await configure(hass, flow_id, {})
    node.faults = NodeFaults()
    result = await _failed_then_retry(hass, virtual_proxy, flow_id, result, "connection_lost")
    # No OOB was chosen and confirmed already: the retry goes through without asking.
    assert result["reason"] == "provisioned"
    assert network_entry.runtime_data.network.node_by_uuid(node.device_uuid.hex()) is not None


async def test_retry_keeps_the_static_oob_value(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    """The link drops after the value was given: the retry neither asks for the method nor
    for the value (which was not the problem)."""
    node = SimulatedNode(
        "dimmable",
        oob=OobCapabilities(static_oob=STATIC_32),
        faults=NodeFaults(drop_link_after_pdu=4),  # at the Confirmation, after the value
    )
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "static_oob"})
    result = await configure(hass, flow_id, {"oob_text": STATIC_32.hex()})
    node.faults = NodeFaults()
    result = await _failed_then_retry(hass, virtual_proxy, flow_id, result, "connection_lost")
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "provisioned"
    stored = network_entry.runtime_data.network.node_by_uuid(node.device_uuid.hex())
    assert stored is not None
    assert stored.security is Security.SECURE


def test_failed_step_names_its_button() -> None:
    """The failed step's text tells to press the button by the label the button has."""
    step = STRINGS["config"]["step"]["failed"]
    assert step["submit"] in step["description"]
    assert "Submit" not in step["description"]


async def test_device_stops_answering_times_out(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    node = SimulatedNode("dimmable")
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    node.faults = NodeFaults(stop_answering=True)
    result = await hass.config_entries.flow.async_configure(flow_id, {"method": "no_oob"})
    # The confirmation starts the key exchange; the submit waits for the silent device.
    submit = asyncio.ensure_future(hass.config_entries.flow.async_configure(flow_id, {}))
    await hass.async_block_till_done()
    assert not submit.done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await hass.async_block_till_done()
    result = await submit
    assert result["step_id"] == "failed"
    assert result["errors"] == {"base": "timeout"}


async def test_closing_the_dialog_while_the_device_is_silent(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    """Closed while a submitted step still waits for the device: the link closes, the
    address range is released and the pending submit learns that the flow is gone."""
    node = SimulatedNode("dimmable")
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    await configure(hass, flow_id, {"method": "no_oob"})
    node.faults = NodeFaults(stop_answering=True)
    submit = asyncio.ensure_future(hass.config_entries.flow.async_configure(flow_id, {}))
    await hass.async_block_till_done()
    assert virtual_proxy.is_connected(node.address)
    assert network_entry.runtime_data.network.reserved_addresses() == [(0x0002, 0x0002)]
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()
    with pytest.raises(UnknownFlow):
        await submit
    assert not virtual_proxy.connected_addresses
    assert network_entry.runtime_data.network.reserved_addresses() == []


async def test_unreachable_device(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
    no_connect_backoff: None,
) -> None:
    node = SimulatedNode("dimmable")
    await add_virtual_peripheral(node)
    flow = flow_for(hass, node)
    virtual_proxy.fail_next_connects(10, address=node.address)
    result = await configure(hass, flow["flow_id"], {})
    assert result["step_id"] == "failed"
    assert result["errors"] == {"base": "cannot_connect"}
    virtual_proxy.clear_connect_failures()
    result = await configure(hass, flow["flow_id"], {})
    assert result["step_id"] == "method"


async def test_closing_the_dialog_closes_the_link(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    node = SimulatedNode(
        "dimmable",
        oob=OobCapabilities(output_actions=frozenset({OutputAction.BLINK}), output_size=3),
    )
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "output_oob"})
    assert result["step_id"] == "output_oob_blink"
    assert virtual_proxy.is_connected(node.address)
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()
    assert not virtual_proxy.is_connected(node.address)
    assert network_entry.runtime_data.network.node_by_uuid(node.device_uuid.hex()) is None
    assert not node.is_provisioned


def _qr_png(text: str) -> bytes:
    """A PNG of the QR code of ``text`` (what a photo of the device's label gives)."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=4)
    return buffer.getvalue()


async def test_qr_code_image_upload(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
    upload: Uploader,
) -> None:
    node = SimulatedNode(
        "hsl",
        oob=OobCapabilities(
            public_key_oob=True,
            output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}),
            output_size=4,
        ),
    )
    file_id = await upload(_qr_png(node.qr_text()))
    assert file_id

    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    assert result["description_placeholders"]["public_key"] == "from its QR code (out of band)"
    result = await configure(hass, flow_id, {"method": "output_oob"})
    # A device with an OOB public key is asked for its QR code (optional) before the method.
    assert result["step_id"] == "public_key"
    result = await configure(hass, flow_id, {"qr_image": file_id})
    assert result["step_id"] == "output_oob_number", result
    result = await configure(hass, flow_id, {"value": str(node.shown_oob_value)})
    assert result["reason"] == "provisioned"
    # With the key from the QR code, the device never sent its public key over the air.
    device_public_keys = [
        r
        for r in virtual_proxy.stats.log
        if r.direction == "notify" and r.address == node.address and r.data[1:2] == b"\x03"
    ]
    assert device_public_keys == []


async def test_qr_image_without_a_code(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
    upload: Uploader,
) -> None:
    import io

    from PIL import Image

    blank = io.BytesIO()
    Image.new("L", (64, 64), 255).save(blank, format="PNG")
    node = SimulatedNode("dimmable", oob=OobCapabilities(static_oob=STATIC_32))
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "static_oob"})
    blank_id = await upload(blank.getvalue())
    result = await configure(hass, flow_id, {"qr_image": blank_id})
    assert result["errors"] == {"base": "no_qr_code"}
    # The form keeps the file after the error: submitted again, it says the same (Home
    # Assistant deleted the upload when it was read).
    result = await configure(hass, flow_id, {"qr_image": blank_id})
    assert result["errors"] == {"base": "no_qr_code"}
    result = await configure(hass, flow_id, {"qr_image": await upload(b"not an image")})
    assert result["errors"] == {"base": "invalid_image"}
    result = await configure(hass, flow_id, {"oob_text": STATIC_32.hex()})
    assert result["reason"] == "provisioned"


async def test_a_photo_of_another_device_is_refused_each_time_it_is_submitted(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
    upload: Uploader,
) -> None:
    node = SimulatedNode("dimmable", oob=OobCapabilities(static_oob=STATIC_32))
    other = SimulatedNode("dimmable", oob=OobCapabilities(static_oob=STATIC_32))
    file_id = await upload(_qr_png(other.qr_text()))
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    await configure(hass, flow_id, {"method": "static_oob"})
    for _ in range(2):  # the field still holds the photo after the first error
        result = await configure(hass, flow_id, {"qr_image": file_id})
        assert result["errors"] == {"base": "wrong_device"}
    result = await configure(hass, flow_id, {"oob_text": node.qr_text()})
    assert result["reason"] == "provisioned"


async def test_wrong_qr_code_is_refused(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    node = SimulatedNode("dimmable", oob=OobCapabilities(static_oob=STATIC_32))
    other = SimulatedNode("dimmable", oob=OobCapabilities(static_oob=STATIC_32))
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "static_oob"})
    result = await configure(hass, flow_id, {"oob_text": other.qr_text()})
    assert result["errors"] == {"base": "wrong_device"}
    result = await configure(hass, flow_id, {"oob_text": "UUID:zz"})
    assert result["errors"] == {"base": "invalid_oob_data"}
    result = await configure(hass, flow_id, {"oob_text": ""})
    assert result["errors"] == {"base": "static_oob_required"}
    result = await configure(hass, flow_id, {"oob_text": node.qr_text()})
    assert result["reason"] == "provisioned"


@pytest.mark.parametrize("algorithm", list(Algorithm))
@pytest.mark.parametrize("public_key_oob", [False, True])
@pytest.mark.parametrize(
    "action",
    [*OutputAction, *InputAction],
    ids=lambda a: a.name.lower(),
)
async def test_every_action_both_algorithms(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
    algorithm: Algorithm,
    public_key_oob: bool,
    action: OutputAction | InputAction,
) -> None:
    output = isinstance(action, OutputAction)
    oob = OobCapabilities(
        algorithms=frozenset({algorithm}),
        public_key_oob=public_key_oob,
        output_actions=frozenset({action}) if output else frozenset(),
        output_size=4 if output else 0,
        input_actions=frozenset() if output else frozenset({action}),
        input_size=0 if output else 4,
    )
    node = SimulatedNode("ctl", oob=oob)
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    method = "output_oob" if output else "input_oob"
    submit = configure if output else configure_until_input_oob
    result = await submit(hass, flow_id, {"method": method})
    if public_key_oob:
        assert result["step_id"] == "public_key"
        result = await submit(hass, flow_id, {"oob_text": node.qr_text()})
    if output:
        assert isinstance(action, OutputAction)
        assert result["step_id"] == f"output_oob_{OUTPUT_ACTION_KEYS[action]}"
        result = await configure(hass, flow_id, {"value": str(node.shown_oob_value)})
    else:
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        assert result["progress_action"].startswith("input_oob_")
        node.enter_input_oob(result["description_placeholders"]["value"])
        await hass.async_block_till_done()
        result = await configure(hass, flow_id)
    assert result["reason"] == "provisioned", result
    stored = network_entry.runtime_data.network.node_by_uuid(node.device_uuid.hex())
    assert stored is not None
    assert stored.security is Security.SECURE
    assert stored.device_key == node.provisioned.device_key


async def test_device_already_in_the_network_is_not_offered_as_new(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    node = SimulatedNode("dimmable")
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    await configure(hass, flow_id, {"method": "no_oob"})
    result = await configure(hass, flow_id, {})
    assert result["reason"] == "provisioned"
    # The same device UUID shows up unprovisioned again (at another address, only the
    # provisioning service): never as a new device; only to be added again in place of its
    # node (it was reset by hand: tests/integration/test_offers.py).
    twin = SimulatedNode("dimmable", device_uuid=node.device_uuid, address="02:11:22:33:44:55")
    await add_virtual_peripheral(twin)
    offers = [
        f
        for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if f["context"].get("unique_id") == node.device_uuid.hex()
    ]
    assert [f["step_id"] for f in offers] == ["bluetooth_readd"]


async def test_choose_among_several_networks(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    add_virtual_peripheral: AddPeripheral,
) -> None:
    garden = await async_add_network(hass, hass_storage, "Garden")
    node = SimulatedNode("dimmable")
    await add_virtual_peripheral(node)
    flow = flow_for(hass, node)
    result = await configure(hass, flow["flow_id"], {"network": garden.entry_id})
    assert result["step_id"] == "method"
    await configure(hass, flow["flow_id"], {"method": "no_oob"})
    result = await configure(hass, flow["flow_id"], {})
    assert result["reason"] == "provisioned"
    assert garden.runtime_data.network.node_by_uuid(node.device_uuid.hex()) is not None
    assert network_entry.runtime_data.network.node_by_uuid(node.device_uuid.hex()) is None


async def test_device_with_no_acceptable_method(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    # "Only OOB authenticated provisioning" but no OOB method: nothing is acceptable.
    node = SimulatedNode("dimmable", oob=OobCapabilities(only_oob_authenticated=True))
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    assert result["step_id"] == "failed"
    assert result["errors"] == {"base": "no_acceptable_method"}
    assert not virtual_proxy.connected_addresses


async def test_oob_value_that_does_not_fit_the_algorithm(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    # A CMAC-only device takes a 16-octet static value: 32 octets cannot be used.
    node = SimulatedNode(
        "dimmable",
        oob=OobCapabilities(
            algorithms=frozenset({Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM}),
            static_oob=STATIC_16,
        ),
    )
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "static_oob"})
    result = await configure(hass, flow_id, {"oob_text": STATIC_32.hex()})
    result = await _failed_then_retry(hass, virtual_proxy, flow_id, result, "invalid_oob_data")
    # The method is kept, the value that did not fit is asked for again.
    assert result["step_id"] == "oob_data"
    result = await configure(hass, flow_id, {"oob_text": STATIC_16.hex()})
    assert result["reason"] == "provisioned"


async def test_no_free_unicast_address(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    network = network_entry.runtime_data.network
    provisioner = network.local_provisioner
    assert provisioner is not None
    # Shrink our range to our own node's address: nothing is left for a device.
    provisioner.unicast_ranges[0].high = provisioner.unicast_ranges[0].low
    node = SimulatedNode("dimmable")
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "no_oob"})
    result = await configure(hass, flow_id, {})
    assert result["step_id"] == "failed"
    assert result["errors"] == {"base": "no_free_address"}
    assert not virtual_proxy.connected_addresses


async def test_closing_the_dialog_while_waiting_for_input(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    node = SimulatedNode(
        "dimmable",
        oob=OobCapabilities(input_actions=frozenset({InputAction.PUSH}), input_size=1),
    )
    flow_id, _ = await discover(hass, add_virtual_peripheral, node)
    result = await configure_until_input_oob(hass, flow_id, {"method": "input_oob"})
    assert result["progress_action"] == "input_oob_push"
    assert virtual_proxy.is_connected(node.address)
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()
    assert not virtual_proxy.connected_addresses
    assert not node.is_provisioned


async def test_qr_image_upload_unavailable_without_zbar(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without libzbar (a bare HA Core venv) the flow still works with text and says why."""
    import sys

    from custom_components.ble_mesh import qr_image

    qr_image._decoder.cache_clear()
    monkeypatch.setitem(sys.modules, "pyzbar", None)  # import fails like a missing libzbar
    try:
        node = SimulatedNode("dimmable", oob=OobCapabilities(static_oob=STATIC_32))
        flow_id, _ = await discover(hass, add_virtual_peripheral, node)
        result = await configure(hass, flow_id, {"method": "static_oob"})
        assert result["step_id"] == "oob_data"
        assert "qr_image" not in {str(key) for key in result["data_schema"].schema}
        assert result["description_placeholders"]["image_note"]  # says why
        with pytest.raises(qr_image.QrImageError, match="qr_image_unavailable"):
            qr_image.decode_image(b"")
        result = await configure(hass, flow_id, {"oob_text": STATIC_32.hex()})
        assert result["reason"] == "provisioned"
    finally:
        qr_image._decoder.cache_clear()
