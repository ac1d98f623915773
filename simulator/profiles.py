"""Product profiles of simulated mesh nodes (lights, a plug, sensors, a switch): identity,
elements and models.

A profile is what a real product fixes in firmware: company/product/version identifiers, the
replay protection list size, the features, and the elements with their models. The node
reports the number of elements in Provisioning Capabilities (MshPRT 1.1 §5.4.1.2) and the
whole profile as Composition Data Page 0 (MshPRT 1.1 §4.2.2.1).

Element layouts follow the model specification's rules (MshMDL 1.1):

* Light CTL Server (§6.4.3) extends Light Lightness and needs a Light CTL Temperature Server
  (with its own Generic Level Server) on a second element, as the temperature has its own
  Generic Level (§6.4.3.1).
* Light HSL Server (§6.4.6) needs Light HSL Hue and Light HSL Saturation Servers, each with
  its own Generic Level Server, on two further elements.
* Light xyL Server (§6.4.9) extends Light Lightness on one element.
* A smart plug is a Generic OnOff Server with Generic Power OnOff (§3.1.4: OnPowerUp decides
  the state after a power cycle) and a Sensor Server for its meter; the multi-sensor is a
  Sensor Server; the battery wall switch a Generic OnOff Client (it sends, it has no state to
  set) with a Generic Battery Server.

A node with a Remote Provisioning Server (MshPRT 1.1 §4.4.5) has SIG model 0x0004 on its
primary element, after the foundation models: :func:`with_remote_provisioning`.

SIG model IDs and feature bits are the engine's constants (Assigned Numbers, "Mesh Model
Identifiers"; MshPRT 1.1 §4.2.2.1 features).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import struct

from custom_components.ble_mesh.mesh.models.composition import COMPANY_ID_TEST
from custom_components.ble_mesh.mesh.models.config import (
    FEATURE_FRIEND,
    FEATURE_LOW_POWER,
    FEATURE_PROXY,
    FEATURE_RELAY,
)
from custom_components.ble_mesh.mesh.models.lighting import TEMPERATURE_MAX, TEMPERATURE_MIN
from custom_components.ble_mesh.mesh.models.model_ids import (
    CONFIGURATION_SERVER,
    GENERIC_BATTERY_SERVER,
    GENERIC_DEFAULT_TRANSITION_TIME_SERVER,
    GENERIC_LEVEL_SERVER,
    GENERIC_ONOFF_CLIENT,
    GENERIC_ONOFF_SERVER,
    GENERIC_POWER_ONOFF_SERVER,
    GENERIC_POWER_ONOFF_SETUP_SERVER,
    HEALTH_SERVER,
    LIGHT_CTL_SERVER,
    LIGHT_CTL_SETUP_SERVER,
    LIGHT_CTL_TEMPERATURE_SERVER,
    LIGHT_HSL_HUE_SERVER,
    LIGHT_HSL_SATURATION_SERVER,
    LIGHT_HSL_SERVER,
    LIGHT_HSL_SETUP_SERVER,
    LIGHT_LIGHTNESS_SERVER,
    LIGHT_LIGHTNESS_SETUP_SERVER,
    LIGHT_XYL_SERVER,
    LIGHT_XYL_SETUP_SERVER,
    REMOTE_PROVISIONING_SERVER,
    SCENE_SERVER,
    SCENE_SETUP_SERVER,
    SENSOR_SERVER,
    SENSOR_SETUP_SERVER,
)
from custom_components.ble_mesh.mesh.models.properties import (
    MOTION_SENSED,
    PRECISE_TOTAL_DEVICE_ENERGY_USE,
    PRESENT_AMBIENT_LIGHT_LEVEL,
    PRESENT_AMBIENT_RELATIVE_HUMIDITY,
    PRESENT_AMBIENT_TEMPERATURE,
    PRESENT_DEVICE_INPUT_POWER,
)

__all__ = [
    "FEATURE_FRIEND",
    "FEATURE_LOW_POWER",
    "FEATURE_PROXY",
    "FEATURE_RELAY",
    "PROFILES",
    "ElementSpec",
    "Profile",
    "get_profile",
    "with_remote_provisioning",
]


# GATT Bluetooth Namespace Descriptors (Assigned Numbers): 0x0000 unknown, 0x0001 "first",
# 0x0002 "second", ...; a multi-element product labels its elements by position.
LOCATION_UNKNOWN = 0x0000
LOCATION_FIRST = 0x0001
LOCATION_SECOND = 0x0002
LOCATION_THIRD = 0x0003


@dataclass(frozen=True, slots=True)
class ElementSpec:
    """One element: its location descriptor and SIG models, in composition order."""

    location: int
    models: tuple[int, ...]

    def has_model(self, model_id: int) -> bool:
        """Whether the element contains the SIG model ``model_id``."""
        return model_id in self.models


@dataclass(frozen=True, slots=True)
class Profile:
    """A product: identifiers, features and elements (element 0 is the primary element)."""

    key: str
    name: str
    company_id: int
    product_id: int
    version_id: int
    elements: tuple[ElementSpec, ...]
    crpl: int = 32
    features: int = FEATURE_RELAY | FEATURE_PROXY
    temperature_range: tuple[int, int] = (TEMPERATURE_MIN, TEMPERATURE_MAX)
    """The colour temperatures (kelvin) a tunable-white light can make: its Light CTL
    Temperature Range at the factory (MshMDL 1.1 §6.1.3.3)."""
    kind: str = "light"
    """What a person calls the product: "light", "plug", "sensor", "switch"."""
    sensors: tuple[int, ...] = ()
    """The Mesh Device Property IDs its Sensor Server (on the primary element) measures."""
    battery_level: int | None = None
    """The charge (%) its Generic Battery Server reports."""

    @property
    def number_of_elements(self) -> int:
        """What the node reports in Provisioning Capabilities."""
        return len(self.elements)

    def composition_data_page0(self) -> bytes:
        """Composition Data Page 0 (MshPRT 1.1 §4.2.2.1), all fields little-endian."""
        out = struct.pack(
            "<HHHHH",
            self.company_id,
            self.product_id,
            self.version_id,
            self.crpl,
            self.features,
        )
        for element in self.elements:
            out += struct.pack("<HBB", element.location, len(element.models), 0)
            out += b"".join(struct.pack("<H", model) for model in element.models)
        return out

    def models_of(self, element_index: int) -> tuple[int, ...]:
        """The SIG models of element ``element_index``."""
        return self.elements[element_index].models


# Every light's primary element starts with the foundation models, then the generic ones.
_FOUNDATION = (CONFIGURATION_SERVER, HEALTH_SERVER)
_ONOFF = (
    GENERIC_ONOFF_SERVER,
    GENERIC_DEFAULT_TRANSITION_TIME_SERVER,
    GENERIC_POWER_ONOFF_SERVER,
    GENERIC_POWER_ONOFF_SETUP_SERVER,
)
_SCENES = (SCENE_SERVER, SCENE_SETUP_SERVER)
_SENSOR = (SENSOR_SERVER, SENSOR_SETUP_SERVER)
_DIMMABLE = (
    GENERIC_ONOFF_SERVER,
    GENERIC_LEVEL_SERVER,
    GENERIC_DEFAULT_TRANSITION_TIME_SERVER,
    GENERIC_POWER_ONOFF_SERVER,
    GENERIC_POWER_ONOFF_SETUP_SERVER,
    LIGHT_LIGHTNESS_SERVER,
    LIGHT_LIGHTNESS_SETUP_SERVER,
)

PROFILES: dict[str, Profile] = {
    "onoff_plug": Profile(
        key="onoff_plug",
        name="Mesh Plug",
        company_id=COMPANY_ID_TEST,
        product_id=0x0001,
        version_id=0x0100,
        elements=(ElementSpec(LOCATION_UNKNOWN, _FOUNDATION + _ONOFF + _SCENES),),
    ),
    "dimmable": Profile(
        key="dimmable",
        name="Mesh Dimmable Light",
        company_id=COMPANY_ID_TEST,
        product_id=0x0002,
        version_id=0x0100,
        elements=(ElementSpec(LOCATION_UNKNOWN, _FOUNDATION + _DIMMABLE + _SCENES),),
    ),
    "ctl": Profile(
        key="ctl",
        name="Mesh Tunable White Light",
        company_id=COMPANY_ID_TEST,
        product_id=0x0003,
        version_id=0x0100,
        # Warm to daylight white, as tunable-white bulbs sell; the spec's 800-20000 K would
        # make most of Home Assistant's slider a blue no such bulb can show.
        temperature_range=(2700, 6500),
        elements=(
            ElementSpec(
                LOCATION_FIRST,
                _FOUNDATION + _DIMMABLE + (LIGHT_CTL_SERVER, LIGHT_CTL_SETUP_SERVER) + _SCENES,
            ),
            ElementSpec(LOCATION_SECOND, (GENERIC_LEVEL_SERVER, LIGHT_CTL_TEMPERATURE_SERVER)),
        ),
    ),
    "hsl": Profile(
        key="hsl",
        name="Mesh Colour Light",
        company_id=COMPANY_ID_TEST,
        product_id=0x0004,
        version_id=0x0100,
        elements=(
            ElementSpec(
                LOCATION_FIRST,
                _FOUNDATION + _DIMMABLE + (LIGHT_HSL_SERVER, LIGHT_HSL_SETUP_SERVER) + _SCENES,
            ),
            ElementSpec(LOCATION_SECOND, (GENERIC_LEVEL_SERVER, LIGHT_HSL_HUE_SERVER)),
            ElementSpec(LOCATION_THIRD, (GENERIC_LEVEL_SERVER, LIGHT_HSL_SATURATION_SERVER)),
        ),
    ),
    "xyl": Profile(
        key="xyl",
        name="Mesh xyL Colour Light",
        company_id=COMPANY_ID_TEST,
        product_id=0x0005,
        version_id=0x0100,
        elements=(
            ElementSpec(
                LOCATION_UNKNOWN,
                _FOUNDATION + _DIMMABLE + (LIGHT_XYL_SERVER, LIGHT_XYL_SETUP_SERVER) + _SCENES,
            ),
        ),
    ),
    "two_element": Profile(
        key="two_element",
        name="Mesh Twin Fixture",
        company_id=COMPANY_ID_TEST,
        product_id=0x0006,
        version_id=0x0100,
        elements=(
            ElementSpec(LOCATION_FIRST, _FOUNDATION + _DIMMABLE + _SCENES),
            ElementSpec(LOCATION_SECOND, _DIMMABLE),
        ),
    ),
    "smart_plug": Profile(
        key="smart_plug",
        name="Mesh Smart Plug",
        kind="plug",
        company_id=COMPANY_ID_TEST,
        product_id=0x0007,
        version_id=0x0100,
        elements=(ElementSpec(LOCATION_UNKNOWN, _FOUNDATION + _ONOFF + _SENSOR),),
        sensors=(PRESENT_DEVICE_INPUT_POWER, PRECISE_TOTAL_DEVICE_ENERGY_USE),
    ),
    "multi_sensor": Profile(
        key="multi_sensor",
        name="Mesh Multi-Sensor",
        kind="sensor",
        company_id=COMPANY_ID_TEST,
        product_id=0x0008,
        version_id=0x0100,
        elements=(ElementSpec(LOCATION_UNKNOWN, _FOUNDATION + _SENSOR),),
        sensors=(
            PRESENT_AMBIENT_TEMPERATURE,
            PRESENT_AMBIENT_RELATIVE_HUMIDITY,
            PRESENT_AMBIENT_LIGHT_LEVEL,
            MOTION_SENSED,
        ),
    ),
    "wall_switch": Profile(
        key="wall_switch",
        name="Mesh Battery Wall Switch",
        kind="switch",
        company_id=COMPANY_ID_TEST,
        product_id=0x0009,
        version_id=0x0100,
        # Runs on a battery, so it relays nothing; it keeps the proxy feature so that Home
        # Assistant can configure it over GATT like the other simulated nodes.
        features=FEATURE_PROXY,
        battery_level=87,
        elements=(
            ElementSpec(
                LOCATION_UNKNOWN, (*_FOUNDATION, GENERIC_ONOFF_CLIENT, GENERIC_BATTERY_SERVER)
            ),
        ),
    ),
}
"""Every profile by key: on/off plug, dimmable, tunable white (CTL), colour (HSL), colour
(xyL), a fixture with two independently controlled lights, a smart plug with an energy meter,
a multi-sensor (temperature, humidity, light, motion) and a battery wall switch."""


def get_profile(profile: Profile | str) -> Profile:
    """A profile by key (or the profile itself); raises KeyError for an unknown key."""
    if isinstance(profile, Profile):
        return profile
    return PROFILES[profile]


def with_remote_provisioning(profile: Profile) -> Profile:
    """``profile`` with a Remote Provisioning Server (SIG model 0x0004, MshPRT 1.1 §4.4.5) on
    its primary element, right after the Configuration and Health Servers (same key)."""
    primary = profile.elements[0]
    if primary.has_model(REMOTE_PROVISIONING_SERVER):
        return profile
    models = list(primary.models)
    at = sum(1 for model in models[:2] if model in _FOUNDATION)
    models.insert(at, REMOTE_PROVISIONING_SERVER)
    element = ElementSpec(primary.location, tuple(models))
    return replace(profile, elements=(element, *profile.elements[1:]))
