"""Config flow: creating a network by hand and from a discovered mesh device."""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.bluetooth import BluetoothServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.const import (
    CONF_MESH_UUID,
    DOMAIN,
    MESH_PROVISIONING_SERVICE_UUID,
)

UNPROVISIONED = BluetoothServiceInfo(
    name="Mesh Light",
    address="AA:BB:CC:DD:EE:01",
    rssi=-60,
    manufacturer_data={},
    service_data={MESH_PROVISIONING_SERVICE_UUID: bytes(16) + b"\x00\x00"},
    service_uuids=[MESH_PROVISIONING_SERVICE_UUID],
    source="local",
)


async def test_user_creates_network(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "  Living room  "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Living room"
    mesh_uuid = result["data"][CONF_MESH_UUID]
    assert len(mesh_uuid) == 32
    assert result["result"].unique_id == mesh_uuid


async def test_blank_name_gets_default(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_NAME: " "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home mesh"


async def test_discovery_offers_to_create_the_first_network(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_BLUETOOTH}, data=UNPROVISIONED
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "bluetooth_confirm"
    assert result["description_placeholders"] == {"name": "Mesh Light"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Home mesh"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The entry is the network, identified by its mesh UUID, not by the device's address.
    assert result["result"].unique_id == result["data"][CONF_MESH_UUID]


async def test_discovery_with_a_network_is_not_offered_twice(hass: HomeAssistant) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id="ab" * 16, data={CONF_MESH_UUID: "ab" * 16}
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_BLUETOOTH}, data=UNPROVISIONED
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "provisioning_unavailable"
