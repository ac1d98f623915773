"""Round trips of every registered message and strict rejection of malformed parameters.

Strategies come from the codecs in each field's metadata, so a new message class is covered
as soon as it is registered.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, assume, given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh.access import (
    Codec,
    EnumField,
    Flag,
    InvalidFieldError,
    KeyIndexList,
    Maybe,
    Message,
    Octets,
    SInt,
    Tail,
    U16List,
    UInt,
    decode_message,
    describe,
    encode_message,
    encode_opcode,
    layout,
    registered_messages,
)
from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError
from custom_components.ble_mesh.mesh.models.common import (
    ModelId,
    ModelIdCodec,
    PublishPeriod,
    PublishPeriodCodec,
    Retransmit,
    RetransmitCodec,
    StepResolution,
    TransitionCodec,
    TransitionTime,
)
from custom_components.ble_mesh.mesh.models.config import (
    ConfigAppKeyList,
    ConfigDefaultTtlSet,
    ConfigModelAppBind,
    ConfigModelPublicationSet,
    ConfigNetKeyList,
    KeyIndexPairs,
)
from custom_components.ble_mesh.mesh.models.generic import (
    BatteryCharging,
    BatteryFlags,
    BatteryFlagsCodec,
    BatteryIndicator,
    BatteryPresence,
    BatteryServiceability,
    GenericLevelStatus,
    GenericMoveSet,
    GenericOnOffSet,
    GenericOnOffStatus,
)
from custom_components.ble_mesh.mesh.models.lighting import (
    LightHslStatus,
    LightLightnessRangeSet,
)
from custom_components.ble_mesh.mesh.models.remote_provisioning import AdTypeFilter
from custom_components.ble_mesh.mesh.models.sensors import (
    CadenceCodec,
    DescriptorList,
    MarshalledSensorData,
    SamplingFunction,
    SensorCadence,
    SensorData,
    SensorDescriptor,
    StatusTriggerType,
)

CLASSES = registered_messages()
_VARIABLE = (
    Tail,
    U16List,
    KeyIndexList,
    KeyIndexPairs,
    DescriptorList,
    MarshalledSensorData,
    CadenceCodec,
    AdTypeFilter,
    Maybe,  # the message's own length rule decides (Link Open: 1, 16 or 17 octets)
)


def _u16s(exclude: frozenset[int]) -> st.SearchStrategy[int]:
    return st.integers(0, 0xFFFF).filter(lambda v: v not in exclude)


def strategy_for(c: Codec) -> st.SearchStrategy[Any]:
    """Valid values of one codec."""
    if isinstance(c, UInt):
        base: st.SearchStrategy[int] = st.integers(c.lo, c.maximum)
        if c.extra:
            base = base | st.sampled_from(sorted(c.extra))
        return base.filter(lambda v: v not in c.exclude)
    if isinstance(c, SInt):
        bound = 1 << (8 * c.size - 1)
        return st.integers(-bound, bound - 1)
    if isinstance(c, Flag):
        return st.booleans()
    if isinstance(c, EnumField):
        return st.sampled_from(list(c.enum))
    if isinstance(c, Octets):
        return st.binary(min_size=c.size, max_size=c.size)
    if isinstance(c, Tail):
        return st.binary(min_size=c.min_size, max_size=24)
    if isinstance(c, U16List):
        return st.lists(_u16s(c.exclude), max_size=8).map(tuple)
    if isinstance(c, KeyIndexList):
        return st.lists(st.integers(0, 0xFFF), max_size=9).map(tuple)
    if isinstance(c, KeyIndexPairs):
        pair = st.tuples(st.integers(0, 0xFFF), st.integers(0, 0xFFF))
        return st.lists(pair, max_size=5).map(tuple)
    if isinstance(c, TransitionCodec):
        top = 0x3F if c.allow_unknown else 0x3E
        return st.builds(TransitionTime, st.integers(0, top), st.sampled_from(StepResolution))
    if isinstance(c, ModelIdCodec):
        sig = st.builds(ModelId, st.integers(0, 0xFFFF))
        vendor = st.builds(ModelId, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
        return sig if c.size == 2 else vendor if c.size == 4 else sig | vendor
    if isinstance(c, RetransmitCodec):
        return st.builds(Retransmit, st.integers(0, 7), st.integers(0, 31))
    if isinstance(c, PublishPeriodCodec):
        return st.builds(PublishPeriod, st.integers(0, 63), st.sampled_from(StepResolution))
    if isinstance(c, BatteryFlagsCodec):
        return st.builds(
            BatteryFlags,
            st.sampled_from(BatteryPresence),
            st.sampled_from(BatteryIndicator),
            st.sampled_from(BatteryCharging),
            st.sampled_from(BatteryServiceability),
        )
    if isinstance(c, DescriptorList):
        return st.lists(_descriptors(), max_size=4).map(tuple)
    if isinstance(c, MarshalledSensorData):
        return st.lists(_sensor_data(), min_size=1, max_size=4).map(
            lambda entries: b"".join(e.to_bytes() for e in entries)
        )
    if isinstance(c, CadenceCodec):
        return _cadences()
    if isinstance(c, Maybe):
        return st.none() | strategy_for(c.inner)
    if isinstance(c, AdTypeFilter):
        ad_type = st.integers(0, 0xFF).filter(lambda t: t not in (0x02, 0x04, 0x06, 0x08))
        return st.lists(ad_type, min_size=1, max_size=16, unique=True).map(bytes)
    raise AssertionError(f"no strategy for {c!r}")


def _descriptors() -> st.SearchStrategy[SensorDescriptor]:
    return st.builds(
        SensorDescriptor,
        st.integers(1, 0xFFFF),
        st.integers(0, 0xFFF),
        st.integers(0, 0xFFF),
        st.sampled_from(SamplingFunction),
        st.integers(0, 0xFF),
        st.integers(0, 0xFF),
    )


def _sensor_data() -> st.SearchStrategy[SensorData]:
    """Entries in both formats: Format A where it fits, or Format B by choice or need."""
    short = st.builds(SensorData.of, st.integers(1, 0xFFFF), st.binary(max_size=20))
    forced_b = st.builds(SensorData, st.integers(1, 0xFFFF), st.binary(max_size=20), st.just(True))
    return short | forced_b


@st.composite
def _cadences(draw: st.DrawFn) -> SensorCadence:
    trigger = draw(st.sampled_from(StatusTriggerType))
    size = draw(st.integers(1, 4))
    delta = 2 if trigger is StatusTriggerType.PERCENT else size
    return SensorCadence(
        draw(st.integers(0, 15)),
        trigger,
        draw(st.binary(min_size=delta, max_size=delta)),
        draw(st.binary(min_size=delta, max_size=delta)),
        draw(st.integers(0, 26)),
        draw(st.binary(min_size=size, max_size=size)),
        draw(st.binary(min_size=size, max_size=size)),
    )


def draw_message(data: st.DataObject, cls: type[Message], *, optional: bool | None = None) -> Any:
    """A valid instance of ``cls`` (``optional``: force the optional group in or out)."""
    specs = layout(cls)
    with_group = data.draw(st.booleans()) if optional is None else optional
    values = {}
    for spec in specs:
        if spec.optional and not with_group:
            continue
        values[spec.name] = data.draw(strategy_for(spec.codec), label=spec.name)
    for name in list(values):  # ranges: keep each *_min <= its *_max
        high = name.removesuffix("_min") + "_max"
        if name.endswith("_min") and high in values and values[name] > values[high]:
            values[name], values[high] = values[high], values[name]
    try:
        return cls(**values)
    except InvalidFieldError:
        assume(False)  # a cross-field rule (e.g. range min <= max) refused this draw
        raise


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=20, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_round_trip(cls: type[Message], data: st.DataObject) -> None:
    message = draw_message(data, cls)
    payload = encode_message(message)
    assert payload[: len(encode_opcode(cls.OPCODE))] == encode_opcode(cls.OPCODE)
    decoded = decode_message(payload)
    assert decoded == message
    assert encode_message(decoded) == payload
    assert cls.from_bytes(message.to_bytes()) == message
    described = describe(payload)
    assert described["name"] == cls.__name__
    assert "error" not in described
    json.dumps(described)


def _fixed_size(cls: type[Message]) -> bool:
    return not any(
        isinstance(s.codec, _VARIABLE)
        or (isinstance(s.codec, ModelIdCodec) and s.codec.size is None)
        for s in layout(cls)
    )


FIXED = [c for c in CLASSES if _fixed_size(c) and layout(c)]


@pytest.mark.parametrize("cls", FIXED, ids=lambda c: c.__name__)
@settings(max_examples=10, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_wrong_lengths_are_refused(cls: type[Message], data: st.DataObject) -> None:
    message = draw_message(data, cls, optional=False)
    params = message.to_bytes()
    for cut in range(len(params)):
        with pytest.raises(DecodeError):
            cls.from_bytes(params[:cut])
    has_group = any(s.optional for s in layout(cls))
    group_size = len(draw_message(data, cls, optional=True).to_bytes()) - len(params)
    if not has_group or group_size > 1:
        with pytest.raises(DecodeError):
            cls.from_bytes(params + b"\x00")
    if has_group:
        full = draw_message(data, cls, optional=True).to_bytes()
        with pytest.raises(DecodeError):
            cls.from_bytes(full + b"\x00")


@pytest.mark.parametrize("cls", [c for c in CLASSES if not layout(c)], ids=lambda c: c.__name__)
def test_empty_messages_refuse_parameters(cls: type[Message]) -> None:
    assert cls().to_bytes() == b""
    with pytest.raises(DecodeError):
        cls.from_bytes(b"\x00")


@pytest.mark.parametrize(
    ("payload", "structure", "field"),
    [
        # Generic OnOff value 0x02-0xFF is prohibited (MshMDL 1.1 §3.1.1).
        ("82020201", "GenericOnOffSet", "on"),
        ("8202ff01", "GenericOnOffSet", "on"),
        ("820402", "GenericOnOffStatus", "present_on"),
        ("8204010205", "GenericOnOffStatus", "target_on"),
        # TID missing; Transition Time without Delay; 0x3F steps in a Set.
        ("820201", "GenericOnOffSet", "tid"),
        ("8202010105", "GenericOnOffSet", "delay"),
        ("820201013f00", "GenericOnOffSet", "transition"),
        ("820201017f00", "GenericOnOffSet", "transition"),
        ("820e3f", "GenericDefaultTransitionTimeSet", "transition"),
        # Level Move: 2-octet delta + TID, optional pair complete or absent.
        ("820b0010", "GenericMoveSet", "tid"),
        ("820b00100101", "GenericMoveSet", "delay"),
        ("820b0010010a0000", "GenericMoveSet", None),
        # Delta Set is 4 octets.
        ("820900100000", "GenericDeltaSet", "tid"),
        # Status remaining time without target.
        ("82080010", None, None),
        ("8208001000", "GenericLevelStatus", "target_level"),
        # OnPowerUp 0x03-0xFF prohibited.
        ("821303", "GenericOnPowerUpSet", "on_power_up"),
        # Default TTL 0x01 and 0x80-0xFF prohibited.
        ("800d01", "ConfigDefaultTtlSet", "ttl"),
        ("800d80", "ConfigDefaultTtlSet", "ttl"),
        # Key index with RFU bits.
        ("80410010", "ConfigNetKeyDelete", "net_key_index"),
        # Publication: RFU bits, TTL 0x80, vendor model with 3 octets.
        ("03010000c001200500000010", "ConfigModelPublicationSet", "app_key_index"),
        ("03010000c001008000000010", "ConfigModelPublicationSet", "publish_ttl"),
        ("03010000c00100050000001000", "ConfigModelPublicationSet", "model_id"),
        # Relay Set 0x02 is prohibited; Beacon Set 0x02 too.
        ("80270200", "ConfigRelaySet", "enabled"),
        ("800a02", "ConfigBeaconSet", "enabled"),
        # Config status codes beyond the table are reserved.
        ("8003ff563412", "ConfigAppKeyStatus", "status"),
        # Key Refresh Phase transition 0x01 is prohibited.
        ("8016000001", "ConfigKeyRefreshPhaseSet", "transition"),
        # Packed key index list with a stray octet.
        ("800200000001", "ConfigAppKeyList", "app_key_indexes"),
        # Heartbeat period log above 0x11.
        ("803b0100ffff12", "ConfigHeartbeatSubscriptionSet", "period_log"),
        # Health Fast Period Divisor 16+ prohibited.
        ("803510", "HealthPeriodSet", "fast_period_divisor"),
        # CTL temperature outside 800..20000 K.
        ("825e00001f03000001", "LightCtlSet", "temperature"),
        ("825e0000214e000001", "LightCtlSet", "temperature"),
        # Lightness range min 0 prohibited, min > max refused.
        ("825b0000ffff", "LightLightnessRangeSet", "range_min"),
        ("825b02000100", "LightLightnessRangeSet", "range_min"),
        # Scene number 0 prohibited.
        ("82460000", "SceneStore", "scene_number"),
        ("8242000001", "SceneRecall", "scene_number"),
        # Scene register odd length.
        ("8245000100020003", "SceneRegisterStatus", "scenes"),
        # Bridged subnets prohibited bits.
        ("80b7341200", "ConfigBridgedSubnetsGet", "filter"),
    ],
)
def test_strict_rejections(payload: str, structure: str | None, field: str | None) -> None:
    raw = bytes.fromhex(payload)
    if structure is None:
        # Counter-example kept next to the rejections: a bare present level is valid.
        assert isinstance(decode_message(raw), GenericLevelStatus)
        return
    with pytest.raises(DecodeError) as info:
        decode_message(raw)
    assert info.value.structure == structure
    assert info.value.field == field


def test_optional_groups_decode_both_ways() -> None:
    assert decode_message(bytes.fromhex("82020101")) == GenericOnOffSet(True, 1)
    assert decode_message(bytes.fromhex("820201014a14")) == GenericOnOffSet(
        True, 1, TransitionTime(10, StepResolution.S_1), 20
    )
    # The remaining time of a status may be "unknown" (0x3F steps).
    status = decode_message(bytes.fromhex("820400013f"))
    assert status == GenericOnOffStatus(False, True, TransitionTime(0x3F))
    hsl = decode_message(bytes.fromhex("8278" + "0100" * 3 + "3f"))
    assert isinstance(hsl, LightHslStatus)
    assert hsl.remaining_time is not None
    assert hsl.remaining_time.seconds is None


@pytest.mark.parametrize(
    "build",
    [
        lambda: GenericOnOffSet(True, 256),
        lambda: GenericOnOffSet(True, -1),
        lambda: GenericOnOffSet(1, 0),  # type: ignore[arg-type]
        lambda: GenericOnOffSet(True, 0, None, 5),
        lambda: GenericOnOffSet(True, 0, TransitionTime(0x3F), 0),
        lambda: GenericOnOffStatus(True, None, TransitionTime(1)),
        lambda: GenericOnOffStatus(True, True, None),
        lambda: GenericMoveSet(0x8000, 0),
        lambda: ConfigDefaultTtlSet(1),
        lambda: ConfigModelAppBind(1, 0x1000, ModelId(0x1000)),
        lambda: ConfigAppKeyList(0, 0, (0x1000,)),  # type: ignore[arg-type]
        lambda: ConfigNetKeyList([1, 2]),  # type: ignore[arg-type]
        lambda: ConfigModelPublicationSet(
            1, 2, 3, True, 0x80, PublishPeriod(0), Retransmit(0, 0), ModelId(1)
        ),
        lambda: LightLightnessRangeSet(10, 5),
    ],
)
def test_invalid_construction_is_a_usage_error(build: Any) -> None:
    with pytest.raises(UsageError):
        build()
