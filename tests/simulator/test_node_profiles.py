"""Every profile advertises correctly and reports its elements."""

from __future__ import annotations

import pytest

from custom_components.ble_mesh.mesh.beacons import (
    MeshProvisioningServiceData,
    OobInformation,
    parse_ad_structures,
)
from custom_components.ble_mesh.mesh.models.composition import CompositionDataPage0
from custom_components.ble_mesh.mesh.provisioning import ProvisioningStart
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROVISIONING_DATA_IN_UUID,
    MESH_PROVISIONING_DATA_OUT_UUID,
    MESH_PROVISIONING_SERVICE_UUID,
)
from simulator.node import OobCapabilities, SimulatedNode
from simulator.profiles import PROFILES, Profile, get_profile

from .harness import provision

PROFILE_KEYS = sorted(PROFILES)

EXPECTED_ELEMENTS = {
    "onoff_plug": 1,
    "dimmable": 1,
    "ctl": 2,
    "hsl": 3,
    "xyl": 1,
    "two_element": 2,
    "smart_plug": 1,
    "multi_sensor": 1,
    "wall_switch": 1,
}


@pytest.mark.parametrize("key", PROFILE_KEYS)
def test_unprovisioned_advertisement(key: str) -> None:
    node = SimulatedNode(key)
    adv = node.advertisement()
    assert adv is not None
    assert list(adv.service_uuids) == [MESH_PROVISIONING_SERVICE_UUID]
    raw = adv.service_data[MESH_PROVISIONING_SERVICE_UUID]
    data = MeshProvisioningServiceData.from_bytes(raw)  # big-endian OOB Information
    assert data.device_uuid == node.device_uuid
    assert data.oob_information == OobInformation(0)
    assert node.name == PROFILES[key].name
    (service,) = node.gatt_services()
    assert service.uuid == MESH_PROVISIONING_SERVICE_UUID
    chars = {c.uuid: list(c.properties) for c in service.characteristics}
    assert chars == {
        MESH_PROVISIONING_DATA_IN_UUID: ["write-without-response"],
        MESH_PROVISIONING_DATA_OUT_UUID: ["notify"],
    }


@pytest.mark.parametrize("key", PROFILE_KEYS)
def test_capabilities_report_the_elements(key: str) -> None:
    node = SimulatedNode(key)
    assert node.capabilities.number_of_elements == EXPECTED_ELEMENTS[key]
    run = provision(node, choice=ProvisioningStart())
    assert run.result is not None
    assert run.result.number_of_elements == EXPECTED_ELEMENTS[key]


@pytest.mark.parametrize("key", PROFILE_KEYS)
def test_composition_data_parses_with_the_engine(key: str) -> None:
    profile = PROFILES[key]
    page = CompositionDataPage0.from_bytes(profile.composition_data_page0())
    assert page.cid == profile.company_id
    assert page.pid == profile.product_id
    assert page.vid == profile.version_id
    assert page.proxy
    assert [e.sig_models for e in page.elements] == [e.models for e in profile.elements]
    primary = page.elements[0].sig_models
    assert primary[:2] == (0x0000, 0x0002)  # Configuration and Health Servers


def test_model_layouts_follow_the_model_specification() -> None:
    ctl, hsl, xyl = PROFILES["ctl"], PROFILES["hsl"], PROFILES["xyl"]
    assert {0x1303, 0x1304, 0x1300, 0x1301}.issubset(ctl.models_of(0))
    assert ctl.models_of(1) == (0x1002, 0x1306)
    assert {0x1307, 0x1308}.issubset(hsl.models_of(0))
    assert hsl.models_of(1) == (0x1002, 0x130A)
    assert hsl.models_of(2) == (0x1002, 0x130B)
    assert {0x130C, 0x130D}.issubset(xyl.models_of(0))
    plug = PROFILES["onoff_plug"]
    assert 0x1300 not in plug.models_of(0)
    assert {0x1000, 0x1004, 0x1006, 0x1007, 0x1203, 0x1204}.issubset(plug.models_of(0))
    twin = PROFILES["two_element"]
    for index in (0, 1):
        assert 0x1000 in twin.models_of(index)
        assert 0x1300 in twin.models_of(index)


def test_oob_information_hint_and_byte_order() -> None:
    node = SimulatedNode("dimmable", oob=OobCapabilities(public_key_oob=True))
    adv = node.advertisement()
    assert adv is not None
    raw = adv.service_data[MESH_PROVISIONING_SERVICE_UUID]
    expected = OobInformation.MACHINE_READABLE_CODE_2D | OobInformation.ON_DEVICE
    assert int.from_bytes(raw[16:18], "big") == expected
    explicit = SimulatedNode("dimmable", oob_information=OobInformation.NUMBER)
    adv = explicit.advertisement()
    assert adv is not None
    ad = MeshProvisioningServiceData(explicit.device_uuid, OobInformation.NUMBER).to_ad_structure()
    ((_, payload),) = parse_ad_structures(ad)
    assert payload[2:] == adv.service_data[MESH_PROVISIONING_SERVICE_UUID]


def test_address_is_stable_and_static_random() -> None:
    uuid_ = bytes(range(16))
    a, b = SimulatedNode(device_uuid=uuid_), SimulatedNode(device_uuid=uuid_)
    assert a.address == b.address
    assert int(a.address[:2], 16) & 0xC0 == 0xC0
    assert SimulatedNode(address="aa:bb:cc:dd:ee:ff").address == "AA:BB:CC:DD:EE:FF"


def test_get_profile() -> None:
    assert get_profile("hsl") is PROFILES["hsl"]
    custom = Profile("custom", "Custom", 1, 2, 3, PROFILES["dimmable"].elements)
    assert get_profile(custom) is custom
    with pytest.raises(KeyError):
        get_profile("nope")
