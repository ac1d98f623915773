"""A provisioned node as proxy server, Configuration Server and light, driven by the engine's
client-side classes (MeshStack, proxy configuration, model messages)."""

from __future__ import annotations

import pytest

from custom_components.ble_mesh.mesh.beacons import (
    MeshProvisioningServiceData,
    SecureNetworkBeacon,
)
from custom_components.ble_mesh.mesh.errors import MeshError
from custom_components.ble_mesh.mesh.models import (
    config as cfg,
    generic as gen,
    health as hl,
    lighting as li,
    scenes as sc,
)
from custom_components.ble_mesh.mesh.models.common import (
    ModelId,
    PublishPeriod,
    Retransmit,
    TransitionTime,
)
from custom_components.ble_mesh.mesh.models.composition import CompositionDataPage0
from custom_components.ble_mesh.mesh.network import KeyRefreshPhase
from custom_components.ble_mesh.mesh.provisioning import ProvisioningStart
from custom_components.ble_mesh.mesh.proxy import MESH_PROVISIONING_SERVICE_UUID
from custom_components.ble_mesh.mesh.proxy_config import (
    AddAddresses,
    FilterType,
    RemoveAddresses,
    SetFilterType,
)
from simulator.node import NodeFaults, SimulatedNode
from simulator.profiles import PROFILES

from .harness import IV_INDEX, NET_KEY, NET_KEY_INDEX, UNICAST, FakeClock, provision
from .proxy_client import APP_KEY, APP_KEY_INDEX, CLIENT_ADDRESS, ProxyClient

GROUP = 0xC001


def _provisioned(
    profile: str = "dimmable", *, scheduler: bool = False
) -> tuple[SimulatedNode, bytes, FakeClock]:
    clock = FakeClock()
    node = SimulatedNode(profile, clock=clock, schedule=clock.schedule if scheduler else None)
    run = provision(node, choice=ProvisioningStart(), clock=clock)
    assert run.result is not None
    return node, run.result.device_key, clock


def _configure(client: ProxyClient, *, publish_to: int | None = CLIENT_ADDRESS) -> None:
    """AppKey Add, bind every model to it, publish the light servers' statuses."""
    node = client.node
    status = client.config(
        cfg.ConfigAppKeyAdd(NET_KEY_INDEX, APP_KEY_INDEX, APP_KEY), cfg.ConfigAppKeyStatus
    )
    assert status.status is cfg.ConfigStatus.SUCCESS
    for index, element in enumerate(node.profile.elements):
        address = UNICAST + index
        for model in element.models:
            if model == 0x0000:
                continue
            bound = client.config(
                cfg.ConfigModelAppBind(address, APP_KEY_INDEX, ModelId(model)),
                cfg.ConfigModelAppStatus,
            )
            assert bound.status is cfg.ConfigStatus.SUCCESS, hex(model)
            if publish_to is not None and model in (
                0x1000,
                0x1002,
                0x1300,
                0x1303,
                0x1306,
                0x1307,
                0x130A,
                0x130B,
                0x130C,
            ):
                pub = client.config(
                    cfg.ConfigModelPublicationSet(
                        address,
                        publish_to,
                        APP_KEY_INDEX,
                        False,
                        0xFF,
                        PublishPeriod(0),
                        Retransmit(0, 0),
                        ModelId(model),
                    ),
                    cfg.ConfigModelPublicationStatus,
                )
                assert pub.status is cfg.ConfigStatus.SUCCESS
    client.clear()


def _connect(
    profile: str = "dimmable", *, scheduler: bool = False, configure: bool = True, mtu: int = 23
) -> ProxyClient:
    node, device_key, clock = _provisioned(profile, scheduler=scheduler)
    client = ProxyClient(node, device_key, clock, mtu=mtu)
    if configure:
        _configure(client)
    return client


def test_secure_network_beacon_on_connect() -> None:
    client = _connect(configure=False)
    (raw,) = client.beacons
    beacon = SecureNetworkBeacon.from_bytes(raw)
    info = beacon.authenticate(NET_KEY)
    assert info.iv_index == IV_INDEX
    assert not info.iv_update


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_composition_data(profile: str) -> None:
    client = _connect(profile, configure=False)
    status = client.config(cfg.ConfigCompositionDataGet(0), cfg.ConfigCompositionDataStatus)
    page = CompositionDataPage0.from_bytes(status.data)
    assert [e.sig_models for e in page.elements] == [e.models for e in PROFILES[profile].elements]
    assert page.proxy


def test_app_keys_and_bindings() -> None:
    client = _connect(configure=False)
    ok = client.config(
        cfg.ConfigAppKeyAdd(NET_KEY_INDEX, APP_KEY_INDEX, APP_KEY), cfg.ConfigAppKeyStatus
    )
    assert ok.status is cfg.ConfigStatus.SUCCESS
    again = client.config(
        cfg.ConfigAppKeyAdd(NET_KEY_INDEX, APP_KEY_INDEX, bytes(16)), cfg.ConfigAppKeyStatus
    )
    assert again.status is cfg.ConfigStatus.KEY_INDEX_ALREADY_STORED
    bad_net = client.config(cfg.ConfigAppKeyAdd(5, 1, bytes(16)), cfg.ConfigAppKeyStatus)
    assert bad_net.status is cfg.ConfigStatus.INVALID_NETKEY_INDEX
    listing = client.config(cfg.ConfigAppKeyGet(NET_KEY_INDEX), cfg.ConfigAppKeyList)
    assert listing.app_key_indexes == (APP_KEY_INDEX,)
    onoff = ModelId(0x1000)
    bind = client.config(
        cfg.ConfigModelAppBind(UNICAST, APP_KEY_INDEX, onoff), cfg.ConfigModelAppStatus
    )
    assert bind.status is cfg.ConfigStatus.SUCCESS
    wrong_model = client.config(
        cfg.ConfigModelAppBind(UNICAST, APP_KEY_INDEX, ModelId(0x1307)), cfg.ConfigModelAppStatus
    )
    assert wrong_model.status is cfg.ConfigStatus.INVALID_MODEL
    wrong_key = client.config(cfg.ConfigModelAppBind(UNICAST, 7, onoff), cfg.ConfigModelAppStatus)
    assert wrong_key.status is cfg.ConfigStatus.INVALID_APPKEY_INDEX
    wrong_element = client.config(
        cfg.ConfigModelAppBind(UNICAST + 5, APP_KEY_INDEX, onoff), cfg.ConfigModelAppStatus
    )
    assert wrong_element.status is cfg.ConfigStatus.INVALID_ADDRESS
    bound = client.config(cfg.ConfigSigModelAppGet(UNICAST, onoff), cfg.ConfigSigModelAppList)
    assert bound.app_key_indexes == (APP_KEY_INDEX,)
    # The bound model answers; an unbound one (Lightness) ignores the AppKey.
    status = client.request(UNICAST, gen.GenericOnOffGet(), gen.GenericOnOffStatus)
    assert status.present_on is False
    client.send(UNICAST, li.LightLightnessGet())
    assert client.messages_of(li.LightLightnessStatus) == []
    unbind = client.config(
        cfg.ConfigModelAppUnbind(UNICAST, APP_KEY_INDEX, onoff), cfg.ConfigModelAppStatus
    )
    assert unbind.status is cfg.ConfigStatus.SUCCESS
    client.clear()
    client.send(UNICAST, gen.GenericOnOffGet())
    assert client.messages_of(gen.GenericOnOffStatus) == []
    delete = client.config(
        cfg.ConfigAppKeyDelete(NET_KEY_INDEX, APP_KEY_INDEX), cfg.ConfigAppKeyStatus
    )
    assert delete.status is cfg.ConfigStatus.SUCCESS
    listing = client.config(cfg.ConfigAppKeyGet(NET_KEY_INDEX), cfg.ConfigAppKeyList)
    assert listing.app_key_indexes == ()


def test_onoff_and_lightness_are_bound_and_published() -> None:
    client = _connect()
    node = client.node
    status = client.request(UNICAST, gen.GenericOnOffSet(True, 1), gen.GenericOnOffStatus)
    assert status.present_on is True
    assert node.lights[0].lightness == 0xFFFF  # Last defaults to full
    published = [r for r in client.received if r.dst == CLIENT_ADDRESS]
    kinds = {type(r.message) for r in published}
    assert {gen.GenericOnOffStatus, gen.GenericLevelStatus, li.LightLightnessStatus} <= kinds
    client.clear()
    lightness = client.request(UNICAST, li.LightLightnessSet(0x4000, 2), li.LightLightnessStatus)
    assert lightness.present_lightness == 0x4000
    level = client.request(UNICAST, gen.GenericLevelGet(), gen.GenericLevelStatus)
    assert level.present_level == 0x4000 - 0x8000
    linear = client.request(UNICAST, li.LightLightnessLinearGet(), li.LightLightnessLinearStatus)
    assert linear.present_lightness == li.lightness_actual_to_linear(0x4000)
    off = client.request(UNICAST, gen.GenericOnOffSet(False, 3), gen.GenericOnOffStatus)
    assert off.present_on is False
    assert node.lights[0].lightness == 0
    on = client.request(UNICAST, gen.GenericOnOffSet(True, 4), gen.GenericOnOffStatus)
    assert on.present_on is True
    assert node.lights[0].lightness == 0x4000  # Light Lightness Last restored
    last = client.request(UNICAST, li.LightLightnessLastGet(), li.LightLightnessLastStatus)
    assert last.lightness == 0x4000
    level_set = client.request(UNICAST, gen.GenericLevelSet(0, 5), gen.GenericLevelStatus)
    assert level_set.present_level == 0
    assert node.lights[0].lightness == 0x8000
    delta = client.request(UNICAST, gen.GenericDeltaSet(-0x1000, 6), gen.GenericLevelStatus)
    assert delta.present_level == -0x1000


def test_repeated_tid_is_one_transaction() -> None:
    client = _connect()
    client.request(UNICAST, li.LightLightnessSet(0x1000, 9), li.LightLightnessStatus)
    client.request(UNICAST, gen.GenericDeltaSet(0x100, 10), gen.GenericLevelStatus)
    again = client.request(UNICAST, gen.GenericDeltaSet(0x100, 10), gen.GenericLevelStatus)
    assert again.present_level == 0x1100 - 0x8000  # applied once


def test_lightness_range_and_default() -> None:
    client = _connect()
    rng = client.request(
        UNICAST, li.LightLightnessRangeSet(0x1000, 0x8000), li.LightLightnessRangeStatus
    )
    assert (rng.range_min, rng.range_max) == (0x1000, 0x8000)
    high = client.request(UNICAST, li.LightLightnessSet(0xF000, 1), li.LightLightnessStatus)
    assert high.present_lightness == 0x8000
    default = client.request(
        UNICAST, li.LightLightnessDefaultSet(0x2000), li.LightLightnessDefaultStatus
    )
    assert default.lightness == 0x2000
    client.request(UNICAST, gen.GenericOnOffSet(False, 2), gen.GenericOnOffStatus)
    client.request(UNICAST, gen.GenericOnOffSet(True, 3), gen.GenericOnOffStatus)
    assert client.node.lights[0].lightness == 0x2000


def test_ctl_light() -> None:
    client = _connect("ctl")
    status = client.request(UNICAST, li.LightCtlSet(0x8000, 3000, 0, 1), li.LightCtlStatus)
    assert (status.present_lightness, status.present_temperature) == (0x8000, 3000)
    temperature = client.request(
        UNICAST + 1, li.LightCtlTemperatureGet(), li.LightCtlTemperatureStatus
    )
    assert temperature.present_temperature == 3000
    level = client.request(UNICAST + 1, gen.GenericLevelGet(), gen.GenericLevelStatus)
    assert level.present_level == li.temperature_to_level(3000, 2700, 6500)
    client.request(UNICAST + 1, gen.GenericLevelSet(0x7FFF, 2), gen.GenericLevelStatus)
    assert client.node.lights[0].temperature == 6500  # the top of the bulb's range
    assert client.node.lights[0].lightness == 0x8000  # the temperature level leaves lightness
    rng = client.request(
        UNICAST, li.LightCtlTemperatureRangeSet(3000, 5000), li.LightCtlTemperatureRangeStatus
    )
    assert rng.status is li.RangeStatus.SUCCESS
    clamped = client.request(
        UNICAST + 1, li.LightCtlTemperatureSet(10000, 0, 3), li.LightCtlTemperatureStatus
    )
    assert clamped.present_temperature == 5000
    published = {type(r.message) for r in client.received if r.dst == CLIENT_ADDRESS}
    assert li.LightCtlTemperatureStatus in published


def test_ctl_light_has_a_realistic_range() -> None:
    """Warm to daylight white from the factory, not the spec's 800-20000 K (a mostly blue
    slider in Home Assistant)."""
    client = _connect("ctl")
    rng = client.request(
        UNICAST, li.LightCtlTemperatureRangeGet(), li.LightCtlTemperatureRangeStatus
    )
    assert (rng.range_min, rng.range_max) == (2700, 6500)
    low = client.request(
        UNICAST + 1, li.LightCtlTemperatureSet(800, 0, 4), li.LightCtlTemperatureStatus
    )
    assert low.present_temperature == 2700


def test_hsl_light() -> None:
    client = _connect("hsl")
    status = client.request(UNICAST, li.LightHslSet(0x6000, 0x1000, 0x2000, 1), li.LightHslStatus)
    assert (status.lightness, status.hue, status.saturation) == (0x6000, 0x1000, 0x2000)
    hue = client.request(UNICAST + 1, li.LightHslHueSet(0x4000, 2), li.LightHslHueStatus)
    assert hue.present_hue == 0x4000
    client.request(UNICAST + 2, gen.GenericLevelSet(0, 3), gen.GenericLevelStatus)
    sat = client.request(UNICAST + 2, li.LightHslSaturationGet(), li.LightHslSaturationStatus)
    assert sat.present_saturation == 0x8000
    lightness = client.request(UNICAST, li.LightLightnessGet(), li.LightLightnessStatus)
    assert lightness.present_lightness == 0x6000
    hsl = client.request(UNICAST, li.LightHslGet(), li.LightHslStatus)
    assert (hsl.hue, hsl.saturation) == (0x4000, 0x8000)


def test_xyl_light() -> None:
    client = _connect("xyl")
    status = client.request(UNICAST, li.LightXylSet(0x7000, 0x3000, 0x4000, 1), li.LightXylStatus)
    assert (status.lightness, status.x, status.y) == (0x7000, 0x3000, 0x4000)
    onoff = client.request(UNICAST, gen.GenericOnOffGet(), gen.GenericOnOffStatus)
    assert onoff.present_on is True


def test_onoff_plug() -> None:
    client = _connect("onoff_plug")
    status = client.request(UNICAST, gen.GenericOnOffSet(True, 1), gen.GenericOnOffStatus)
    assert status.present_on is True
    assert client.node.lights[0].on == 1
    published = client.messages_of(gen.GenericOnOffStatus)
    assert len(published) == 2  # the reply and the publication


def test_two_element_fixture_lights_are_independent() -> None:
    client = _connect("two_element")
    client.request(UNICAST, li.LightLightnessSet(0x1000, 1), li.LightLightnessStatus)
    client.request(UNICAST + 1, li.LightLightnessSet(0x9000, 2), li.LightLightnessStatus)
    first, second = client.node.lights
    assert first.lightness == 0x1000
    assert second.lightness == 0x9000


def test_group_subscription() -> None:
    client = _connect("two_element")
    for element in (UNICAST, UNICAST + 1):
        sub = client.config(
            cfg.ConfigModelSubscriptionAdd(element, GROUP, ModelId(0x1000)),
            cfg.ConfigModelSubscriptionStatus,
        )
        assert sub.status is cfg.ConfigStatus.SUCCESS
    listing = client.config(
        cfg.ConfigSigModelSubscriptionGet(UNICAST, ModelId(0x1000)),
        cfg.ConfigSigModelSubscriptionList,
    )
    assert listing.addresses == (GROUP,)
    client.send(GROUP, gen.GenericOnOffSetUnacknowledged(True, 1))
    assert [light.on for light in client.node.lights] == [1, 1]
    unicast_sub = client.config(
        cfg.ConfigModelSubscriptionAdd(UNICAST, 0x0005, ModelId(0x1000)),
        cfg.ConfigModelSubscriptionStatus,
    )
    assert unicast_sub.status is cfg.ConfigStatus.INVALID_ADDRESS
    overwrite = client.config(
        cfg.ConfigModelSubscriptionOverwrite(UNICAST + 1, 0xC002, ModelId(0x1000)),
        cfg.ConfigModelSubscriptionStatus,
    )
    assert overwrite.status is cfg.ConfigStatus.SUCCESS
    client.send(GROUP, gen.GenericOnOffSetUnacknowledged(False, 2))
    assert [light.on for light in client.node.lights] == [0, 1]
    delete = client.config(
        cfg.ConfigModelSubscriptionDelete(UNICAST, GROUP, ModelId(0x1000)),
        cfg.ConfigModelSubscriptionStatus,
    )
    assert delete.status is cfg.ConfigStatus.SUCCESS
    client.send(GROUP, gen.GenericOnOffSetUnacknowledged(True, 3))
    assert [light.on for light in client.node.lights] == [0, 1]


def test_publication_get_and_group_publication_through_the_filter() -> None:
    client = _connect(configure=False)
    _configure(client, publish_to=GROUP)
    pub = client.config(
        cfg.ConfigModelPublicationGet(UNICAST, ModelId(0x1000)), cfg.ConfigModelPublicationStatus
    )
    assert pub.publish_address == GROUP
    assert pub.app_key_index == APP_KEY_INDEX
    client.node.set_state(on=True)
    client.pump()
    # The accept list holds only the client's own address: group publications are filtered.
    assert client.messages_of(gen.GenericOnOffStatus) == []
    status = client.proxy_config(AddAddresses((GROUP,)))
    assert status.filter_type is FilterType.ACCEPT_LIST
    assert status.list_size == 2  # the client's address (added by the server) and the group
    client.node.set_state(on=False)
    client.pump()
    published = client.messages_of(gen.GenericOnOffStatus)
    assert [m.present_on for m in published] == [False]
    status = client.proxy_config(RemoveAddresses((GROUP,)))
    assert status.list_size == 1
    status = client.proxy_config(SetFilterType(FilterType.REJECT_LIST))
    assert (status.filter_type, status.list_size) == (FilterType.REJECT_LIST, 0)
    client.clear()
    client.node.set_state(lightness=0x1234)
    client.pump()
    assert client.messages_of(li.LightLightnessStatus)[-1].present_lightness == 0x1234


def test_wall_switch_publishes() -> None:
    client = _connect()
    client.node.set_state(on=True)
    client.pump()
    onoff = client.messages_of(gen.GenericOnOffStatus)
    assert [m.present_on for m in onoff] == [True]
    client.clear()
    client.node.set_state(lightness=0x2000)
    client.pump()
    assert client.messages_of(li.LightLightnessStatus)[-1].present_lightness == 0x2000
    client.clear()
    client.node.set_state(lightness=0x2000)  # no change: nothing published
    assert client.received == []


def test_transition_with_scheduler() -> None:
    client = _connect(scheduler=True)
    node = client.node
    transition = TransitionTime.from_seconds(2.0)
    status = client.request(
        UNICAST, li.LightLightnessSet(0x8000, 1, transition, 0), li.LightLightnessStatus
    )
    assert status.present_lightness == 0
    assert status.target_lightness == 0x8000
    assert status.remaining_time is not None
    assert status.remaining_time.seconds == 2.0
    client.clear()
    client.advance(1.0)
    half = client.request(UNICAST, li.LightLightnessGet(), li.LightLightnessStatus)
    assert 0 < half.present_lightness < 0x8000
    client.clear()
    client.advance(1.0)
    assert node.lights[0].lightness == 0x8000
    final = client.messages_of(li.LightLightnessStatus)
    assert final
    assert final[-1].present_lightness == 0x8000
    assert final[-1].target_lightness is None


def test_default_transition_time_without_scheduler_is_instant() -> None:
    client = _connect()
    dtt = client.request(
        UNICAST,
        gen.GenericDefaultTransitionTimeSet(TransitionTime.from_seconds(1.0)),
        gen.GenericDefaultTransitionTimeStatus,
    )
    assert dtt.transition.seconds == 1.0
    status = client.request(UNICAST, li.LightLightnessSet(0x3000, 1), li.LightLightnessStatus)
    assert status.present_lightness == 0x3000


def test_scenes() -> None:
    client = _connect("ctl")
    client.request(UNICAST, li.LightCtlSet(0x5000, 2700, 0, 1), li.LightCtlStatus)
    stored = client.request(UNICAST, sc.SceneStore(1), sc.SceneRegisterStatus)
    assert stored.scenes == (1,)
    assert stored.current_scene == 1
    client.request(UNICAST, li.LightCtlSet(0xFFFF, 6500, 0, 2), li.LightCtlStatus)
    assert client.request(UNICAST, sc.SceneGet(), sc.SceneStatus).current_scene == 0
    recalled = client.request(UNICAST, sc.SceneRecall(1, 3), sc.SceneStatus)
    assert recalled.status is sc.SceneStatusCode.SUCCESS
    assert recalled.current_scene == 1
    light = client.node.lights[0]
    assert (light.lightness, light.temperature) == (0x5000, 2700)
    missing = client.request(UNICAST, sc.SceneRecall(9, 4), sc.SceneStatus)
    assert missing.status is sc.SceneStatusCode.SCENE_NOT_FOUND
    deleted = client.request(UNICAST, sc.SceneDelete(1), sc.SceneRegisterStatus)
    assert deleted.scenes == ()


def test_health_attention() -> None:
    client = _connect(scheduler=True)
    status = client.request(UNICAST, hl.HealthAttentionSet(5), hl.HealthAttentionStatus)
    assert status.attention == 5
    client.advance(2.0)
    assert client.request(UNICAST, hl.HealthAttentionGet(), hl.HealthAttentionStatus).attention == 3
    client.advance(3.0)
    assert client.request(UNICAST, hl.HealthAttentionGet(), hl.HealthAttentionStatus).attention == 0
    fault = client.request(UNICAST, hl.HealthFaultGet(0xFFFF), hl.HealthFaultStatus)
    assert fault.faults == b""


def test_feature_states() -> None:
    client = _connect(configure=False)
    assert client.config(cfg.ConfigDefaultTtlSet(7), cfg.ConfigDefaultTtlStatus).ttl == 7
    assert client.config(cfg.ConfigDefaultTtlGet(), cfg.ConfigDefaultTtlStatus).ttl == 7
    relay = client.config(cfg.ConfigRelaySet(False, Retransmit(2, 3)), cfg.ConfigRelayStatus)
    assert relay.state is cfg.FeatureState.DISABLED
    assert relay.retransmit == Retransmit(2, 3)
    proxy = client.config(cfg.ConfigGattProxyGet(), cfg.ConfigGattProxyStatus)
    assert proxy.state is cfg.FeatureState.ENABLED
    friend = client.config(cfg.ConfigFriendSet(True), cfg.ConfigFriendStatus)
    assert friend.state is cfg.FeatureState.NOT_SUPPORTED
    beacon = client.config(cfg.ConfigBeaconSet(False), cfg.ConfigBeaconStatus)
    assert beacon.enabled is False
    transmit = client.config(
        cfg.ConfigNetworkTransmitSet(Retransmit(1, 4)), cfg.ConfigNetworkTransmitStatus
    )
    assert transmit.transmit == Retransmit(1, 4)
    identity = client.config(
        cfg.ConfigNodeIdentitySet(NET_KEY_INDEX, True), cfg.ConfigNodeIdentityStatus
    )
    assert identity.identity is cfg.FeatureState.ENABLED
    assert client.node.advertising_node_identity
    client.advance(61.0)
    assert not client.node.advertising_node_identity
    stopped = client.config(cfg.ConfigNodeIdentityGet(NET_KEY_INDEX), cfg.ConfigNodeIdentityStatus)
    assert stopped.identity is cfg.FeatureState.DISABLED


def test_key_refresh() -> None:
    client = _connect()
    node = client.node
    new_net_key = bytes(range(16, 32))
    new_app_key = bytes(range(32, 48))
    early = client.config(
        cfg.ConfigAppKeyUpdate(NET_KEY_INDEX, APP_KEY_INDEX, new_app_key), cfg.ConfigAppKeyStatus
    )
    assert early.status is cfg.ConfigStatus.CANNOT_UPDATE
    update = client.config(
        cfg.ConfigNetKeyUpdate(NET_KEY_INDEX, new_net_key), cfg.ConfigNetKeyStatus
    )
    assert update.status is cfg.ConfigStatus.SUCCESS
    app_update = client.config(
        cfg.ConfigAppKeyUpdate(NET_KEY_INDEX, APP_KEY_INDEX, new_app_key), cfg.ConfigAppKeyStatus
    )
    assert app_update.status is cfg.ConfigStatus.SUCCESS
    phase = client.config(
        cfg.ConfigKeyRefreshPhaseGet(NET_KEY_INDEX), cfg.ConfigKeyRefreshPhaseStatus
    )
    assert phase.phase is KeyRefreshPhase.KEY_DISTRIBUTION
    # The client learns the new keys and moves on with phase 2.
    client.stack.net_keys.update(NET_KEY_INDEX, new_net_key)
    phase2 = client.config(
        cfg.ConfigKeyRefreshPhaseSet(NET_KEY_INDEX, 2), cfg.ConfigKeyRefreshPhaseStatus
    )
    assert phase2.phase is KeyRefreshPhase.USING_NEW_KEYS
    client.stack.net_keys.set_phase(NET_KEY_INDEX, 2)
    adv = node.advertisement()
    assert adv is not None
    from custom_components.ble_mesh.mesh.beacons import NetworkIdAdvertisement

    network = NetworkIdAdvertisement.from_bytes(next(iter(adv.service_data.values())))
    assert network.matches_network(new_net_key)
    phase3 = client.config(
        cfg.ConfigKeyRefreshPhaseSet(NET_KEY_INDEX, 3), cfg.ConfigKeyRefreshPhaseStatus
    )
    assert phase3.phase is KeyRefreshPhase.NORMAL
    client.stack.net_keys.set_phase(NET_KEY_INDEX, 3)
    assert node.models is not None
    assert node.models.app_key_records[APP_KEY_INDEX][1] == new_app_key


def test_node_reset() -> None:
    resets: list[SimulatedNode] = []
    client = _connect()
    node = client.node
    node.on_reset = resets.append
    reply = client.config(cfg.ConfigNodeReset(), cfg.ConfigNodeResetStatus)
    assert isinstance(reply, cfg.ConfigNodeResetStatus)
    assert resets == [node]
    assert not node.is_provisioned
    assert client.link.device_disconnected
    adv = node.advertisement()
    assert adv is not None
    data = MeshProvisioningServiceData.from_bytes(adv.service_data[MESH_PROVISIONING_SERVICE_UUID])
    assert data.device_uuid == node.device_uuid
    # It can be provisioned again.
    run = provision(node, choice=ProvisioningStart(), clock=client.clock, unicast=0x0100)
    assert run.result is not None
    assert node.unicast_address == 0x0100


def test_proxy_faults_stop_answering_and_drop_link() -> None:
    client = _connect()
    client.node.faults = NodeFaults(stop_answering=True)
    client.send(UNICAST, gen.GenericOnOffGet())
    assert client.received == []
    client.node.faults = NodeFaults(drop_link_after_pdu=1)
    client.send(UNICAST, gen.GenericOnOffGet())
    assert client.link.device_disconnected
    assert client.received == []


def test_proxy_fault_lose_segments() -> None:
    client = _connect(configure=False)
    client.node.faults = NodeFaults(lose_segments=frozenset(range(1000)))
    client.send(UNICAST, cfg.ConfigCompositionDataGet(0), app_key=False)
    assert client.messages_of(cfg.ConfigCompositionDataStatus) == []


def test_lost_proxy_segment_breaks_proxy_sar() -> None:
    # At ATT_MTU 23 a Network PDU takes two notifications: losing the first one leaves a
    # continuation without a first segment, a SAR violation the client disconnects for.
    client = _connect(configure=False)
    node = client.node
    node.faults = NodeFaults(lose_segments=frozenset({node._tx_values}))
    client.send(UNICAST, cfg.ConfigDefaultTtlGet(), app_key=False)
    assert client.sar_error is not None
    assert not client.link.is_connected


def test_segmented_reply_is_retransmitted_after_a_lost_segment() -> None:
    client = _connect("hsl", configure=False, mtu=69)  # one Network PDU per notification
    node = client.node
    # The composition data of the HSL light takes several lower transport segments.
    lost_index = node._tx_values + 1
    node.faults = NodeFaults(lose_segments=frozenset({lost_index}))
    client.send(UNICAST, cfg.ConfigCompositionDataGet(0), app_key=False)
    assert client.messages_of(cfg.ConfigCompositionDataStatus) == []
    for _ in range(10):
        client.advance(0.5)
    (status,) = client.messages_of(cfg.ConfigCompositionDataStatus)
    assert CompositionDataPage0.from_bytes(status.data).cid == PROFILES["hsl"].company_id


def test_persistence_of_a_configured_node() -> None:
    import json

    client = _connect("ctl")
    client.request(UNICAST, li.LightCtlSet(0x4444, 3000, 0, 1), li.LightCtlStatus)
    client.request(UNICAST, sc.SceneStore(3), sc.SceneRegisterStatus)
    client.disconnect()
    data = json.loads(json.dumps(client.node.to_dict()))
    copy = SimulatedNode.from_dict(data)
    assert copy.to_dict() == data
    assert copy.lights[0].lightness == 0x4444
    assert copy.models is not None
    assert copy.models.bound_app_keys(0, 0x1000) == [APP_KEY_INDEX]
    # A new connection to the restored node: same keys, SEQ continues past the old one.
    again = ProxyClient(copy, client.device_key, client.clock)
    # The client is the same provisioner: its SEQ and replay list continue too (the node's
    # restored replay list would refuse a SEQ that starts again at 0).
    again.stack.rpl = client.stack.rpl
    again.stack.seq = client.stack.seq
    status = again.request(UNICAST, li.LightCtlGet(), li.LightCtlStatus)
    assert (status.present_lightness, status.present_temperature) == (0x4444, 3000)
    scene = again.request(UNICAST, sc.SceneRegisterGet(), sc.SceneRegisterStatus)
    assert scene.scenes == (3,)


def test_plug_scene_keeps_on_off() -> None:
    client = _connect("onoff_plug")
    client.request(UNICAST, gen.GenericOnOffSet(True, 1), gen.GenericOnOffStatus)
    client.request(UNICAST, sc.SceneStore(5), sc.SceneRegisterStatus)
    client.request(UNICAST, gen.GenericOnOffSet(False, 2), gen.GenericOnOffStatus)
    recalled = client.request(UNICAST, sc.SceneRecall(5, 3), sc.SceneStatus)
    assert recalled.status is sc.SceneStatusCode.SUCCESS
    assert client.node.lights[0].on == 1
    client.node.set_state(lightness=0x1000)  # a plug has no lightness: nothing changes
    assert client.node.lights[0].lightness == 0


def test_unknown_local_state_is_refused() -> None:
    client = _connect()
    with pytest.raises(MeshError):
        client.node.set_state(brightness=3)
    unprovisioned = SimulatedNode()
    with pytest.raises(MeshError):
        unprovisioned.set_state(on=True)
