"""Shared model value types (transition time, TID, model IDs, packed octets) and the lighting
state conversions (MshMDL 1.1 §3.1.3, §3.3.2.2.3, §6.1.2.2, §6.1.3.1)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh.access import decode_message, encode_message
from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError
from custom_components.ble_mesh.mesh.models import model_ids
from custom_components.ble_mesh.mesh.models.common import (
    IMMEDIATE,
    STEP_SECONDS,
    TRANSITION_SECONDS_MAX,
    ModelId,
    PublishPeriod,
    Retransmit,
    StepResolution,
    TidCounter,
    TransitionTime,
    delay_steps,
)
from custom_components.ble_mesh.mesh.models.config import (
    ConfigModelPublicationSet,
    ConfigNetworkTransmitSet,
    ConfigRelayStatus,
    FeatureState,
)
from custom_components.ble_mesh.mesh.models.generic import GenericOnOffSet
from custom_components.ble_mesh.mesh.models.lighting import (
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    level_to_lightness,
    level_to_temperature,
    lightness_actual_to_linear,
    lightness_linear_to_actual,
    lightness_to_level,
    temperature_to_level,
)

# --- TransitionTime ---------------------------------------------------------------------------


def test_transition_time_octet_round_trip_all_values() -> None:
    for raw in range(256):
        tt = TransitionTime.from_byte(raw)
        assert tt.to_byte() == raw
        assert tt.steps == raw & 0x3F
        assert tt.resolution == raw >> 6


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (0x00, 0.0),
        (0x01, 0.1),
        (0x3E, 6.2),
        (0x41, 1.0),
        (0x7E, 62.0),
        (0x81, 10.0),
        (0xBE, 620.0),
        (0xC1, 600.0),
        (0xFE, 37200.0),
        (0x3F, None),
        (0x7F, None),
        (0xBF, None),
        (0xFF, None),
    ],
)
def test_transition_time_seconds(raw: int, seconds: float | None) -> None:
    tt = TransitionTime.from_byte(raw)
    assert tt.seconds == seconds
    assert tt.is_unknown is (seconds is None)


@pytest.mark.parametrize(
    ("seconds", "steps", "resolution"),
    [
        (0, 0, StepResolution.MS_100),
        (0.1, 1, StepResolution.MS_100),
        (1.5, 15, StepResolution.MS_100),
        (6.2, 62, StepResolution.MS_100),
        (6.3, 6, StepResolution.S_1),
        (62, 62, StepResolution.S_1),
        (63, 6, StepResolution.S_10),
        (620, 62, StepResolution.S_10),
        (621, 62, StepResolution.S_10),
        (626, 1, StepResolution.MIN_10),
        (3600, 6, StepResolution.MIN_10),
        (37200, 62, StepResolution.MIN_10),
    ],
)
def test_transition_from_seconds_picks_finest_resolution(
    seconds: float, steps: int, resolution: StepResolution
) -> None:
    assert TransitionTime.from_seconds(seconds) == TransitionTime(steps, resolution)


@settings(max_examples=200)
@given(st.floats(0, TRANSITION_SECONDS_MAX))
def test_transition_from_seconds_is_within_half_a_step(seconds: float) -> None:
    tt = TransitionTime.from_seconds(seconds)
    assert not tt.is_unknown
    assert tt.seconds is not None
    assert abs(tt.seconds - seconds) <= STEP_SECONDS[tt.resolution] / 2 + 1e-9
    # No finer resolution could have held it.
    for finer, step in STEP_SECONDS.items():
        if finer < tt.resolution:
            assert round(seconds / step) > 0x3E


@pytest.mark.parametrize("bad", [-0.1, TRANSITION_SECONDS_MAX + 1, float("inf")])
def test_transition_from_seconds_refuses_out_of_range(bad: float) -> None:
    with pytest.raises(UsageError):
        TransitionTime.from_seconds(bad)


def test_transition_construction_and_delay() -> None:
    assert IMMEDIATE.to_byte() == 0
    with pytest.raises(UsageError):
        TransitionTime(0x40)
    with pytest.raises(UsageError):
        TransitionTime(1, 4)  # type: ignore[arg-type]
    assert delay_steps(0.0) == 0
    assert delay_steps(0.05) == 10
    assert delay_steps(1.275) == 255
    with pytest.raises(UsageError):
        delay_steps(1.3)
    msg = GenericOnOffSet(True, 9, TransitionTime.from_seconds(2), delay_steps(0.1))
    assert encode_message(msg).hex() == "8202010914" + "14"


# --- TID --------------------------------------------------------------------------------------


def test_tid_counter_per_destination_and_wraps() -> None:
    tids = TidCounter(start=254)
    assert tids.current(1) is None
    assert [tids.next(1), tids.next(1), tids.next(1)] == [254, 255, 0]
    assert tids.current(1) == 0
    assert tids.next(2) == 254  # another destination has its own sequence
    assert tids.current(1) == 0
    with pytest.raises(UsageError):
        TidCounter(256)


# --- Model identifiers ------------------------------------------------------------------------


def test_model_id_wire_forms() -> None:
    assert ModelId(0x1000).to_bytes().hex() == "0010"
    vendor = ModelId(0x002A, 0x003F)
    assert vendor.to_bytes().hex() == "3f002a00"
    assert ModelId.from_bytes(bytes.fromhex("3f002a00")) == vendor
    assert vendor.to_json() == "003f:002a"
    with pytest.raises(DecodeError):
        ModelId.from_bytes(b"\x00\x00\x00")
    with pytest.raises(UsageError):
        ModelId(0x10000)


def test_model_id_constants() -> None:
    expected = {
        "CONFIGURATION_SERVER": 0x0000,
        "HEALTH_SERVER": 0x0002,
        "GENERIC_ONOFF_SERVER": 0x1000,
        "GENERIC_ONOFF_CLIENT": 0x1001,
        "GENERIC_LEVEL_SERVER": 0x1002,
        "GENERIC_DEFAULT_TRANSITION_TIME_SERVER": 0x1004,
        "GENERIC_POWER_ONOFF_SERVER": 0x1006,
        "GENERIC_POWER_ONOFF_SETUP_SERVER": 0x1007,
        "SCENE_SERVER": 0x1203,
        "SCENE_SETUP_SERVER": 0x1204,
        "LIGHT_LIGHTNESS_SERVER": 0x1300,
        "LIGHT_LIGHTNESS_SETUP_SERVER": 0x1301,
        "LIGHT_CTL_SERVER": 0x1303,
        "LIGHT_CTL_SETUP_SERVER": 0x1304,
        "LIGHT_CTL_TEMPERATURE_SERVER": 0x1306,
        "LIGHT_HSL_SERVER": 0x1307,
        "LIGHT_HSL_SETUP_SERVER": 0x1308,
        "LIGHT_HSL_HUE_SERVER": 0x130A,
        "LIGHT_HSL_SATURATION_SERVER": 0x130B,
        "LIGHT_XYL_SERVER": 0x130C,
        "LIGHT_XYL_SETUP_SERVER": 0x130D,
    }
    for name, value in expected.items():
        assert getattr(model_ids, name) == value
    assert model_ids.MODEL_NAMES[0x1000] == "Generic Onoff Server"


# --- Packed configuration octets ------------------------------------------------------------


def test_retransmit_packing() -> None:
    # Count in bits 0-2, interval steps in bits 3-7 (MshPRT 1.1 §4.2.20).
    assert Retransmit(2, 9).to_byte() == 0b01001_010
    assert Retransmit.from_byte(0xFF) == Retransmit(7, 31)
    assert encode_message(ConfigNetworkTransmitSet(Retransmit(2, 1))).hex() == "80240a"
    status = decode_message(bytes.fromhex("80280101"))
    assert status == ConfigRelayStatus(FeatureState.ENABLED, Retransmit(1, 0))
    with pytest.raises(UsageError):
        Retransmit(8, 0)


def test_publication_set_layout() -> None:
    msg = ConfigModelPublicationSet(
        element_address=0x0102,
        publish_address=0xC000,
        app_key_index=0x123,
        credential_flag=True,
        publish_ttl=0xFF,
        publish_period=PublishPeriod(5, StepResolution.S_10),
        publish_retransmit=Retransmit(3, 4),
        model_id=ModelId(0x002A, 0x003F),
    )
    # Element, address, AppKeyIndex | CredentialFlag << 12, TTL, period, retransmit, model.
    assert encode_message(msg).hex() == "03" + "0201" + "00c0" + "2311" + "ff" + "85" + "23" + (
        "3f002a00"
    )
    assert decode_message(encode_message(msg)) == msg
    assert PublishPeriod(5, StepResolution.S_10).seconds == 50.0


# --- Lighting conversions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "linear"),
    [(0, 0), (1, 1), (255, 1), (256, 2), (32768, 16385), (65534, 65534), (65535, 65535)],
)
def test_lightness_actual_to_linear(actual: int, linear: int) -> None:
    assert lightness_actual_to_linear(actual) == linear


@pytest.mark.parametrize(
    ("linear", "actual"), [(0, 0), (1, 255), (16384, 32767), (65534, 65534), (65535, 65535)]
)
def test_lightness_linear_to_actual(linear: int, actual: int) -> None:
    assert lightness_linear_to_actual(linear) == actual


def test_lightness_conversions_are_monotonic_and_consistent() -> None:
    previous_linear = previous_actual = -1
    for value in range(0x10000):
        linear = lightness_actual_to_linear(value)
        actual = lightness_linear_to_actual(value)
        assert linear >= previous_linear
        assert actual >= previous_actual
        previous_linear, previous_actual = linear, actual
        # ceil/floor make each direction a Galois pair: never undershoot, never overshoot.
        assert lightness_linear_to_actual(linear) >= value
        assert lightness_actual_to_linear(actual) <= value
    with pytest.raises(UsageError):
        lightness_actual_to_linear(0x10000)
    with pytest.raises(UsageError):
        lightness_linear_to_actual(-1)


def test_level_lightness_and_temperature_relations() -> None:
    assert level_to_lightness(-32768) == 0
    assert level_to_lightness(0) == 32768
    assert level_to_lightness(32767) == 65535
    assert lightness_to_level(0) == -32768
    assert lightness_to_level(65535) == 32767
    for level in range(-32768, 32768, 997):
        assert lightness_to_level(level_to_lightness(level)) == level
    assert temperature_to_level(TEMPERATURE_MIN) == -32768
    assert temperature_to_level(TEMPERATURE_MAX) == 32767
    assert level_to_temperature(-32768) == TEMPERATURE_MIN
    assert level_to_temperature(32767) == TEMPERATURE_MAX
    assert level_to_temperature(0, 2700, 6500) == 2700 + 32768 * 3800 // 65535
    with pytest.raises(UsageError):
        temperature_to_level(799)
    with pytest.raises(UsageError):
        level_to_temperature(0, 6500, 2700)
    with pytest.raises(UsageError):
        level_to_lightness(32768)
