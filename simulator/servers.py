"""The access-layer models of a simulated node: configuration, health, generic, sensor,
lighting, scenes (MshPRT 1.1 §4.4 Configuration Server, §4.4.2 Health Server; MshMDL 1.1 §3
generic, §4 sensor, §5 scenes, §6 lighting servers), and a wall switch's Generic OnOff Client.

:class:`NodeModels` holds the node's configuration state (AppKeys, bindings, publications,
subscriptions, Default TTL, feature states) and the light states, dispatches decoded access
messages to the model that handles them and returns what to send: replies to the sender and
status publications to each model's publish address whenever a state changes (and every
Publish Period for the Sensor, Generic Battery and Health Servers).

Beyond the lights: the Health Fault state (:meth:`NodeModels.raise_fault`,
:meth:`NodeModels.clear_fault`), Generic OnPowerUp on a power cycle
(:meth:`NodeModels.power_up`), the switch's press (:meth:`NodeModels.press`), the Sensor
Server's readings (:mod:`simulator.sensors`, encoded by the engine's Mesh Device Properties)
and the Generic Battery Server's status.

Bound states (MshMDL 1.1 §6.1.2.2, §6.1.3, §6.1.4): Generic OnOff and Generic Level of the
primary element are bound to Light Lightness Actual; Light Lightness Linear is derived from
Actual; the CTL lightness, HSL lightness and xyL lightness are Light Lightness Actual; the
Generic Level of a CTL Temperature element is bound to the temperature, those of the HSL Hue
and Saturation elements to hue and saturation. Turning on restores Light Lightness Default (or
Last when Default is 0); any non-zero lightness is clamped to the Light Lightness Range.

Transitions (MshMDL 1.1 §3.1.3): with ``deferred_transitions`` (the node has a scheduler) a
Set with a transition time (or a non-zero Default Transition Time) moves the state at its end
and the statuses report the target and remaining time meanwhile; otherwise it is applied at
once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
import logging
from typing import Any

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.access import Message, encode_message
from custom_components.ble_mesh.mesh.errors import UsageError
from custom_components.ble_mesh.mesh.models import (
    config as cfg,
    generic as gen,
    health as hl,
    lighting as li,
    model_ids as ids,
    scenes as sc,
    sensors as se,
)
from custom_components.ble_mesh.mesh.models.common import (
    ModelId,
    PublishPeriod,
    Retransmit,
    TransitionTime,
)
from custom_components.ble_mesh.mesh.models.config import FEATURE_RELAY
from custom_components.ble_mesh.mesh.models.properties import (
    PRECISE_TOTAL_DEVICE_ENERGY_USE,
    PRESENT_DEVICE_INPUT_POWER,
    PROPERTIES,
)
from custom_components.ble_mesh.mesh.models.registry import BY_ID, HANDLED_BY
from custom_components.ble_mesh.mesh.network import (
    KeyRefreshPhase,
    NetworkKeyring,
    is_group,
    is_unicast,
    is_virtual,
)
from custom_components.ble_mesh.mesh.transport import AppKey, AppKeyring

from .profiles import Profile
from .sensors import AMBIENT, EnergyMeter, descriptor, plug_power

__all__ = [
    "ElementRole",
    "LightState",
    "NodeModels",
    "Outgoing",
    "Publication",
]

_LOGGER = logging.getLogger(__name__)

TID_WINDOW = 6.0  # MshMDL 1.1 §3.2: a repeated TID within 6 s is the same transaction
# Models that publish their status every Publish Period (MshPRT 1.1 §4.2.3), not only when a
# state changes: the Sensor Server (its Sensor Status), the Generic Battery Server and the
# Health Server (Health Current Status, faster while a fault is present).
_PERIODIC = frozenset({ids.SENSOR_SERVER, ids.GENERIC_BATTERY_SERVER, ids.HEALTH_SERVER})
# A battery that lasts about three years, 87 % left: minutes to discharge (MshMDL 1.1 §3.1.6.2).
_BATTERY_LIFE_MINUTES = 3 * 365 * 24 * 60
SCENE_REGISTER_SIZE = 16
DEFAULT_TEMPERATURE = 0x1964  # 6500 K
_UNASSIGNED = 0x0000


class ElementRole(Enum):
    """What an element of a light carries, which decides its Generic Level binding."""

    MAIN = "main"
    CTL_TEMPERATURE = "ctl_temperature"
    HSL_HUE = "hsl_hue"
    HSL_SATURATION = "hsl_saturation"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An access message to send: from element ``src`` to ``dst``.

    ``app_key_index`` None means the device key.
    """

    src: int
    dst: int
    payload: bytes
    app_key_index: int | None
    ttl: int | None = None
    label_uuid: bytes | None = None


@dataclass(slots=True)
class Publication:
    """Model Publication state (MshPRT 1.1 §4.2.3)."""

    address: int = _UNASSIGNED
    app_key_index: int = 0
    credential_flag: bool = False
    ttl: int = 0xFF
    period: int = 0
    retransmit: int = 0
    label_uuid: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "app_key_index": self.app_key_index,
            "credential_flag": self.credential_flag,
            "ttl": self.ttl,
            "period": self.period,
            "retransmit": self.retransmit,
            "label_uuid": self.label_uuid.hex() if self.label_uuid is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Publication:
        label = data.get("label_uuid")
        return cls(
            address=int(data["address"]),
            app_key_index=int(data["app_key_index"]),
            credential_flag=bool(data["credential_flag"]),
            ttl=int(data["ttl"]),
            period=int(data["period"]),
            retransmit=int(data["retransmit"]),
            label_uuid=bytes.fromhex(label) if label is not None else None,
        )


# The light's primary states; everything else is bound to or derived from these.
_PRIMARY = ("on", "lightness", "temperature", "delta_uv", "hue", "saturation", "x", "y")


@dataclass(slots=True)
class _Transition:
    origin: dict[str, int]
    target: dict[str, int]
    start: float
    end: float


@dataclass(slots=True)
class LightState:
    """One light: the primary element and its auxiliary elements (CTL temperature, HSL hue
    and saturation). Values as on the air (lightness 0..65535, temperature in kelvin)."""

    on: int = 0
    lightness: int = 0
    last: int = 0xFFFF
    default: int = 0
    range_min: int = 1
    range_max: int = 0xFFFF
    temperature: int = DEFAULT_TEMPERATURE
    delta_uv: int = 0
    temperature_min: int = li.TEMPERATURE_MIN
    temperature_max: int = li.TEMPERATURE_MAX
    default_temperature: int = DEFAULT_TEMPERATURE
    default_delta_uv: int = 0
    hue: int = 0
    saturation: int = 0
    default_hue: int = 0
    default_saturation: int = 0
    hue_min: int = 0
    hue_max: int = 0xFFFF
    saturation_min: int = 0
    saturation_max: int = 0xFFFF
    x: int = 0x5000
    y: int = 0x5000
    default_x: int = 0x5000
    default_y: int = 0x5000
    x_min: int = 0
    x_max: int = 0xFFFF
    y_min: int = 0
    y_max: int = 0xFFFF
    default_transition: int = 0
    on_power_up: int = 0
    transition: _Transition | None = field(default=None, repr=False)

    def value(self, name: str, now: float) -> int:
        """A primary state's present value at ``now`` (mid-transition values interpolate)."""
        current = int(getattr(self, name))
        tr = self.transition
        if tr is None or name not in tr.target:
            return current
        origin, target = tr.origin[name], tr.target[name]
        if now >= tr.end:
            return target
        if name == "on":
            # MshMDL 1.1 §3.1.1: an OnOff transition to On shows On from its start.
            return 1 if target else origin
        if now <= tr.start or tr.end <= tr.start:
            return origin
        fraction = (now - tr.start) / (tr.end - tr.start)
        return round(origin + (target - origin) * fraction)

    def target(self, name: str) -> int | None:
        """The target of a running transition of ``name``, or None."""
        tr = self.transition
        if tr is None or name not in tr.target:
            return None
        return tr.target[name]

    def remaining(self, now: float) -> TransitionTime | None:
        """Remaining time of the running transition, or None."""
        tr = self.transition
        if tr is None:
            return None
        return TransitionTime.from_seconds(min(max(tr.end - now, 0.0), 37200.0))

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "transition"}
        tr = self.transition
        if tr is not None:  # a saved light ends its transition
            out.update(tr.target)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LightState:
        names = {f.name for f in fields(cls)} - {"transition"}
        light = cls()
        for key, value in data.items():
            if key in names:
                setattr(light, key, int(value))
        return light


@dataclass(frozen=True, slots=True)
class _Element:
    index: int
    light: int
    role: ElementRole
    models: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Ctx:
    element: _Element
    src: int
    dst: int
    app_key_index: int | None
    now: float
    repeated: bool  # same TID within 6 s: answer, do not act again


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


class NodeModels:
    """Configuration and model servers of one provisioned node.

    ``net_keys`` and ``app_keys`` are the transport stack's keyrings: the Configuration Server
    changes them in place. ``deferred_transitions`` makes transitions take their time (the
    owner then calls :meth:`tick` at :meth:`next_deadline`).
    """

    def __init__(
        self,
        profile: Profile,
        primary_address: int,
        net_keys: NetworkKeyring,
        *,
        deferred_transitions: bool = False,
        on_reset: Callable[[], None] | None = None,
        on_node_identity: Callable[[int], None] | None = None,
        on_state_changed: Callable[[int], None] | None = None,
    ) -> None:
        self.profile = profile
        self.primary_address = primary_address
        self.net_keys = net_keys
        self.app_keys = AppKeyring()
        self.deferred_transitions = deferred_transitions
        self.on_reset = on_reset
        self.on_node_identity = on_node_identity
        self.on_state_changed = on_state_changed
        # Configuration Server state (MshPRT 1.1 §4.2)
        self.app_key_records: dict[int, tuple[int, bytes, bytes | None]] = {}
        self.bindings: dict[tuple[int, int], set[int]] = {}
        self.publications: dict[tuple[int, int], Publication] = {}
        self.subscriptions: dict[tuple[int, int], list[int]] = {}
        self.label_uuids: dict[int, bytes] = {}
        self.default_ttl = 5
        self.beacon = True
        self.gatt_proxy = cfg.FeatureState.ENABLED
        self.relay = (
            cfg.FeatureState.ENABLED
            if profile.features & FEATURE_RELAY
            else cfg.FeatureState.NOT_SUPPORTED
        )
        self.relay_retransmit = 0
        self.network_transmit = 0
        self.node_identity = cfg.FeatureState.DISABLED
        # Health Server (MshPRT 1.1 §4.2, Health Fault state): faults present now, and every
        # fault seen since a Health Fault Clear (the registered faults), for our Company ID.
        self.attention_until: float | None = None
        self.fast_period_divisor = 0
        self.current_faults: list[int] = []
        self.registered_faults: list[int] = []
        # Generic OnOff Client (a wall switch): what the last press sent, and its TID.
        self.switch_on: dict[int, bool] = {}
        self.client_tid = 0
        # Sensor Server: the smart plug's energy counter; when each periodic status is due.
        self.meter = EnergyMeter()
        self._now = 0.0
        self._next_publish: dict[tuple[int, int], float] = {}
        # Lights and scenes
        self.elements = self._layout(profile)
        low, high = profile.temperature_range
        self.lights = [
            LightState(temperature_min=low, temperature_max=high)
            for _ in range(len({e.light for e in self.elements}))
        ]
        self.scenes: dict[int, list[dict[str, int]]] = {}
        self.current_scene = 0
        self._tids: dict[tuple[int, int], tuple[int, float]] = {}

    # --- layout ---------------------------------------------------------------------------

    @staticmethod
    def _layout(profile: Profile) -> list[_Element]:
        elements: list[_Element] = []
        light = -1
        for index, spec in enumerate(profile.elements):
            models = spec.models
            if ids.LIGHT_CTL_TEMPERATURE_SERVER in models:
                role = ElementRole.CTL_TEMPERATURE
            elif ids.LIGHT_HSL_HUE_SERVER in models:
                role = ElementRole.HSL_HUE
            elif ids.LIGHT_HSL_SATURATION_SERVER in models:
                role = ElementRole.HSL_SATURATION
            else:
                role = ElementRole.MAIN
            if role is ElementRole.MAIN or light < 0:
                light += 1
            elements.append(_Element(index, light, role, models))
        return elements

    def element_of(self, address: int) -> _Element | None:
        """The element at a unicast address, if it is ours."""
        index = address - self.primary_address
        if 0 <= index < len(self.elements):
            return self.elements[index]
        return None

    def _light_elements(self, light: int) -> list[_Element]:
        return [e for e in self.elements if e.light == light]

    def _has(self, light: int, model: int) -> bool:
        return any(model in e.models for e in self._light_elements(light))

    def group_addresses(self) -> set[int]:
        """Every address some model subscribes to (for the transport layer)."""
        return {a for addresses in self.subscriptions.values() for a in addresses}

    # --- dispatch -------------------------------------------------------------------------

    def handle(
        self,
        message: Message,
        *,
        src: int,
        dst: int,
        app_key_index: int | None,
        now: float,
        tid: int | None = None,
    ) -> list[Outgoing]:
        """Process one access message addressed to ``dst``; returns what to send."""
        self.observe(now)
        out: list[Outgoing] = []
        if isinstance(message, _CONFIG_MESSAGES):
            element = self.elements[0]
            if app_key_index is not None or dst != self.primary_address:
                return out  # §4.4.1: the Configuration Server uses the device key only
            reply = self._config(message, src, now, out)
            if reply is not None:
                out.insert(0, Outgoing(self.primary_address, src, encode_message(reply), None))
            return out
        model = HANDLED_BY.get(type(message))
        if model is None or app_key_index is None:
            return out
        for element in self._targets(dst, model):
            if app_key_index not in self.bindings.get((element.index, model), set()):
                continue  # §3.7.4.1: the key must be bound to the model
            repeated = False
            if tid is not None:
                key = (src, element.index)
                previous = self._tids.get(key)
                repeated = (
                    previous is not None and previous[0] == tid and now - previous[1] < TID_WINDOW
                )
                self._tids[key] = (tid, now)
            ctx = _Ctx(element, src, dst, app_key_index, now, repeated)
            before = self._snapshot(element.light, now)
            reply = self._dispatch(ctx, message)
            if reply is not None and type(message).RESPONSE is not None:
                out.append(
                    Outgoing(
                        self.primary_address + element.index,
                        src,
                        encode_message(reply),
                        app_key_index,
                    )
                )
            if self._snapshot(element.light, now) != before:
                if model not in (ids.SCENE_SERVER, ids.SCENE_SETUP_SERVER):
                    self.current_scene = 0  # MshMDL 1.1 §5.1.3.2: the scene is left
                out.extend(self.publish_light(element.light, now))
        return out

    def _targets(self, dst: int, model: int) -> list[_Element]:
        if is_unicast(dst):
            element = self.element_of(dst)
            return [element] if element is not None and model in element.models else []
        return [
            e
            for e in self.elements
            if model in e.models
            and (dst == 0xFFFF or dst in self.subscriptions.get((e.index, model), []))
        ]

    def _dispatch(self, ctx: _Ctx, m: Message) -> Message | None:
        light = self.lights[ctx.element.light]
        now = ctx.now
        # Generic OnOff
        if isinstance(m, gen.GenericOnOffGet):
            return self._onoff_status(light, now)
        if isinstance(m, gen.GenericOnOffSet | gen.GenericOnOffSetUnacknowledged):
            if not ctx.repeated:
                self._set_on(ctx.element.light, m.on, m.transition, m.delay, now)
            return self._onoff_status(light, now)
        # Generic Level (bound by role)
        if isinstance(m, gen.GenericLevelGet):
            return self._level_status(ctx.element, now)
        if isinstance(
            m,
            gen.GenericLevelSet
            | gen.GenericLevelSetUnacknowledged
            | gen.GenericDeltaSet
            | gen.GenericDeltaSetUnacknowledged
            | gen.GenericMoveSet
            | gen.GenericMoveSetUnacknowledged,
        ):
            if not ctx.repeated:
                self._set_level(ctx.element, m, now)
            return self._level_status(ctx.element, now)
        # Default Transition Time, OnPowerUp
        if isinstance(m, gen.GenericDefaultTransitionTimeGet):
            return gen.GenericDefaultTransitionTimeStatus(
                TransitionTime.from_byte(light.default_transition)
            )
        if isinstance(
            m,
            gen.GenericDefaultTransitionTimeSet | gen.GenericDefaultTransitionTimeSetUnacknowledged,
        ):
            for other in self.lights:
                other.default_transition = m.transition.to_byte()
            return gen.GenericDefaultTransitionTimeStatus(m.transition)
        if isinstance(m, gen.GenericOnPowerUpGet):
            return gen.GenericOnPowerUpStatus(gen.OnPowerUp(light.on_power_up))
        if isinstance(m, gen.GenericOnPowerUpSet | gen.GenericOnPowerUpSetUnacknowledged):
            light.on_power_up = int(m.on_power_up)
            return gen.GenericOnPowerUpStatus(m.on_power_up)
        # Health
        if isinstance(m, hl.HealthAttentionGet):
            return hl.HealthAttentionStatus(self.attention(now))
        if isinstance(m, hl.HealthAttentionSet | hl.HealthAttentionSetUnacknowledged):
            self.attention_until = now + m.attention if m.attention else None
            return hl.HealthAttentionStatus(m.attention)
        if isinstance(
            m, hl.HealthFaultGet | hl.HealthFaultClear | hl.HealthFaultClearUnacknowledged
        ):
            if m.company_id != self.profile.company_id:
                return None  # MshPRT 1.1 §4.4.2: a Company ID we do not have is ignored
            if not isinstance(m, hl.HealthFaultGet):
                self.registered_faults.clear()
            return hl.HealthFaultStatus(0, m.company_id, bytes(self.registered_faults))
        if isinstance(m, hl.HealthPeriodGet):
            return hl.HealthPeriodStatus(self.fast_period_divisor)
        if isinstance(m, hl.HealthPeriodSet | hl.HealthPeriodSetUnacknowledged):
            self.fast_period_divisor = m.fast_period_divisor
            return hl.HealthPeriodStatus(m.fast_period_divisor)
        # Generic Battery, Sensor
        if isinstance(m, gen.GenericBatteryGet):
            return self.battery_status()
        if isinstance(m, se.SensorGet | se.SensorDescriptorGet | se.SensorColumnGet):
            return self._sensor(m, now)
        if isinstance(m, se.SensorSeriesGet):
            return se.SensorSeriesStatus(m.property_id)  # §4.2.18: no series, no columns
        if isinstance(m, se.SensorCadenceGet | se.SensorCadenceSet):
            return se.SensorCadenceStatus(m.property_id)  # §4.2.6: cadence not supported
        if isinstance(m, se.SensorSettingsGet):
            return se.SensorSettingsStatus(m.property_id)  # no settings
        if isinstance(m, se.SensorSettingGet | se.SensorSettingSet):
            return se.SensorSettingStatus(m.property_id, m.setting_property_id)
        if isinstance(m, se.SensorCadenceSetUnacknowledged | se.SensorSettingSetUnacknowledged):
            return None
        # Light Lightness
        index = ctx.element.light
        if isinstance(m, li.LightLightnessGet):
            return self._lightness_status(light, now)
        if isinstance(m, li.LightLightnessSet | li.LightLightnessSetUnacknowledged):
            if not ctx.repeated:
                self._change(index, {"lightness": m.lightness}, m.transition, m.delay, now)
            return self._lightness_status(light, now)
        if isinstance(m, li.LightLightnessLinearGet):
            return self._linear_status(light, now)
        if isinstance(m, li.LightLightnessLinearSet | li.LightLightnessLinearSetUnacknowledged):
            if not ctx.repeated:
                actual = li.lightness_linear_to_actual(m.lightness)
                self._change(index, {"lightness": actual}, m.transition, m.delay, now)
            return self._linear_status(light, now)
        if isinstance(m, li.LightLightnessLastGet):
            return li.LightLightnessLastStatus(light.last)
        if isinstance(m, li.LightLightnessDefaultGet):
            return li.LightLightnessDefaultStatus(light.default)
        if isinstance(m, li.LightLightnessDefaultSet | li.LightLightnessDefaultSetUnacknowledged):
            light.default = m.lightness
            return li.LightLightnessDefaultStatus(light.default)
        if isinstance(m, li.LightLightnessRangeGet):
            return li.LightLightnessRangeStatus(
                li.RangeStatus.SUCCESS, light.range_min, light.range_max
            )
        if isinstance(m, li.LightLightnessRangeSet | li.LightLightnessRangeSetUnacknowledged):
            light.range_min, light.range_max = m.range_min, m.range_max
            return li.LightLightnessRangeStatus(
                li.RangeStatus.SUCCESS, light.range_min, light.range_max
            )
        # Light CTL
        if isinstance(m, li.LightCtlGet):
            return self._ctl_status(light, now)
        if isinstance(m, li.LightCtlSet | li.LightCtlSetUnacknowledged):
            if not ctx.repeated:
                changes = {
                    "lightness": m.lightness,
                    "temperature": _clamp(
                        m.temperature, light.temperature_min, light.temperature_max
                    ),
                    "delta_uv": m.delta_uv,
                }
                self._change(index, changes, m.transition, m.delay, now)
            return self._ctl_status(light, now)
        if isinstance(m, li.LightCtlTemperatureGet):
            return self._ctl_temperature_status(light, now)
        if isinstance(m, li.LightCtlTemperatureSet | li.LightCtlTemperatureSetUnacknowledged):
            if not ctx.repeated:
                changes = {
                    "temperature": _clamp(
                        m.temperature, light.temperature_min, light.temperature_max
                    ),
                    "delta_uv": m.delta_uv,
                }
                self._change(index, changes, m.transition, m.delay, now)
            return self._ctl_temperature_status(light, now)
        if isinstance(m, li.LightCtlTemperatureRangeGet):
            return li.LightCtlTemperatureRangeStatus(
                li.RangeStatus.SUCCESS, light.temperature_min, light.temperature_max
            )
        if isinstance(
            m, li.LightCtlTemperatureRangeSet | li.LightCtlTemperatureRangeSetUnacknowledged
        ):
            light.temperature_min, light.temperature_max = m.range_min, m.range_max
            return li.LightCtlTemperatureRangeStatus(
                li.RangeStatus.SUCCESS, light.temperature_min, light.temperature_max
            )
        if isinstance(m, li.LightCtlDefaultGet):
            return li.LightCtlDefaultStatus(
                light.default, light.default_temperature, light.default_delta_uv
            )
        if isinstance(m, li.LightCtlDefaultSet | li.LightCtlDefaultSetUnacknowledged):
            light.default = m.lightness
            light.default_temperature, light.default_delta_uv = m.temperature, m.delta_uv
            return li.LightCtlDefaultStatus(m.lightness, m.temperature, m.delta_uv)
        # Light HSL
        if isinstance(m, li.LightHslGet):
            return self._hsl_status(light, now)
        if isinstance(m, li.LightHslTargetGet):
            return self._hsl_target_status(light, now)
        if isinstance(m, li.LightHslSet | li.LightHslSetUnacknowledged):
            if not ctx.repeated:
                changes = {
                    "lightness": m.lightness,
                    "hue": _clamp(m.hue, light.hue_min, light.hue_max),
                    "saturation": _clamp(m.saturation, light.saturation_min, light.saturation_max),
                }
                self._change(index, changes, m.transition, m.delay, now)
            return self._hsl_status(light, now)
        if isinstance(m, li.LightHslHueGet):
            return self._hue_status(light, now)
        if isinstance(m, li.LightHslHueSet | li.LightHslHueSetUnacknowledged):
            if not ctx.repeated:
                hue = _clamp(m.hue, light.hue_min, light.hue_max)
                self._change(index, {"hue": hue}, m.transition, m.delay, now)
            return self._hue_status(light, now)
        if isinstance(m, li.LightHslSaturationGet):
            return self._saturation_status(light, now)
        if isinstance(m, li.LightHslSaturationSet | li.LightHslSaturationSetUnacknowledged):
            if not ctx.repeated:
                sat = _clamp(m.saturation, light.saturation_min, light.saturation_max)
                self._change(index, {"saturation": sat}, m.transition, m.delay, now)
            return self._saturation_status(light, now)
        if isinstance(m, li.LightHslDefaultGet):
            return li.LightHslDefaultStatus(
                light.default, light.default_hue, light.default_saturation
            )
        if isinstance(m, li.LightHslDefaultSet | li.LightHslDefaultSetUnacknowledged):
            light.default, light.default_hue, light.default_saturation = (
                m.lightness,
                m.hue,
                m.saturation,
            )
            return li.LightHslDefaultStatus(m.lightness, m.hue, m.saturation)
        if isinstance(m, li.LightHslRangeGet):
            return self._hsl_range_status(light)
        if isinstance(m, li.LightHslRangeSet | li.LightHslRangeSetUnacknowledged):
            light.hue_min, light.hue_max = m.hue_min, m.hue_max
            light.saturation_min, light.saturation_max = m.saturation_min, m.saturation_max
            return self._hsl_range_status(light)
        # Light xyL
        if isinstance(m, li.LightXylGet):
            return li.LightXylStatus(
                light.value("lightness", now),
                light.value("x", now),
                light.value("y", now),
                light.remaining(now),
            )
        if isinstance(m, li.LightXylTargetGet):
            return li.LightXylTargetStatus(
                self._target(light, "lightness"),
                self._target(light, "x"),
                self._target(light, "y"),
                light.remaining(now),
            )
        if isinstance(m, li.LightXylSet | li.LightXylSetUnacknowledged):
            if not ctx.repeated:
                changes = {
                    "lightness": m.lightness,
                    "x": _clamp(m.x, light.x_min, light.x_max),
                    "y": _clamp(m.y, light.y_min, light.y_max),
                }
                self._change(index, changes, m.transition, m.delay, now)
            return li.LightXylStatus(
                light.value("lightness", now),
                light.value("x", now),
                light.value("y", now),
                light.remaining(now),
            )
        if isinstance(m, li.LightXylDefaultGet):
            return li.LightXylDefaultStatus(light.default, light.default_x, light.default_y)
        if isinstance(m, li.LightXylDefaultSet | li.LightXylDefaultSetUnacknowledged):
            light.default, light.default_x, light.default_y = m.lightness, m.x, m.y
            return li.LightXylDefaultStatus(m.lightness, m.x, m.y)
        if isinstance(m, li.LightXylRangeGet):
            return li.LightXylRangeStatus(
                li.RangeStatus.SUCCESS, light.x_min, light.x_max, light.y_min, light.y_max
            )
        if isinstance(m, li.LightXylRangeSet | li.LightXylRangeSetUnacknowledged):
            light.x_min, light.x_max, light.y_min, light.y_max = m.x_min, m.x_max, m.y_min, m.y_max
            return li.LightXylRangeStatus(
                li.RangeStatus.SUCCESS, light.x_min, light.x_max, light.y_min, light.y_max
            )
        # Scenes
        return self._scene(ctx, m)

    # --- state changes --------------------------------------------------------------------

    def _snapshot(self, light_index: int, now: float) -> tuple[int, ...]:
        light = self.lights[light_index]
        targets = tuple(light.target(n) or -1 for n in _PRIMARY)
        return tuple(light.value(n, now) for n in _PRIMARY) + targets

    def _set_on(
        self, light_index: int, on: bool, transition: TransitionTime | None, delay: int, now: float
    ) -> None:
        light = self.lights[light_index]
        if not self._has(light_index, ids.LIGHT_LIGHTNESS_SERVER):
            self._change(light_index, {"on": int(on)}, transition, delay, now)
            return
        if on:
            target = light.default or light.last
            self._change(light_index, {"lightness": target}, transition, delay, now)
        else:
            self._change(light_index, {"lightness": 0}, transition, delay, now)

    def _set_level(self, element: _Element, m: Message, now: float) -> None:
        light = self.lights[element.light]
        present = self._level(element, now)
        transition: TransitionTime | None = getattr(m, "transition", None)
        delay: int = getattr(m, "delay", 0)
        if isinstance(m, gen.GenericLevelSet | gen.GenericLevelSetUnacknowledged):
            level = m.level
        elif isinstance(m, gen.GenericDeltaSet | gen.GenericDeltaSetUnacknowledged):
            level = _clamp(present + m.delta_level, -0x8000, 0x7FFF)
        else:
            assert isinstance(m, gen.GenericMoveSet | gen.GenericMoveSetUnacknowledged)
            # Move: run to the end of the range at delta_level per transition time.
            if m.delta_level == 0 or transition is None or not transition.seconds:
                return
            level = 0x7FFF if m.delta_level > 0 else -0x8000
            seconds = abs(level - present) / abs(m.delta_level) * transition.seconds
            transition = TransitionTime.from_seconds(min(seconds, 37200.0))
        if element.role is ElementRole.CTL_TEMPERATURE:
            temperature = li.level_to_temperature(
                level, light.temperature_min, light.temperature_max
            )
            self._change(element.light, {"temperature": temperature}, transition, delay, now)
        elif element.role is ElementRole.HSL_HUE:
            self._change(element.light, {"hue": level + 0x8000}, transition, delay, now)
        elif element.role is ElementRole.HSL_SATURATION:
            self._change(element.light, {"saturation": level + 0x8000}, transition, delay, now)
        else:
            self._change(element.light, {"lightness": level + 0x8000}, transition, delay, now)

    def _normalize(self, light_index: int, changes: dict[str, int]) -> dict[str, int]:
        light = self.lights[light_index]
        out = dict(changes)
        if not self._has(light_index, ids.LIGHT_LIGHTNESS_SERVER):
            # An on/off plug has no lightness: only Generic OnOff is its state.
            out.pop("lightness", None)
        elif "lightness" in out:
            lightness = out["lightness"]
            if lightness:
                lightness = _clamp(lightness, light.range_min, light.range_max)
            out["lightness"] = lightness
            out["on"] = int(lightness > 0)
        return out

    def _change(
        self,
        light_index: int,
        changes: dict[str, int],
        transition: TransitionTime | None,
        delay: int,
        now: float,
    ) -> None:
        light = self.lights[light_index]
        self.finish_transitions(now, light_index)
        changes = self._normalize(light_index, changes)
        if transition is None:
            transition = TransitionTime.from_byte(light.default_transition)
        seconds = (transition.seconds or 0.0) + delay * 0.005
        if not self.deferred_transitions or seconds <= 0:
            self._apply(light_index, changes)
            return
        origin = {name: int(getattr(light, name)) for name in changes}
        light.transition = _Transition(origin, changes, now + delay * 0.005, now + seconds)

    def _apply(self, light_index: int, changes: Mapping[str, int]) -> None:
        light = self.lights[light_index]
        for name, value in changes.items():
            setattr(light, name, value)
        if changes.get("lightness"):
            light.last = changes["lightness"]
        if self.on_state_changed is not None:
            self.on_state_changed(light_index)

    def finish_transitions(self, now: float, light_index: int | None = None) -> list[int]:
        """Complete every transition that ended by ``now``; a running transition of
        ``light_index`` (superseded by a new transaction) stops at its present value.
        Returns the indexes of the lights that changed."""
        done = []
        for index, light in enumerate(self.lights):
            tr = light.transition
            if tr is None:
                continue
            if now >= tr.end:
                values = tr.target
            elif index == light_index:
                values = {name: light.value(name, now) for name in tr.target}
            else:
                continue
            light.transition = None
            self._apply(index, values)
            done.append(index)
        return done

    def next_deadline(self) -> float | None:
        """End of the earliest running transition or attention timer, or the next periodic
        publication."""
        deadlines = [light.transition.end for light in self.lights if light.transition]
        if self.attention_until is not None:
            deadlines.append(self.attention_until)
        self._sync_periodic()
        deadlines.extend(self._next_publish.values())
        return min(deadlines, default=None)

    def tick(self, now: float) -> list[Outgoing]:
        """Finish due transitions and publish what is due; returns the publications."""
        self.observe(now)
        if self.attention_until is not None and now >= self.attention_until:
            self.attention_until = None
        out: list[Outgoing] = []
        for index in self.finish_transitions(now):
            out.extend(self.publish_light(index, now))
        periods = self._periods()
        for key, due in list(self._next_publish.items()):
            if now < due or key not in periods:
                continue
            element_index, model = key
            self._next_publish[key] = now + periods[key]
            status = (
                self.health_current_status()
                if model == ids.HEALTH_SERVER
                else self._status_for(model, self.elements[element_index], now)
            )
            if status is not None:
                out.extend(self.publish(element_index, model, status))
        return out

    def observe(self, now: float) -> None:
        """Time passed: the energy meter counts what the plug used meanwhile. Every entry
        point calls it; the owner calls it too before saving, so the saved counter is current."""
        self._now = max(self._now, now)
        if PRESENT_DEVICE_INPUT_POWER in self.profile.sensors:
            self.meter.advance(now, bool(self.lights[0].on))

    def _periods(self) -> dict[tuple[int, int], float]:
        """Seconds between the periodic publications of each model that has a period; the
        Health Server's is divided by 2^Fast Period Divisor while a fault is present
        (MshPRT 1.1 §4.2, Health Period state)."""
        out: dict[tuple[int, int], float] = {}
        for (element_index, model), publication in self.publications.items():
            seconds = PublishPeriod.from_byte(publication.period).seconds
            if model not in _PERIODIC or not seconds:
                continue
            if model == ids.HEALTH_SERVER and self.current_faults:
                seconds /= 2**self.fast_period_divisor
            out[(element_index, model)] = seconds
        return out

    def _sync_periodic(self) -> None:
        """Follow the publications: a new or shortened period is due one period from now."""
        periods = self._periods()
        for key in [k for k in self._next_publish if k not in periods]:
            del self._next_publish[key]
        for key, seconds in periods.items():
            due = self._next_publish.get(key)
            if due is None or due > self._now + seconds:
                self._next_publish[key] = self._now + seconds

    def attention(self, now: float) -> int:
        """Remaining Attention Timer seconds (Health Server)."""
        if self.attention_until is None:
            return 0
        return max(0, min(0xFF, round(self.attention_until - now)))

    def set_state(
        self,
        light_index: int,
        changes: Mapping[str, int],
        *,
        transition: float | None = None,
        now: float,
    ) -> list[Outgoing]:
        """Local control (a wall switch): change primary states, publish the statuses."""
        unknown = set(changes) - set(_PRIMARY)
        if unknown:
            raise UsageError(f"unknown light states: {sorted(unknown)}")
        self.observe(now)
        before = self._snapshot(light_index, now)
        values = dict(changes)
        tt = TransitionTime.from_seconds(transition) if transition is not None else None
        if "on" in values and "lightness" not in values:
            self._set_on(light_index, bool(values.pop("on")), tt, 0, now)
        if values:
            self._change(light_index, values, tt, 0, now)
        if self._snapshot(light_index, now) == before:
            return []
        self.current_scene = 0
        return self.publish_light(light_index, now)

    # --- statuses -------------------------------------------------------------------------

    @staticmethod
    def _target(light: LightState, name: str) -> int:
        target = light.target(name)
        return int(getattr(light, name)) if target is None else target

    def _onoff_status(self, light: LightState, now: float) -> gen.GenericOnOffStatus:
        remaining = light.remaining(now)
        present = bool(light.value("on", now))
        if remaining is None:
            return gen.GenericOnOffStatus(present)
        return gen.GenericOnOffStatus(present, bool(self._target(light, "on")), remaining)

    def _level(self, element: _Element, now: float) -> int:
        light = self.lights[element.light]
        if element.role is ElementRole.CTL_TEMPERATURE:
            return li.temperature_to_level(
                light.value("temperature", now), light.temperature_min, light.temperature_max
            )
        if element.role is ElementRole.HSL_HUE:
            return light.value("hue", now) - 0x8000
        if element.role is ElementRole.HSL_SATURATION:
            return light.value("saturation", now) - 0x8000
        return light.value("lightness", now) - 0x8000

    def _level_status(self, element: _Element, now: float) -> gen.GenericLevelStatus:
        light = self.lights[element.light]
        present = self._level(element, now)
        remaining = light.remaining(now)
        if remaining is None:
            return gen.GenericLevelStatus(present)
        end = replace(light, transition=None)
        for name in _PRIMARY:
            setattr(end, name, self._target(light, name))
        if element.role is ElementRole.CTL_TEMPERATURE:
            target = li.temperature_to_level(
                end.temperature, end.temperature_min, end.temperature_max
            )
        elif element.role is ElementRole.HSL_HUE:
            target = end.hue - 0x8000
        elif element.role is ElementRole.HSL_SATURATION:
            target = end.saturation - 0x8000
        else:
            target = end.lightness - 0x8000
        return gen.GenericLevelStatus(present, target, remaining)

    def _lightness_status(self, light: LightState, now: float) -> li.LightLightnessStatus:
        remaining = light.remaining(now)
        present = light.value("lightness", now)
        if remaining is None:
            return li.LightLightnessStatus(present)
        return li.LightLightnessStatus(present, self._target(light, "lightness"), remaining)

    def _linear_status(self, light: LightState, now: float) -> li.LightLightnessLinearStatus:
        remaining = light.remaining(now)
        present = li.lightness_actual_to_linear(light.value("lightness", now))
        if remaining is None:
            return li.LightLightnessLinearStatus(present)
        target = li.lightness_actual_to_linear(self._target(light, "lightness"))
        return li.LightLightnessLinearStatus(present, target, remaining)

    def _ctl_status(self, light: LightState, now: float) -> li.LightCtlStatus:
        remaining = light.remaining(now)
        lightness, temperature = light.value("lightness", now), light.value("temperature", now)
        if remaining is None:
            return li.LightCtlStatus(lightness, temperature)
        return li.LightCtlStatus(
            lightness,
            temperature,
            self._target(light, "lightness"),
            self._target(light, "temperature"),
            remaining,
        )

    def _ctl_temperature_status(
        self, light: LightState, now: float
    ) -> li.LightCtlTemperatureStatus:
        remaining = light.remaining(now)
        temperature, duv = light.value("temperature", now), light.value("delta_uv", now)
        if remaining is None:
            return li.LightCtlTemperatureStatus(temperature, duv)
        return li.LightCtlTemperatureStatus(
            temperature,
            duv,
            self._target(light, "temperature"),
            self._target(light, "delta_uv"),
            remaining,
        )

    def _hsl_status(self, light: LightState, now: float) -> li.LightHslStatus:
        return li.LightHslStatus(
            light.value("lightness", now),
            light.value("hue", now),
            light.value("saturation", now),
            light.remaining(now),
        )

    def _hsl_target_status(self, light: LightState, now: float) -> li.LightHslTargetStatus:
        return li.LightHslTargetStatus(
            self._target(light, "lightness"),
            self._target(light, "hue"),
            self._target(light, "saturation"),
            light.remaining(now),
        )

    def _hue_status(self, light: LightState, now: float) -> li.LightHslHueStatus:
        remaining = light.remaining(now)
        if remaining is None:
            return li.LightHslHueStatus(light.value("hue", now))
        return li.LightHslHueStatus(light.value("hue", now), self._target(light, "hue"), remaining)

    def _saturation_status(self, light: LightState, now: float) -> li.LightHslSaturationStatus:
        remaining = light.remaining(now)
        present = light.value("saturation", now)
        if remaining is None:
            return li.LightHslSaturationStatus(present)
        return li.LightHslSaturationStatus(present, self._target(light, "saturation"), remaining)

    @staticmethod
    def _hsl_range_status(light: LightState) -> li.LightHslRangeStatus:
        return li.LightHslRangeStatus(
            li.RangeStatus.SUCCESS,
            light.hue_min,
            light.hue_max,
            light.saturation_min,
            light.saturation_max,
        )

    def _status_for(self, model: int, element: _Element, now: float) -> Message | None:
        """The status ``model`` publishes when its state changes: the registry's ``status``."""
        spec = BY_ID.get(model)
        status = spec.status if spec is not None else None
        light = self.lights[element.light]
        if status is gen.GenericOnOffStatus:
            return self._onoff_status(light, now)
        if status is gen.GenericLevelStatus:
            return self._level_status(element, now)
        if status is li.LightLightnessStatus:
            return self._lightness_status(light, now)
        if status is li.LightCtlStatus:
            return self._ctl_status(light, now)
        if status is li.LightCtlTemperatureStatus:
            return self._ctl_temperature_status(light, now)
        if status is li.LightHslStatus:
            return self._hsl_status(light, now)
        if status is li.LightHslHueStatus:
            return self._hue_status(light, now)
        if status is li.LightHslSaturationStatus:
            return self._saturation_status(light, now)
        if status is se.SensorStatus:
            return self.sensor_status(now) if self.profile.sensors else None
        if status is gen.GenericBatteryStatus:
            return self.battery_status()
        if status is li.LightXylStatus:
            return li.LightXylStatus(
                light.value("lightness", now),
                light.value("x", now),
                light.value("y", now),
                light.remaining(now),
            )
        return None

    def publish_light(self, light_index: int, now: float) -> list[Outgoing]:
        """Status publications of every model of the light that has a publish address
        (MshMDL 1.1 §3.3: a server publishes its status when its state changes)."""
        out: list[Outgoing] = []
        for element in self._light_elements(light_index):
            for model in element.models:
                if not self._publishes(element.index, model):
                    continue
                status = self._status_for(model, element, now)
                if status is not None:
                    out.extend(self.publish(element.index, model, status))
        return out

    def _publishes(self, element_index: int, model: int) -> bool:
        publication = self.publications.get((element_index, model))
        return (
            publication is not None
            and publication.address != _UNASSIGNED
            and publication.app_key_index in self.app_key_records
        )

    def publish(self, element_index: int, model: int, message: Message) -> list[Outgoing]:
        """``message`` to the publish address of ``model`` on element ``element_index``, with
        its AppKey and TTL (MshPRT 1.1 §4.2.3); nothing when the model has no publication."""
        if not self._publishes(element_index, model):
            return []
        publication = self.publications[(element_index, model)]
        return [
            Outgoing(
                self.primary_address + element_index,
                publication.address,
                encode_message(message),
                publication.app_key_index,
                None if publication.ttl == 0xFF else publication.ttl,
                publication.label_uuid,
            )
        ]

    # --- Sensor Server (MshMDL 1.1 §4.3), Generic Battery Server (§3.3) -----------------

    def sensor_value(self, property_id: int, now: float) -> float:
        """What the sensor ``property_id`` measures at ``now`` (°C, %, lx, W, kWh)."""
        self.observe(now)
        if property_id == PRESENT_DEVICE_INPUT_POWER:
            return plug_power(now, bool(self.lights[0].on))
        if property_id == PRECISE_TOTAL_DEVICE_ENERGY_USE:
            return self.meter.energy_kwh
        return AMBIENT[property_id](now)

    def sensor_status(self, now: float, property_id: int | None = None) -> se.SensorStatus:
        """Sensor Status of every sensor, or of ``property_id`` (a zero-length value when the
        element has no such sensor, §4.2.14)."""
        wanted = self.profile.sensors if property_id is None else (property_id,)
        return se.SensorStatus.of(
            (
                pid,
                PROPERTIES[pid].encode(self.sensor_value(pid, now))
                if pid in self.profile.sensors
                else b"",
            )
            for pid in wanted
        )

    def _sensor(self, m: Message, now: float) -> Message:
        property_id: int | None = getattr(m, "property_id", None)
        known = property_id is None or property_id in self.profile.sensors
        if isinstance(m, se.SensorGet):
            return self.sensor_status(now, property_id)
        if isinstance(m, se.SensorColumnGet):
            # §4.2.16: no column at that Raw Value X: the status echoes it alone.
            return se.SensorColumnStatus(m.property_id, m.raw_value_x)
        if not known:
            return se.SensorDescriptorStatus(missing_property_id=property_id)
        wanted = self.profile.sensors if property_id is None else (property_id,)
        return se.SensorDescriptorStatus(tuple(descriptor(pid) for pid in wanted))

    def battery_status(self) -> gen.GenericBatteryStatus:
        """The battery: the profile's level, a removable cell, not chargeable, good."""
        level = self.profile.battery_level
        if level is None:
            return gen.GenericBatteryStatus(
                gen.BATTERY_LEVEL_UNKNOWN,
                gen.BATTERY_TIME_UNKNOWN,
                gen.BATTERY_TIME_UNKNOWN,
                gen.BatteryFlags(),
            )
        return gen.GenericBatteryStatus(
            level,
            _BATTERY_LIFE_MINUTES * level // 100,
            gen.BATTERY_TIME_UNKNOWN,
            gen.BatteryFlags(
                gen.BatteryPresence.PRESENT_REMOVABLE,
                gen.BatteryIndicator.GOOD,
                gen.BatteryCharging.NOT_CHARGEABLE,
                gen.BatteryServiceability.NOT_REQUIRED,
            ),
        )

    # --- Health faults (MshPRT 1.1 §4.2 Health Fault state, §4.4.2 Health Server) ---------

    def health_current_status(self) -> hl.HealthCurrentStatus:
        """The faults present now, as the Health Server publishes them."""
        return hl.HealthCurrentStatus(0, self.profile.company_id, bytes(self.current_faults))

    def raise_fault(self, code: int) -> list[Outgoing]:
        """A fault appears (a test, an overheating driver...): it is current and registered
        until a Health Fault Clear. Returns the Health Current Status publication."""
        if not 0x01 <= code <= 0xFF:
            raise UsageError(f"fault code {code} is not 1..255 (0x00 means no fault)")
        if code not in self.current_faults:
            self.current_faults.append(code)
        if code not in self.registered_faults:
            self.registered_faults.append(code)
        return self.publish(0, ids.HEALTH_SERVER, self.health_current_status())

    def clear_fault(self, code: int | None = None) -> list[Outgoing]:
        """The fault ``code`` (None: every fault) is gone; it stays registered until a Health
        Fault Clear. Returns the Health Current Status publication."""
        if code is None:
            self.current_faults.clear()
        elif code in self.current_faults:
            self.current_faults.remove(code)
        return self.publish(0, ids.HEALTH_SERVER, self.health_current_status())

    # --- Generic OnOff Client (MshMDL 1.1 §3.4.1): a wall switch --------------------------

    def press(self, element_index: int = 0, on: bool | None = None) -> list[Outgoing]:
        """The switch's button: Generic OnOff Set Unacknowledged, a new TID each press, to the
        client's publish address. ``on`` None toggles what the last press sent."""
        if not 0 <= element_index < len(self.elements) or (
            ids.GENERIC_ONOFF_CLIENT not in self.elements[element_index].models
        ):
            raise UsageError(f"element {element_index} has no Generic OnOff Client")
        target = not self.switch_on.get(element_index, False) if on is None else on
        self.switch_on[element_index] = target
        self.client_tid = (self.client_tid + 1) % 0x100
        message = gen.GenericOnOffSetUnacknowledged(target, self.client_tid)
        return self.publish(element_index, ids.GENERIC_ONOFF_CLIENT, message)

    # --- power (MshMDL 1.1 §3.1.4 Generic OnPowerUp) --------------------------------------

    def power_up(self, now: float) -> list[Outgoing]:
        """The node lost power and got it back: volatile state (transitions, attention, the
        TID cache) is gone and each light takes the state its Generic OnPowerUp says: Off,
        Default (on, at its default values), or Restore (as it was, a running transition at
        its target). Returns the status publications of every light."""
        self.observe(now)
        self.attention_until = None
        self._tids.clear()
        out: list[Outgoing] = []
        for index, light in enumerate(self.lights):
            tr, light.transition = light.transition, None
            if tr is not None:
                self._apply(index, tr.target)
            mode = gen.OnPowerUp(light.on_power_up)
            if mode is gen.OnPowerUp.OFF:
                self._apply(index, self._normalize(index, {"on": 0, "lightness": 0}))
            elif mode is gen.OnPowerUp.DEFAULT:
                changes = {
                    "on": 1,
                    "lightness": light.default or light.last,
                    "temperature": light.default_temperature,
                    "delta_uv": light.default_delta_uv,
                    "hue": light.default_hue,
                    "saturation": light.default_saturation,
                    "x": light.default_x,
                    "y": light.default_y,
                }
                self._apply(index, self._normalize(index, changes))
            out.extend(self.publish_light(index, now))
        return out

    # --- scenes (MshMDL 1.1 §5.1.3) -------------------------------------------------------

    def _scene(self, ctx: _Ctx, m: Message) -> Message | None:
        now = ctx.now
        if isinstance(m, sc.SceneGet):
            return sc.SceneStatus(sc.SceneStatusCode.SUCCESS, self.current_scene)
        if isinstance(m, sc.SceneRegisterGet):
            return self._register_status(sc.SceneStatusCode.SUCCESS)
        if isinstance(m, sc.SceneStore | sc.SceneStoreUnacknowledged):
            if m.scene_number not in self.scenes and len(self.scenes) >= SCENE_REGISTER_SIZE:
                return self._register_status(sc.SceneStatusCode.SCENE_REGISTER_FULL)
            self.finish_transitions(now)
            self.scenes[m.scene_number] = [
                {n: int(getattr(light, n)) for n in _PRIMARY} for light in self.lights
            ]
            self.current_scene = m.scene_number
            return self._register_status(sc.SceneStatusCode.SUCCESS)
        if isinstance(m, sc.SceneDelete | sc.SceneDeleteUnacknowledged):
            self.scenes.pop(m.scene_number, None)
            if self.current_scene == m.scene_number:
                self.current_scene = 0
            return self._register_status(sc.SceneStatusCode.SUCCESS)
        if isinstance(m, sc.SceneRecall | sc.SceneRecallUnacknowledged):
            stored = self.scenes.get(m.scene_number)
            if stored is None:
                return sc.SceneStatus(sc.SceneStatusCode.SCENE_NOT_FOUND, self.current_scene)
            if not ctx.repeated:
                self.recall_scene(m.scene_number, now, transition=m.transition, delay=m.delay)
            return sc.SceneStatus(sc.SceneStatusCode.SUCCESS, self.current_scene)
        return None

    def recall_scene(
        self,
        number: int,
        now: float,
        *,
        transition: TransitionTime | None = None,
        delay: int = 0,
    ) -> list[Outgoing]:
        """Restore a stored scene on every light; returns the status publications."""
        stored = self.scenes.get(number)
        if stored is None:
            raise UsageError(f"scene {number} is not stored")
        out: list[Outgoing] = []
        for index, values in enumerate(stored):
            if index >= len(self.lights):
                break
            before = self._snapshot(index, now)
            self._change(index, dict(values), transition, delay, now)
            if self._snapshot(index, now) != before:
                out.extend(self.publish_light(index, now))
        self.current_scene = number
        return out

    def _register_status(self, code: sc.SceneStatusCode) -> sc.SceneRegisterStatus:
        return sc.SceneRegisterStatus(code, self.current_scene, tuple(sorted(self.scenes)))

    # --- Configuration Server (MshPRT 1.1 §4.4.1) -----------------------------------------

    def _model_status(
        self, element_address: int, model_id: ModelId, *, subscribe: bool = False
    ) -> tuple[cfg.ConfigStatus, _Element | None]:
        element = self.element_of(element_address)
        if element is None:
            return cfg.ConfigStatus.INVALID_ADDRESS, None
        if model_id.is_vendor or model_id.model_id not in element.models:
            return cfg.ConfigStatus.INVALID_MODEL, element
        if subscribe and model_id.model_id == ids.CONFIGURATION_SERVER:
            return cfg.ConfigStatus.NOT_A_SUBSCRIBE_MODEL, element
        return cfg.ConfigStatus.SUCCESS, element

    def _sync_app_keys(self) -> None:
        """Rebuild :attr:`app_keys` (the owner hands it to its transport stack)."""
        ring = AppKeyring()
        for index, (net_index, key, new_key) in self.app_key_records.items():
            ring.add(AppKey(index, key, net_index))
            if new_key is not None:
                ring.update(AppKey(index, new_key, net_index))
        self.app_keys = ring

    def _config(self, m: Message, src: int, now: float, out: list[Outgoing]) -> Message | None:
        c = cfg
        if isinstance(m, c.ConfigCompositionDataGet):
            return c.ConfigCompositionDataStatus(0, self.profile.composition_data_page0())
        if isinstance(m, c.ConfigBeaconGet):
            return c.ConfigBeaconStatus(self.beacon)
        if isinstance(m, c.ConfigBeaconSet):
            self.beacon = m.enabled
            return c.ConfigBeaconStatus(self.beacon)
        if isinstance(m, c.ConfigDefaultTtlGet):
            return c.ConfigDefaultTtlStatus(self.default_ttl)
        if isinstance(m, c.ConfigDefaultTtlSet):
            self.default_ttl = m.ttl
            return c.ConfigDefaultTtlStatus(self.default_ttl)
        if isinstance(m, c.ConfigGattProxyGet):
            return c.ConfigGattProxyStatus(self.gatt_proxy)
        if isinstance(m, c.ConfigGattProxySet):
            self.gatt_proxy = c.FeatureState.ENABLED if m.enabled else c.FeatureState.DISABLED
            return c.ConfigGattProxyStatus(self.gatt_proxy)
        if isinstance(m, c.ConfigFriendGet | c.ConfigFriendSet):
            return c.ConfigFriendStatus(c.FeatureState.NOT_SUPPORTED)
        if isinstance(m, c.ConfigRelayGet):
            return c.ConfigRelayStatus(self.relay, Retransmit.from_byte(self.relay_retransmit))
        if isinstance(m, c.ConfigRelaySet):
            if self.relay is not c.FeatureState.NOT_SUPPORTED:
                self.relay = c.FeatureState.ENABLED if m.enabled else c.FeatureState.DISABLED
                self.relay_retransmit = m.retransmit.to_byte()
            return c.ConfigRelayStatus(self.relay, Retransmit.from_byte(self.relay_retransmit))
        if isinstance(m, c.ConfigNetworkTransmitGet):
            return c.ConfigNetworkTransmitStatus(Retransmit.from_byte(self.network_transmit))
        if isinstance(m, c.ConfigNetworkTransmitSet):
            self.network_transmit = m.transmit.to_byte()
            return c.ConfigNetworkTransmitStatus(m.transmit)
        # NetKeys
        if isinstance(m, c.ConfigNetKeyGet):
            return c.ConfigNetKeyList(tuple(sorted(e.index for e in self.net_keys)))
        if isinstance(m, c.ConfigNetKeyAdd):
            status = c.ConfigStatus.SUCCESS
            try:
                self.net_keys.add(m.net_key_index, m.net_key)
            except UsageError:
                status = c.ConfigStatus.KEY_INDEX_ALREADY_STORED
            return c.ConfigNetKeyStatus(status, m.net_key_index)
        if isinstance(m, c.ConfigNetKeyUpdate):
            if m.net_key_index not in self.net_keys:
                return c.ConfigNetKeyStatus(c.ConfigStatus.INVALID_NETKEY_INDEX, m.net_key_index)
            try:
                self.net_keys.update(m.net_key_index, m.net_key)
            except UsageError:
                return c.ConfigNetKeyStatus(c.ConfigStatus.CANNOT_UPDATE, m.net_key_index)
            return c.ConfigNetKeyStatus(c.ConfigStatus.SUCCESS, m.net_key_index)
        if isinstance(m, c.ConfigNetKeyDelete):
            if m.net_key_index in self.net_keys and len(list(self.net_keys)) == 1:
                return c.ConfigNetKeyStatus(c.ConfigStatus.CANNOT_REMOVE, m.net_key_index)
            self.net_keys.remove(m.net_key_index)
            for index in [i for i, r in self.app_key_records.items() if r[0] == m.net_key_index]:
                self._delete_app_key(index)
            return c.ConfigNetKeyStatus(c.ConfigStatus.SUCCESS, m.net_key_index)
        if isinstance(m, c.ConfigKeyRefreshPhaseGet):
            if m.net_key_index not in self.net_keys:
                return c.ConfigKeyRefreshPhaseStatus(
                    c.ConfigStatus.INVALID_NETKEY_INDEX, m.net_key_index, KeyRefreshPhase.NORMAL
                )
            phase = self.net_keys.get(m.net_key_index).phase
            return c.ConfigKeyRefreshPhaseStatus(
                c.ConfigStatus.SUCCESS, m.net_key_index, KeyRefreshPhase(int(phase))
            )
        if isinstance(m, c.ConfigKeyRefreshPhaseSet):
            if m.net_key_index not in self.net_keys:
                return c.ConfigKeyRefreshPhaseStatus(
                    c.ConfigStatus.INVALID_NETKEY_INDEX, m.net_key_index, KeyRefreshPhase.NORMAL
                )
            try:
                self.net_keys.set_phase(m.net_key_index, m.transition)
            except UsageError:
                phase = self.net_keys.get(m.net_key_index).phase
                return c.ConfigKeyRefreshPhaseStatus(
                    c.ConfigStatus.CANNOT_SET, m.net_key_index, KeyRefreshPhase(int(phase))
                )
            if m.transition == 3:
                for index, (net_index, _key, new_key) in list(self.app_key_records.items()):
                    if net_index == m.net_key_index and new_key is not None:
                        self.app_key_records[index] = (net_index, new_key, None)
                self._sync_app_keys()
            phase = self.net_keys.get(m.net_key_index).phase
            return c.ConfigKeyRefreshPhaseStatus(
                c.ConfigStatus.SUCCESS, m.net_key_index, KeyRefreshPhase(int(phase))
            )
        # AppKeys
        if isinstance(m, c.ConfigAppKeyGet):
            if m.net_key_index not in self.net_keys:
                return c.ConfigAppKeyList(c.ConfigStatus.INVALID_NETKEY_INDEX, m.net_key_index, ())
            indexes = tuple(
                sorted(i for i, r in self.app_key_records.items() if r[0] == m.net_key_index)
            )
            return c.ConfigAppKeyList(c.ConfigStatus.SUCCESS, m.net_key_index, indexes)
        if isinstance(m, c.ConfigAppKeyAdd):
            return c.ConfigAppKeyStatus(
                self._add_app_key(m.net_key_index, m.app_key_index, m.app_key),
                m.net_key_index,
                m.app_key_index,
            )
        if isinstance(m, c.ConfigAppKeyUpdate):
            return c.ConfigAppKeyStatus(
                self._update_app_key(m.net_key_index, m.app_key_index, m.app_key),
                m.net_key_index,
                m.app_key_index,
            )
        if isinstance(m, c.ConfigAppKeyDelete):
            status = c.ConfigStatus.SUCCESS
            record = self.app_key_records.get(m.app_key_index)
            if m.net_key_index not in self.net_keys:
                status = c.ConfigStatus.INVALID_NETKEY_INDEX
            elif record is not None and record[0] != m.net_key_index:
                status = c.ConfigStatus.INVALID_BINDING
            elif record is not None:
                self._delete_app_key(m.app_key_index)
            return c.ConfigAppKeyStatus(status, m.net_key_index, m.app_key_index)
        # Model to AppKey bindings
        if isinstance(m, c.ConfigModelAppBind | c.ConfigModelAppUnbind):
            status, element = self._model_status(m.element_address, m.model_id)
            if status is c.ConfigStatus.SUCCESS and m.app_key_index not in self.app_key_records:
                status = c.ConfigStatus.INVALID_APPKEY_INDEX
            if status is c.ConfigStatus.SUCCESS and m.model_id.model_id == ids.CONFIGURATION_SERVER:
                status = c.ConfigStatus.CANNOT_BIND
            if status is c.ConfigStatus.SUCCESS and element is not None:
                bound = self.bindings.setdefault((element.index, m.model_id.model_id), set())
                if isinstance(m, c.ConfigModelAppBind):
                    bound.add(m.app_key_index)
                else:
                    bound.discard(m.app_key_index)
            return c.ConfigModelAppStatus(status, m.element_address, m.app_key_index, m.model_id)
        if isinstance(m, c.ConfigSigModelAppGet):
            status, element = self._model_status(m.element_address, m.model_id)
            keys: tuple[int, ...] = ()
            if element is not None and status is c.ConfigStatus.SUCCESS:
                keys = tuple(sorted(self.bindings.get((element.index, m.model_id.model_id), ())))
            return c.ConfigSigModelAppList(status, m.element_address, m.model_id, keys)
        # Publication
        if isinstance(m, c.ConfigModelPublicationGet):
            status, element = self._model_status(m.element_address, m.model_id)
            pub = Publication()
            if element is not None and status is c.ConfigStatus.SUCCESS:
                pub = self.publications.get((element.index, m.model_id.model_id), Publication())
            return self._publication_status(status, m.element_address, m.model_id, pub)
        if isinstance(m, c.ConfigModelPublicationSet | c.ConfigModelPublicationVirtualAddressSet):
            status, element = self._model_status(m.element_address, m.model_id)
            if isinstance(m, c.ConfigModelPublicationVirtualAddressSet):
                label: bytes | None = m.label_uuid
                address = crypto.virtual_address(m.label_uuid)
            else:
                label = None
                address = m.publish_address
            if (
                status is c.ConfigStatus.SUCCESS
                and address != _UNASSIGNED
                and m.app_key_index not in self.app_key_records
            ):
                status = c.ConfigStatus.INVALID_APPKEY_INDEX
            pub = Publication()
            if status is c.ConfigStatus.SUCCESS and element is not None:
                pub = Publication(
                    address=address,
                    app_key_index=m.app_key_index,
                    credential_flag=m.credential_flag,
                    ttl=m.publish_ttl,
                    period=m.publish_period.to_byte(),
                    retransmit=m.publish_retransmit.to_byte(),
                    label_uuid=label,
                )
                key = (element.index, m.model_id.model_id)
                if address == _UNASSIGNED:
                    self.publications.pop(key, None)
                    pub = Publication()
                else:
                    self.publications[key] = pub
            elif element is not None:
                pub = self.publications.get((element.index, m.model_id.model_id), Publication())
            return self._publication_status(status, m.element_address, m.model_id, pub)
        # Subscriptions
        if isinstance(m, c.ConfigSigModelSubscriptionGet):
            status, element = self._model_status(m.element_address, m.model_id, subscribe=True)
            addresses: tuple[int, ...] = ()
            if element is not None and status is c.ConfigStatus.SUCCESS:
                addresses = tuple(self.subscriptions.get((element.index, m.model_id.model_id), []))
            return c.ConfigSigModelSubscriptionList(
                status, m.element_address, m.model_id, addresses
            )
        if isinstance(m, _SUBSCRIPTION_CHANGES):
            return self._subscription(m)
        # Node Identity, Node Reset
        if isinstance(m, c.ConfigNodeIdentityGet):
            status = (
                c.ConfigStatus.SUCCESS
                if m.net_key_index in self.net_keys
                else c.ConfigStatus.INVALID_NETKEY_INDEX
            )
            return c.ConfigNodeIdentityStatus(status, m.net_key_index, self.node_identity)
        if isinstance(m, c.ConfigNodeIdentitySet):
            if m.net_key_index not in self.net_keys:
                return c.ConfigNodeIdentityStatus(
                    c.ConfigStatus.INVALID_NETKEY_INDEX, m.net_key_index, self.node_identity
                )
            self.node_identity = c.FeatureState.ENABLED if m.enabled else c.FeatureState.DISABLED
            if self.on_node_identity is not None:
                self.on_node_identity(60 if m.enabled else 0)
            return c.ConfigNodeIdentityStatus(
                c.ConfigStatus.SUCCESS, m.net_key_index, self.node_identity
            )
        if isinstance(m, c.ConfigNodeReset):
            if self.on_reset is not None:
                self.on_reset()
            return c.ConfigNodeResetStatus()
        return None

    def _add_app_key(self, net_index: int, index: int, key: bytes) -> cfg.ConfigStatus:
        if net_index not in self.net_keys:
            return cfg.ConfigStatus.INVALID_NETKEY_INDEX
        record = self.app_key_records.get(index)
        if record is not None:
            if record[0] != net_index:
                return cfg.ConfigStatus.INVALID_NETKEY_INDEX
            if record[1] != key:
                return cfg.ConfigStatus.KEY_INDEX_ALREADY_STORED
            return cfg.ConfigStatus.SUCCESS
        self.app_key_records[index] = (net_index, bytes(key), None)
        self._sync_app_keys()
        return cfg.ConfigStatus.SUCCESS

    def _update_app_key(self, net_index: int, index: int, key: bytes) -> cfg.ConfigStatus:
        if net_index not in self.net_keys:
            return cfg.ConfigStatus.INVALID_NETKEY_INDEX
        record = self.app_key_records.get(index)
        if record is None:
            return cfg.ConfigStatus.INVALID_APPKEY_INDEX
        if record[0] != net_index:
            return cfg.ConfigStatus.INVALID_BINDING
        # §4.4.1.2.4: an AppKey is updated only in Key Refresh phase 1 of its NetKey.
        if self.net_keys.get(net_index).phase != KeyRefreshPhase.KEY_DISTRIBUTION:
            return cfg.ConfigStatus.CANNOT_UPDATE
        if record[2] is not None and record[2] != key:
            return cfg.ConfigStatus.KEY_INDEX_ALREADY_STORED
        self.app_key_records[index] = (net_index, record[1], bytes(key))
        self._sync_app_keys()
        return cfg.ConfigStatus.SUCCESS

    def _delete_app_key(self, index: int) -> None:
        self.app_key_records.pop(index, None)
        for bound in self.bindings.values():
            bound.discard(index)
        for key, pub in list(self.publications.items()):
            if pub.app_key_index == index:
                del self.publications[key]
        self._sync_app_keys()

    @staticmethod
    def _publication_status(
        status: cfg.ConfigStatus, element_address: int, model_id: ModelId, pub: Publication
    ) -> cfg.ConfigModelPublicationStatus:
        return cfg.ConfigModelPublicationStatus(
            status,
            element_address,
            pub.address,
            pub.app_key_index,
            pub.credential_flag,
            pub.ttl if pub.address else 0,
            PublishPeriod.from_byte(pub.period),
            Retransmit.from_byte(pub.retransmit),
            model_id,
        )

    def _subscription(self, m: Message) -> cfg.ConfigModelSubscriptionStatus:
        c = cfg
        element_address: int = m.element_address  # type: ignore[attr-defined]
        model_id: ModelId = m.model_id  # type: ignore[attr-defined]
        label: bytes | None = getattr(m, "label_uuid", None)
        address = crypto.virtual_address(label) if label is not None else getattr(m, "address", 0)
        status, element = self._model_status(element_address, model_id, subscribe=True)
        if (
            status is c.ConfigStatus.SUCCESS
            and not isinstance(m, c.ConfigModelSubscriptionDeleteAll)
            and not ((is_group(address) and address != 0xFFFF) or is_virtual(address))
        ):
            status = c.ConfigStatus.INVALID_ADDRESS
        if status is c.ConfigStatus.SUCCESS and element is not None:
            current = self.subscriptions.setdefault((element.index, model_id.model_id), [])
            if isinstance(
                m,
                c.ConfigModelSubscriptionAdd | c.ConfigModelSubscriptionVirtualAddressAdd,
            ):
                if address not in current:
                    current.append(address)
            elif isinstance(
                m,
                c.ConfigModelSubscriptionDelete | c.ConfigModelSubscriptionVirtualAddressDelete,
            ):
                if address in current:
                    current.remove(address)
            elif isinstance(m, c.ConfigModelSubscriptionDeleteAll):
                current.clear()
                address = _UNASSIGNED
            else:
                current[:] = [address]
            if label is not None:
                self.label_uuids[address] = label
        return c.ConfigModelSubscriptionStatus(status, element_address, address, model_id)

    # --- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-able configuration and light state (AppKeys included)."""
        return {
            "app_keys": {
                str(i): [n, k.hex(), nk.hex() if nk is not None else None]
                for i, (n, k, nk) in self.app_key_records.items()
            },
            "bindings": [[e, m, sorted(keys)] for (e, m), keys in self.bindings.items()],
            "publications": [[e, m, pub.to_dict()] for (e, m), pub in self.publications.items()],
            "subscriptions": [[e, m, list(a)] for (e, m), a in self.subscriptions.items()],
            "label_uuids": {str(a): label.hex() for a, label in self.label_uuids.items()},
            "default_ttl": self.default_ttl,
            "beacon": self.beacon,
            "gatt_proxy": int(self.gatt_proxy),
            "relay": int(self.relay),
            "relay_retransmit": self.relay_retransmit,
            "network_transmit": self.network_transmit,
            "node_identity": int(self.node_identity),
            "fast_period_divisor": self.fast_period_divisor,
            "current_faults": list(self.current_faults),
            "registered_faults": list(self.registered_faults),
            "switch_on": {str(e): on for e, on in self.switch_on.items()},
            "client_tid": self.client_tid,
            "energy_kwh": self.meter.energy_kwh,
            "lights": [light.to_dict() for light in self.lights],
            "scenes": {str(n): values for n, values in self.scenes.items()},
            "current_scene": self.current_scene,
        }

    def load(self, data: Mapping[str, Any]) -> None:
        """Restore :meth:`to_dict` output."""
        self.app_key_records = {
            int(i): (int(r[0]), bytes.fromhex(r[1]), bytes.fromhex(r[2]) if r[2] else None)
            for i, r in data["app_keys"].items()
        }
        self._sync_app_keys()
        self.bindings = {(int(e), int(m)): set(keys) for e, m, keys in data["bindings"]}
        self.publications = {
            (int(e), int(m)): Publication.from_dict(pub) for e, m, pub in data["publications"]
        }
        self.subscriptions = {(int(e), int(m)): list(a) for e, m, a in data["subscriptions"]}
        self.label_uuids = {int(a): bytes.fromhex(h) for a, h in data["label_uuids"].items()}
        self.default_ttl = int(data["default_ttl"])
        self.beacon = bool(data["beacon"])
        self.gatt_proxy = cfg.FeatureState(data["gatt_proxy"])
        self.relay = cfg.FeatureState(data["relay"])
        self.relay_retransmit = int(data["relay_retransmit"])
        self.network_transmit = int(data["network_transmit"])
        self.node_identity = cfg.FeatureState(data["node_identity"])
        self.fast_period_divisor = int(data["fast_period_divisor"])
        # Newer fields: a node saved before them has none.
        self.current_faults = [int(c) for c in data.get("current_faults", [])]
        self.registered_faults = [int(c) for c in data.get("registered_faults", [])]
        self.switch_on = {int(e): bool(on) for e, on in data.get("switch_on", {}).items()}
        self.client_tid = int(data.get("client_tid", 0))
        self.meter = EnergyMeter(float(data.get("energy_kwh", 0.0)))
        lights = data["lights"]
        self.lights = [LightState.from_dict(d) for d in lights][: len(self.lights)] or self.lights
        self.scenes = {int(n): [dict(v) for v in values] for n, values in data["scenes"].items()}
        self.current_scene = int(data["current_scene"])

    def bound_app_keys(self, element_index: int, model: int) -> Iterable[int]:
        """The AppKey Indexes bound to a model (for tests and diagnostics)."""
        return sorted(self.bindings.get((element_index, model), ()))


_CONFIG_MESSAGES = tuple(
    cls
    for cls in vars(cfg).values()
    if isinstance(cls, type)
    and issubclass(cls, Message)
    and cls is not Message
    and cls.__module__ == cfg.__name__
)

_SUBSCRIPTION_CHANGES = (
    cfg.ConfigModelSubscriptionAdd,
    cfg.ConfigModelSubscriptionDelete,
    cfg.ConfigModelSubscriptionOverwrite,
    cfg.ConfigModelSubscriptionDeleteAll,
    cfg.ConfigModelSubscriptionVirtualAddressAdd,
    cfg.ConfigModelSubscriptionVirtualAddressDelete,
    cfg.ConfigModelSubscriptionVirtualAddressOverwrite,
)
