"""The server models this integration works with, in one registry (MshMDL 1.1 §7.1).

One :class:`ModelSpec` per supported SIG server model says which messages the model handles
(the message tables of MshMDL 1.1 §7.1 and MshPRT 1.1 §4.4.2), whether the automatic node
configuration binds it to the application key (and publishes its status to Home Assistant),
whether it acts on group-addressed light and scene messages, and, for the models a light is
made of, which part of a light it is, the Get that reads its state and the status that
reports it. Everything that needs to know "which models make a light" reads it here: the
light platform, the node configuration, groups and the simulated nodes.

Adding a model: give it a :class:`ModelSpec` here (see the README's Development section).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from custom_components.ble_mesh.mesh.access import Message

from . import (
    generic as gen,
    health as hl,
    lighting as li,
    model_ids as ids,
    scenes as sc,
    sensors as se,
)
from .common import PublishPeriod, StepResolution


class LightRole(IntEnum):
    """What a model contributes to a light; a lower value is the richer state.

    An element's light is described by its richest model: its status is the one published to
    Home Assistant and the one read after a (re)connection.
    """

    HSL = 0
    XYL = 1
    CTL = 2
    LIGHTNESS = 3
    ONOFF = 4


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One supported SIG server model (see the module)."""

    model_id: int
    handles: tuple[type[Message], ...]
    configured: bool = False  # bound to AppKey 0 by the automatic configuration
    group: bool = False  # acts on group-addressed light / scene messages
    light: LightRole | None = None
    get: type[Message] | None = None  # reads the state
    status: type[Message] | None = None  # reports the state, and is what the server publishes
    published: PublishPeriod | None = None
    """Not None: the automatic configuration points the model's publication at Home Assistant,
    with this period (0: the node publishes when its state changes)."""


SERVER_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        ids.GENERIC_ONOFF_SERVER,
        handles=(
            gen.GenericOnOffGet,
            gen.GenericOnOffSet,
            gen.GenericOnOffSetUnacknowledged,
        ),
        configured=True,
        group=True,
        light=LightRole.ONOFF,
        get=gen.GenericOnOffGet,
        status=gen.GenericOnOffStatus,
    ),
    ModelSpec(
        ids.GENERIC_LEVEL_SERVER,
        handles=(
            gen.GenericLevelGet,
            gen.GenericLevelSet,
            gen.GenericLevelSetUnacknowledged,
            gen.GenericDeltaSet,
            gen.GenericDeltaSetUnacknowledged,
            gen.GenericMoveSet,
            gen.GenericMoveSetUnacknowledged,
        ),
        configured=True,
        get=gen.GenericLevelGet,
        status=gen.GenericLevelStatus,
    ),
    ModelSpec(
        ids.GENERIC_DEFAULT_TRANSITION_TIME_SERVER,
        handles=(
            gen.GenericDefaultTransitionTimeGet,
            gen.GenericDefaultTransitionTimeSet,
            gen.GenericDefaultTransitionTimeSetUnacknowledged,
        ),
        configured=True,
    ),
    ModelSpec(
        ids.GENERIC_POWER_ONOFF_SERVER,
        handles=(gen.GenericOnPowerUpGet,),
        configured=True,
    ),
    ModelSpec(
        ids.GENERIC_POWER_ONOFF_SETUP_SERVER,
        handles=(
            gen.GenericOnPowerUpSet,
            gen.GenericOnPowerUpSetUnacknowledged,
        ),
        configured=True,  # the power-on behaviour is set from Home Assistant
    ),
    ModelSpec(
        ids.GENERIC_BATTERY_SERVER,
        handles=(gen.GenericBatteryGet,),
        configured=True,
        get=gen.GenericBatteryGet,
        status=gen.GenericBatteryStatus,
        # A battery drains over weeks: hourly is plenty, and a sleeping switch wakes rarely.
        published=PublishPeriod(6, StepResolution.MIN_10),
    ),
    ModelSpec(
        ids.SENSOR_SERVER,
        handles=(
            se.SensorDescriptorGet,
            se.SensorGet,
            se.SensorColumnGet,
            se.SensorSeriesGet,
        ),
        configured=True,
        get=se.SensorGet,
        status=se.SensorStatus,
        # Every 10 s: motion and a plug's power are seen within seconds, and one sensor node
        # adds one message per 10 s to the network (a slower node can be set by hand).
        published=PublishPeriod(10, StepResolution.S_1),
    ),
    ModelSpec(
        # MshMDL 1.1 §4.3.2: the cadence and settings live on the Setup Server; configured
        # so the integration can read them with the application key.
        ids.SENSOR_SETUP_SERVER,
        handles=(
            se.SensorCadenceGet,
            se.SensorCadenceSet,
            se.SensorCadenceSetUnacknowledged,
            se.SensorSettingsGet,
            se.SensorSettingGet,
            se.SensorSettingSet,
            se.SensorSettingSetUnacknowledged,
        ),
        configured=True,
    ),
    ModelSpec(
        ids.HEALTH_SERVER,
        handles=(
            hl.HealthAttentionGet,
            hl.HealthAttentionSet,
            hl.HealthAttentionSetUnacknowledged,
            hl.HealthFaultGet,
            hl.HealthFaultClear,
            hl.HealthFaultClearUnacknowledged,
            hl.HealthPeriodGet,
            hl.HealthPeriodSet,
            hl.HealthPeriodSetUnacknowledged,
        ),
        configured=True,
        published=PublishPeriod(0),  # Health Current Status as a fault comes or goes
    ),
    ModelSpec(
        ids.LIGHT_LIGHTNESS_SERVER,
        handles=(
            li.LightLightnessGet,
            li.LightLightnessSet,
            li.LightLightnessSetUnacknowledged,
            li.LightLightnessLinearGet,
            li.LightLightnessLinearSet,
            li.LightLightnessLinearSetUnacknowledged,
            li.LightLightnessLastGet,
            li.LightLightnessDefaultGet,
            li.LightLightnessRangeGet,
        ),
        configured=True,
        group=True,
        light=LightRole.LIGHTNESS,
        get=li.LightLightnessGet,
        status=li.LightLightnessStatus,
    ),
    ModelSpec(
        ids.LIGHT_LIGHTNESS_SETUP_SERVER,
        handles=(
            li.LightLightnessDefaultSet,
            li.LightLightnessDefaultSetUnacknowledged,
            li.LightLightnessRangeSet,
            li.LightLightnessRangeSetUnacknowledged,
        ),
    ),
    ModelSpec(
        ids.LIGHT_CTL_SERVER,
        handles=(
            li.LightCtlGet,
            li.LightCtlSet,
            li.LightCtlSetUnacknowledged,
            li.LightCtlTemperatureRangeGet,
            li.LightCtlDefaultGet,
        ),
        configured=True,
        group=True,
        light=LightRole.CTL,
        get=li.LightCtlGet,
        status=li.LightCtlStatus,
    ),
    ModelSpec(
        ids.LIGHT_CTL_SETUP_SERVER,
        handles=(
            li.LightCtlDefaultSet,
            li.LightCtlDefaultSetUnacknowledged,
            li.LightCtlTemperatureRangeSet,
            li.LightCtlTemperatureRangeSetUnacknowledged,
        ),
    ),
    ModelSpec(
        ids.LIGHT_CTL_TEMPERATURE_SERVER,
        handles=(
            li.LightCtlTemperatureGet,
            li.LightCtlTemperatureSet,
            li.LightCtlTemperatureSetUnacknowledged,
        ),
        configured=True,
        get=li.LightCtlTemperatureGet,
        status=li.LightCtlTemperatureStatus,
    ),
    ModelSpec(
        ids.LIGHT_HSL_SERVER,
        handles=(
            li.LightHslGet,
            li.LightHslSet,
            li.LightHslSetUnacknowledged,
            li.LightHslTargetGet,
            li.LightHslDefaultGet,
            li.LightHslRangeGet,
        ),
        configured=True,
        group=True,
        light=LightRole.HSL,
        get=li.LightHslGet,
        status=li.LightHslStatus,
    ),
    ModelSpec(
        ids.LIGHT_HSL_SETUP_SERVER,
        handles=(
            li.LightHslDefaultSet,
            li.LightHslDefaultSetUnacknowledged,
            li.LightHslRangeSet,
            li.LightHslRangeSetUnacknowledged,
        ),
    ),
    ModelSpec(
        ids.LIGHT_HSL_HUE_SERVER,
        handles=(
            li.LightHslHueGet,
            li.LightHslHueSet,
            li.LightHslHueSetUnacknowledged,
        ),
        configured=True,
        get=li.LightHslHueGet,
        status=li.LightHslHueStatus,
    ),
    ModelSpec(
        ids.LIGHT_HSL_SATURATION_SERVER,
        handles=(
            li.LightHslSaturationGet,
            li.LightHslSaturationSet,
            li.LightHslSaturationSetUnacknowledged,
        ),
        configured=True,
        get=li.LightHslSaturationGet,
        status=li.LightHslSaturationStatus,
    ),
    ModelSpec(
        ids.LIGHT_XYL_SERVER,
        handles=(
            li.LightXylGet,
            li.LightXylSet,
            li.LightXylSetUnacknowledged,
            li.LightXylTargetGet,
            li.LightXylDefaultGet,
            li.LightXylRangeGet,
        ),
        configured=True,
        group=True,
        light=LightRole.XYL,
        get=li.LightXylGet,
        status=li.LightXylStatus,
    ),
    ModelSpec(
        ids.LIGHT_XYL_SETUP_SERVER,
        handles=(
            li.LightXylDefaultSet,
            li.LightXylDefaultSetUnacknowledged,
            li.LightXylRangeSet,
            li.LightXylRangeSetUnacknowledged,
        ),
    ),
    ModelSpec(
        ids.SCENE_SERVER,
        handles=(
            sc.SceneGet,
            sc.SceneRecall,
            sc.SceneRecallUnacknowledged,
            sc.SceneRegisterGet,
        ),
        configured=True,
        group=True,
    ),
    ModelSpec(
        ids.SCENE_SETUP_SERVER,
        handles=(
            sc.SceneStore,
            sc.SceneStoreUnacknowledged,
            sc.SceneDelete,
            sc.SceneDeleteUnacknowledged,
        ),
        configured=True,
        group=True,
    ),
)

BY_ID: dict[int, ModelSpec] = {spec.model_id: spec for spec in SERVER_MODELS}
"""The spec of each supported server model, by SIG model id."""

HANDLED_BY: dict[type[Message], int] = {
    message: spec.model_id for spec in SERVER_MODELS for message in spec.handles
}
"""Which server model of an element handles each message class."""

SWITCH_CLIENT_MODELS: tuple[int, ...] = (
    ids.GENERIC_ONOFF_CLIENT,
    ids.GENERIC_LEVEL_CLIENT,
    ids.SCENE_CLIENT,
)
"""Client models of wall switches and remotes: what they send becomes event entities.

The automatic configuration binds them to AppKey 0 and, unless a publication is set already
(a group chosen in the options), points their publication at Home Assistant.
"""

CONFIGURED_MODELS: frozenset[int] = frozenset(
    [*(s.model_id for s in SERVER_MODELS if s.configured), *SWITCH_CLIENT_MODELS]
)
"""Models the automatic configuration binds to AppKey 0 (what the entities talk to)."""

PUBLISHING_MODELS: frozenset[int] = frozenset(
    s.model_id for s in SERVER_MODELS if s.published is not None
)
"""Server models besides an element's light that publish their status to Home Assistant."""

GROUP_MODELS: tuple[int, ...] = tuple(s.model_id for s in SERVER_MODELS if s.group)
"""Models subscribed to a group when an element joins it (Scene Store is the Setup Server's)."""

LIGHT_MODELS: tuple[ModelSpec, ...] = tuple(
    sorted((s for s in SERVER_MODELS if s.light is not None), key=lambda s: s.light or 0)
)
"""The models a light is made of, richest first."""


def light_roles(model_ids: set[int]) -> frozenset[LightRole]:
    """The light roles of an element with these SIG models (empty: not a light)."""
    return frozenset(
        s.light for s in LIGHT_MODELS if s.model_id in model_ids and s.light is not None
    )


def is_switch(model_ids: set[int]) -> bool:
    """Generic OnOff and no light model (a plug, a relay): shown as a switch by default."""
    return light_roles(model_ids) == {LightRole.ONOFF}


def primary_light_model(model_ids: set[int]) -> ModelSpec | None:
    """The richest light model among ``model_ids``: its status is read and published."""
    return next((s for s in LIGHT_MODELS if s.model_id in model_ids), None)
