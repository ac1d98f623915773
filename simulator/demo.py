"""The demo: simulated mesh lights in a real, running Home Assistant. Development only.

``scripts/develop`` installs the thin helper integration ``ble_mesh_sim``
(``simulator/ha_demo/ble_mesh_sim``) into ``config/custom_components/``; its ``async_setup`` calls
:func:`async_setup_demo` with the ``ble_mesh_sim:`` block of ``configuration.yaml``:

* a :class:`~simulator.virtual_proxy.VirtualProxy` registers with Home Assistant's Bluetooth
  manager, exactly where an ESPHome Bluetooth proxy plugs in (``bluetooth.async_register_scanner``);
* one :class:`~simulator.node.SimulatedNode` per configured light is added to it. Each light has
  a stable Device UUID derived from its name (UUID version 5 in :data:`DEMO_NAMESPACE`), hence a
  stable Bluetooth address, QR text and (for ``public_key``) key pair: the README can print them;
* Home Assistant discovers the lights through ``ble_mesh``'s manifest matchers, and provisioning
  runs through HA's real Bluetooth stack;
* what a person would see on or do to a real light is on the light's own device page (the
  helper integration's entities: a display for the Output OOB value it blinks or shows and for
  what it waits for, a keypad for Input OOB, its QR label, its reset button; they follow
  :meth:`DemoHandle.async_add_listener`), in persistent notifications, and offered as actions:
  ``ble_mesh_sim.enter_input_oob``, a wall switch (``ble_mesh_sim.set_state``), the reset
  button (``ble_mesh_sim.factory_reset``), pulling the plug (``ble_mesh_sim.power_cycle``), a
  battery switch's button (``ble_mesh_sim.press``) and a device fault
  (``ble_mesh_sim.raise_fault`` / ``ble_mesh_sim.clear_fault``);
* every node's state (keys included: these are simulated devices) is saved to
  ``<config>/.ble_mesh_sim.json`` shortly after it changes and when Home Assistant stops, and
  loaded again at start, so provisioned lights stay provisioned across restarts.

Remote provisioning (Desk Lamp, Garage Light and Shed Light of the default set): a light with
``remote_provisioning: true`` has a Remote Provisioning Server (MshPRT 1.1 §4.4.5,
:mod:`simulator.remote_provisioning`); a light with ``near: <other light's name>`` is on the
simulated air next to that light only (:meth:`simulator.air.MeshAir.restrict`) and is *not*
added to the virtual proxy, so Home Assistant's Bluetooth never sees it: it can only be
provisioned through the other light's server (PB-Remote), and reached through it afterwards.
``uri: <text>`` is the URI a light advertises (its hash in the Unprovisioned Device beacon)::

    ble_mesh_sim:
      lights:
        - {name: Hall Lamp, profile: dimmable, remote_provisioning: true}
        - {name: Garage Light, profile: dimmable, oob: static, near: Hall Lamp}

``python -m simulator.demo`` prints the table of the default demo lights (for the README).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
import hashlib
import json
import logging
from pathlib import Path
import sys
from typing import Any, Final
import uuid

from homeassistant.components import persistent_notification
from homeassistant.core import (
    CALLBACK_TYPE,
    HassJob,
    HomeAssistant,
    ServiceCall,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import homeassistant.helpers.config_validation as cv
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.json import save_json
from homeassistant.helpers.start import async_at_started
from homeassistant.setup import async_setup_component
from homeassistant.util.json import load_json

from custom_components.ble_mesh.compat import vol
from custom_components.ble_mesh.mesh.errors import MeshError
from custom_components.ble_mesh.mesh.models import model_ids as ids
from custom_components.ble_mesh.mesh.provisioning import InputAction, OobValue, OutputAction
from custom_components.ble_mesh.mesh.qr import format_uuid

from .air import MeshAir
from .node import OobCapabilities, SimulatedNode
from .profiles import PROFILES
from .virtual_proxy import VirtualProxy

__all__ = [
    "CONFIG_SCHEMA",
    "DEFAULT_LIGHTS",
    "DEMO_NAMESPACE",
    "DEMO_STATIC_OOB",
    "DOMAIN",
    "DemoHandle",
    "DemoLight",
    "DemoNode",
    "arrange_air",
    "async_setup_demo",
    "demo_lights",
]

_LOGGER = logging.getLogger(__name__)

DOMAIN: Final = "ble_mesh_sim"
STORAGE_FILE: Final = ".ble_mesh_sim.json"
"""In Home Assistant's configuration directory (git-ignored with the rest of ``config/``)."""
STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 1.0
"""Seconds between a change and the save that includes it (changes come in bursts)."""

REPORT_DELAY: Final = 10.0
"""Seconds after Home Assistant started until the demo logs which lights were discovered."""
MESH_DOMAIN: Final = "ble_mesh"

DEFAULT_LATENCY: Final = 0.03
"""Seconds per GATT write, roughly what a Wi-Fi ESPHome proxy adds."""
DEFAULT_MTU: Final = 185
DEFAULT_DIGITS: Final = 4
"""Default ``output_size`` / ``input_size`` of numeric and alphanumeric OOB actions."""
DEFAULT_COUNT_SIZE: Final = 1
"""Default size of counting actions (blink, beep, vibrate, push, twist): 1 to 9 times."""
PROXY_SOURCE: Final = "02:00:00:00:00:5E"
PROXY_NAME: Final = "ble-mesh-sim proxy"

DEMO_NAMESPACE: Final = uuid.UUID("afb76500-486c-5eab-b472-639773e5d479")
"""uuid5(NAMESPACE_URL, "https://github.com/ble-mesh/ha-ble-mesh#simulator-demo"): a light's
Device UUID is uuid5(DEMO_NAMESPACE, name)."""
DEMO_STATIC_OOB: Final = bytes.fromhex("00112233445566778899aabbccddeeff")
"""The static OOB value of ``static`` and ``public_key`` lights unless ``static_oob`` is given.
16 octets, so it works with both provisioning algorithms. Demo only: a real product has a
random value per device."""

# P-256 group order: an OOB private key lies in [1, n/2], like the engine's key pairs.
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

OOB_NONE: Final = "none"
OOB_STATIC: Final = "static"
OOB_PUBLIC_KEY: Final = "public_key"
OUTPUT_MODES: Final = {action.name.lower(): action for action in OutputAction}
"""blink, beep, vibrate, output_numeric, output_alphanumeric."""
INPUT_MODES: Final = {action.name.lower(): action for action in InputAction}
"""push, twist, input_numeric, input_alphanumeric."""
OOB_MODES: Final = (OOB_NONE, OOB_STATIC, OOB_PUBLIC_KEY, *OUTPUT_MODES, *INPUT_MODES)

CONF_LATENCY: Final = "latency"
CONF_MTU: Final = "mtu"
CONF_LIGHTS: Final = "lights"
CONF_NAME: Final = "name"
CONF_PROFILE: Final = "profile"
CONF_OOB: Final = "oob"
CONF_STATIC_OOB: Final = "static_oob"
CONF_OUTPUT_SIZE: Final = "output_size"
CONF_INPUT_SIZE: Final = "input_size"
CONF_RSSI: Final = "rssi"
CONF_REMOTE_PROVISIONING: Final = "remote_provisioning"
CONF_NEAR: Final = "near"
CONF_URI: Final = "uri"

DEFAULT_LIGHTS: Final[tuple[dict[str, str | bool], ...]] = (
    {CONF_NAME: "Mesh Plug", CONF_PROFILE: "onoff_plug", CONF_OOB: OOB_NONE},
    {CONF_NAME: "Hall Lamp", CONF_PROFILE: "dimmable", CONF_OOB: "input_numeric"},
    {CONF_NAME: "Kitchen Light", CONF_PROFILE: "ctl", CONF_OOB: OOB_STATIC},
    {CONF_NAME: "Colour Bulb", CONF_PROFILE: "hsl", CONF_OOB: "output_numeric"},
    {
        CONF_NAME: "Desk Lamp",
        CONF_PROFILE: "xyl",
        CONF_OOB: OOB_PUBLIC_KEY,
        CONF_REMOTE_PROVISIONING: True,
    },
    # Out of Home Assistant's reach, next to Desk Lamp only: added through it (remote
    # provisioning). Listed right after it: a scan reports the first devices the lamp hears.
    {
        CONF_NAME: "Garage Light",
        CONF_PROFILE: "dimmable",
        CONF_OOB: OOB_STATIC,
        CONF_NEAR: "Desk Lamp",
        CONF_REMOTE_PROVISIONING: True,  # its device key can be refreshed in place (NPPI)
    },
    {
        CONF_NAME: "Shed Light",
        CONF_PROFILE: "dimmable",
        CONF_OOB: "output_numeric",
        CONF_NEAR: "Desk Lamp",
    },
    {CONF_NAME: "Twin Spot", CONF_PROFILE: "two_element", CONF_OOB: "blink"},
    {CONF_NAME: "Porch Light", CONF_PROFILE: "dimmable", CONF_OOB: OOB_STATIC},
    {CONF_NAME: "Bedside Lamp", CONF_PROFILE: "dimmable", CONF_OOB: "output_numeric"},
    {CONF_NAME: "Garden Spots", CONF_PROFILE: "two_element", CONF_OOB: "beep"},
    {CONF_NAME: "Kettle Plug", CONF_PROFILE: "smart_plug", CONF_OOB: "input_numeric"},
    {CONF_NAME: "Living Room Sensor", CONF_PROFILE: "multi_sensor", CONF_OOB: "output_numeric"},
    {CONF_NAME: "Wall Switch", CONF_PROFILE: "wall_switch", CONF_OOB: OOB_STATIC},
)
"""Used when the ``ble_mesh_sim:`` block lists no lights; ``config/configuration.yaml`` spells
the same set out: one device of every profile, every kind of OOB."""

SERVICE_ENTER_INPUT_OOB: Final = "enter_input_oob"
SERVICE_SET_STATE: Final = "set_state"
SERVICE_FACTORY_RESET: Final = "factory_reset"
SERVICE_POWER_CYCLE: Final = "power_cycle"
SERVICE_PRESS: Final = "press"
SERVICE_RAISE_FAULT: Final = "raise_fault"
SERVICE_CLEAR_FAULT: Final = "clear_fault"
SERVICES: Final = (
    SERVICE_ENTER_INPUT_OOB,
    SERVICE_SET_STATE,
    SERVICE_FACTORY_RESET,
    SERVICE_POWER_CYCLE,
    SERVICE_PRESS,
    SERVICE_RAISE_FAULT,
    SERVICE_CLEAR_FAULT,
)
ATTR_DEVICE: Final = "device"
ATTR_VALUE: Final = "value"
ATTR_LIGHT: Final = "light"
ATTR_ON: Final = "on"
ATTR_BRIGHTNESS: Final = "brightness"
ATTR_LIGHTNESS: Final = "lightness"
ATTR_COLOR_TEMP_KELVIN: Final = "color_temp_kelvin"
ATTR_HS_COLOR: Final = "hs_color"
ATTR_XY_COLOR: Final = "xy_color"
ATTR_TRANSITION: Final = "transition"
ATTR_CODE: Final = "code"

DEMO_FAULT: Final = 0x0D
"""The fault the demo's *Raise fault* button raises: Overheat Warning (Assigned Numbers,
Health Fault values)."""


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _hex_value(value: Any) -> str:
    """1..32 octets as hex (spaces, colons and a 0x prefix allowed); lower-case hex out."""
    text = str(value).strip().lower().removeprefix("0x").replace(" ", "").replace(":", "")
    try:
        raw = bytes.fromhex(text)
    except ValueError as err:
        raise vol.Invalid("static_oob must be hexadecimal") from err
    if not 1 <= len(raw) <= 32:
        raise vol.Invalid("static_oob must be 1 to 32 octets")
    return raw.hex()


def _check_light(light: dict[str, Any]) -> dict[str, Any]:
    if CONF_STATIC_OOB in light and light[CONF_OOB] not in (OOB_STATIC, OOB_PUBLIC_KEY):
        raise vol.Invalid("static_oob only applies to oob: static or oob: public_key")
    return light


def _unique_names(lights: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for light in lights:
        key = light[CONF_NAME].casefold()
        if key in seen:
            raise vol.Invalid(f"two lights are named {light[CONF_NAME]!r}; names must differ")
        seen.add(key)
    names = {light[CONF_NAME].casefold(): light[CONF_NAME] for light in lights}
    for light in lights:
        near = light.get(CONF_NEAR)
        if near is None:
            continue
        other = names.get(near.casefold())
        if other is None or other == light[CONF_NAME]:
            raise vol.Invalid(f"{light[CONF_NAME]!r} is near {near!r}, which is no other light")
        light[CONF_NEAR] = other
    return lights


LIGHT_SCHEMA: Final = vol.All(
    vol.Schema(
        {
            vol.Required(CONF_NAME): vol.All(cv.string, vol.Strip, vol.Length(min=1, max=29)),
            vol.Optional(CONF_PROFILE, default="dimmable"): vol.In(list(PROFILES)),
            vol.Optional(CONF_OOB, default=OOB_NONE): vol.In(OOB_MODES),
            vol.Optional(CONF_STATIC_OOB): _hex_value,
            vol.Optional(CONF_OUTPUT_SIZE): vol.All(vol.Coerce(int), vol.Range(min=1, max=8)),
            vol.Optional(CONF_INPUT_SIZE): vol.All(vol.Coerce(int), vol.Range(min=1, max=8)),
            vol.Optional(CONF_RSSI, default=-60): vol.All(
                vol.Coerce(int), vol.Range(min=-127, max=20)
            ),
            vol.Optional(CONF_REMOTE_PROVISIONING, default=False): cv.boolean,
            vol.Optional(CONF_NEAR): vol.All(cv.string, vol.Strip, vol.Length(min=1)),
            vol.Optional(CONF_URI): vol.All(cv.string, vol.Length(min=1)),
        }
    ),
    _check_light,
)

DEMO_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(CONF_LATENCY, default=DEFAULT_LATENCY): vol.All(
            vol.Coerce(float), vol.Range(min=0, max=5)
        ),
        vol.Optional(CONF_MTU, default=DEFAULT_MTU): vol.All(
            vol.Coerce(int), vol.Range(min=23, max=517)
        ),
        vol.Optional(
            CONF_LIGHTS, default=lambda: [dict(light) for light in DEFAULT_LIGHTS]
        ): vol.All(cv.ensure_list, [LIGHT_SCHEMA], _unique_names),
    }
)
"""The ``ble_mesh_sim:`` block. Validating an already validated block changes nothing."""

CONFIG_SCHEMA: Final = vol.Schema(
    {vol.Optional(DOMAIN): vol.All(lambda value: value or {}, DEMO_SCHEMA)},
    extra=vol.ALLOW_EXTRA,
)
"""The whole ``configuration.yaml`` as the helper integration sees it (``ble_mesh_sim:`` alone
gives the default lights)."""


@dataclass(frozen=True, slots=True)
class DemoLight:
    """One configured light: everything needed to build its node, and what the README prints."""

    name: str
    profile: str
    oob_mode: str
    device_uuid: bytes
    oob: OobCapabilities
    oob_private_key: int | None
    rssi: int = -60
    remote_provisioning: bool = False
    near: str | None = None
    """The one light this light is in radio range of (None: the virtual proxy's reach)."""
    uri: str | None = None

    @property
    def uuid_text(self) -> str:
        """The Device UUID in canonical form."""
        return format_uuid(self.device_uuid)

    def new_node(self, **runtime: Any) -> DemoNode:
        """A fresh, unprovisioned node for this light."""
        return DemoNode(
            self.profile,
            device_uuid=self.device_uuid,
            name=self.name,
            rssi=self.rssi,
            oob=self.oob,
            oob_private_key=self.oob_private_key,
            remote_provisioning=self.remote_provisioning,
            uri=self.uri,
            **runtime,
        )

    def matches(self, saved: Mapping[str, Any]) -> bool:
        """Whether saved node data was made from this configuration (else start afresh)."""
        return (
            saved.get("profile") == self.profile
            and saved.get("name") == self.name
            and saved.get("oob") == self.oob.to_dict()
            and bool(saved.get("remote_provisioning", False)) == self.remote_provisioning
        )

    def describe_oob(self) -> str:
        """The OOB mode as the README table and the log say it."""
        mode = self.oob_mode
        if mode == OOB_NONE:
            return "No OOB"
        if mode == OOB_STATIC:
            return "Static OOB"
        if mode == OOB_PUBLIC_KEY:
            return "OOB public key + static OOB (QR code)"
        if mode in OUTPUT_MODES:
            output = OUTPUT_MODES[mode]
            return f"Output OOB: {mode} ({_size_text(output, self.oob.output_size)})"
        action = INPUT_MODES[mode]
        return f"Input OOB: {mode} ({_size_text(action, self.oob.input_size)})"


def device_uuid_for(name: str) -> bytes:
    """The stable Device UUID of a demo light: uuid5(DEMO_NAMESPACE, name)."""
    return uuid.uuid5(DEMO_NAMESPACE, name).bytes


def _demo_private_key(device_uuid: bytes) -> int:
    """A fixed P-256 private key per light, so its QR text (public key) never changes."""
    digest = hashlib.sha256(b"ble_mesh_sim demo OOB key pair" + device_uuid).digest()
    return int.from_bytes(digest, "big") % (_P256_ORDER // 2) + 1


# OutputAction and InputAction are IntEnums with overlapping values: compare by identity.
_COUNTING: Final = (
    OutputAction.BLINK,
    OutputAction.BEEP,
    OutputAction.VIBRATE,
    InputAction.PUSH,
    InputAction.TWIST,
)
_ALPHANUMERIC: Final = (OutputAction.OUTPUT_ALPHANUMERIC, InputAction.INPUT_ALPHANUMERIC)


def _is_one_of(action: OutputAction | InputAction, actions: tuple[Any, ...]) -> bool:
    return any(action is candidate for candidate in actions)


def _default_size(action: OutputAction | InputAction) -> int:
    return DEFAULT_COUNT_SIZE if _is_one_of(action, _COUNTING) else DEFAULT_DIGITS


def _size_text(action: OutputAction | InputAction, size: int) -> str:
    if _is_one_of(action, _COUNTING):
        return f"1 to {10**size - 1} times"
    if _is_one_of(action, _ALPHANUMERIC):
        return f"{size} characters"
    return f"{size} digits"


def _light_from_config(light: Mapping[str, Any]) -> DemoLight:
    name = light[CONF_NAME]
    mode = light[CONF_OOB]
    device_uuid = device_uuid_for(name)
    static = bytes.fromhex(light[CONF_STATIC_OOB]) if CONF_STATIC_OOB in light else None
    private_key: int | None = None
    if mode == OOB_STATIC:
        oob = OobCapabilities(static_oob=static or DEMO_STATIC_OOB)
    elif mode == OOB_PUBLIC_KEY:
        oob = OobCapabilities(public_key_oob=True, static_oob=static or DEMO_STATIC_OOB)
        private_key = _demo_private_key(device_uuid)
    elif mode in OUTPUT_MODES:
        output = OUTPUT_MODES[mode]
        oob = OobCapabilities(
            output_actions=frozenset({output}),
            output_size=light.get(CONF_OUTPUT_SIZE, _default_size(output)),
        )
    elif mode in INPUT_MODES:
        action = INPUT_MODES[mode]
        oob = OobCapabilities(
            input_actions=frozenset({action}),
            input_size=light.get(CONF_INPUT_SIZE, _default_size(action)),
        )
    else:
        oob = OobCapabilities()
    return DemoLight(
        name=name,
        profile=light[CONF_PROFILE],
        oob_mode=mode,
        device_uuid=device_uuid,
        oob=oob,
        oob_private_key=private_key,
        rssi=light[CONF_RSSI],
        remote_provisioning=light.get(CONF_REMOTE_PROVISIONING, False),
        near=light.get(CONF_NEAR),
        uri=light.get(CONF_URI),
    )


def arrange_air(
    air: MeshAir, lights: Mapping[str, DemoLight], nodes: Mapping[str, SimulatedNode]
) -> None:
    """Put each ``near`` light next to its one neighbour on the air, and nowhere else."""
    for name, light in lights.items():
        node = nodes.get(name)
        if node is None:
            continue
        neighbour = nodes.get(light.near) if light.near is not None else None
        air.restrict(node, [neighbour] if neighbour is not None else None)


def demo_lights(config: Mapping[str, Any] | None = None) -> list[DemoLight]:
    """The lights of a ``ble_mesh_sim:`` block (validated here; None: the default set)."""
    validated = DEMO_SCHEMA(dict(config or {}))
    return [_light_from_config(light) for light in validated[CONF_LIGHTS]]


# --------------------------------------------------------------------------------------------
# The node, with a hook for "something may have changed"
# --------------------------------------------------------------------------------------------


class DemoNode(SimulatedNode):
    """A simulated light that tells the demo when its state may have changed.

    ``SimulatedNode`` has callbacks for provisioning and reset only; configuration messages,
    light changes and SEQ reservations happen inside ``write`` and ``tick``, so the demo
    listens there. ``on_link_closed`` lets the demo take down an Output/Input OOB notification
    that no longer applies.
    """

    on_activity: Callable[[DemoNode], None] | None = None
    on_link_closed: Callable[[DemoNode], None] | None = None

    def write(self, char_uuid: str, data: bytes, now: float) -> None:
        """Handle the write, then report activity (also when the write raised)."""
        try:
            super().write(char_uuid, data, now)
        finally:
            if self.on_activity is not None:
                self.on_activity(self)

    def air_receive(self, data: bytes, now: float | None = None, *, beacon: bool = False) -> None:
        """A PDU relayed over the simulated air (lights reached through another proxy node)."""
        try:
            super().air_receive(data, now, beacon=beacon)
        finally:
            if self.on_activity is not None:
                self.on_activity(self)

    def pb_adv_receive(self, data: bytes, now: float | None = None) -> None:
        """A PB-ADV advertisement (remote provisioning through a nearby light)."""
        try:
            super().pb_adv_receive(data, now)
        finally:
            if self.on_activity is not None:
                self.on_activity(self)

    def tick(self, now: float) -> None:
        """Run the timers (transitions end, periodic publications), then report activity."""
        super().tick(now)
        if self.on_activity is not None:
            self.on_activity(self)

    def disconnected(self) -> None:
        """The link ended; report it and the activity."""
        super().disconnected()
        if self.on_link_closed is not None:
            self.on_link_closed(self)
        if self.on_activity is not None:
            self.on_activity(self)


# --------------------------------------------------------------------------------------------
# Wording of what a person sees
# --------------------------------------------------------------------------------------------


def _times(value: OobValue) -> str:
    return "once" if value == 1 else f"{value} times"


def output_text(action: OutputAction, value: OobValue) -> str:
    """What the light does: "blinks 4 times", "shows 1234"."""
    if action is OutputAction.BLINK:
        return f"blinks {_times(value)}"
    if action is OutputAction.BEEP:
        return f"beeps {_times(value)}"
    if action is OutputAction.VIBRATE:
        return f"vibrates {_times(value)}"
    return f"shows {value}"


def input_text(action: InputAction, size: int) -> str:
    """What the light waits for: "waits for a number (up to 4 digits)"."""
    if action is InputAction.PUSH:
        return f"waits for its button to be pushed ({_size_text(action, size)})"
    if action is InputAction.TWIST:
        return f"waits for its knob to be twisted ({_size_text(action, size)})"
    if action is InputAction.INPUT_NUMERIC:
        return f"waits for a number (up to {_size_text(action, size)})"
    return f"waits for a code (up to {_size_text(action, size)})"


_SECOND_TAB: Final = (
    "While the dialog is open, see the light in a second browser tab: *Settings → Devices & "
    "services → Devices → {name} (simulated {kind})* shows its display and keypad."
)
"""How to reach a light while Home Assistant's dialog covers the page (README: the demo)."""


def _second_tab(light: DemoLight) -> str:
    return _SECOND_TAB.format(name=light.name, kind=PROFILES[light.profile].kind)


def _notification_id(node: SimulatedNode) -> str:
    return f"{DOMAIN}_oob_{node.device_uuid.hex()}"


# --------------------------------------------------------------------------------------------
# The running demo
# --------------------------------------------------------------------------------------------


class DemoHandle:
    """A running demo: the proxy, the nodes, their storage and the actions.

    Create it with :func:`async_setup_demo`; stop it with :meth:`async_stop`.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        proxy: VirtualProxy,
        lights: list[DemoLight],
        storage_path: Path,
    ) -> None:
        """Hold the pieces; :func:`async_setup_demo` starts them."""
        self.hass = hass
        self.proxy = proxy
        # One shared advertising bearer: every light is reachable through whichever light
        # Home Assistant uses as its proxy, as in a real mesh.
        self.air = MeshAir()
        self.lights: dict[str, DemoLight] = {light.name: light for light in lights}
        self.nodes: dict[str, DemoNode] = {}
        """Nodes by light name."""
        self.storage_path = storage_path
        self._stored: dict[str, Any] = {}
        """Saved nodes by Device UUID hex, lights no longer configured included."""
        self._last_saved: str | None = None
        self._save_cancel: CALLBACK_TYPE | None = None
        self._save_task: asyncio.Task[None] | None = None
        self._save_lock = asyncio.Lock()
        self._save_job = HassJob(self._async_save_due, f"{DOMAIN} save", cancel_on_shutdown=True)
        self._report_cancels: list[CALLBACK_TYPE] = []
        self._showing: dict[str, str] = {}
        """What each light shows or waits for now (Output/Input OOB), by light name."""
        self._listeners: list[Callable[[str], None]] = []
        self._stopping = False
        self.stopped = False

    # Lookup ----------------------------------------------------------------------------

    def node(self, device: str) -> DemoNode:
        """A node by light name (any case), Bluetooth address or Device UUID."""
        wanted = device.strip()
        folded = wanted.casefold()
        compact = folded.replace("-", "").replace(":", "")
        for name, node in self.nodes.items():
            if folded == name.casefold() or compact in (
                node.address.replace(":", "").casefold(),
                node.device_uuid.hex(),
            ):
                return node
        raise KeyError(wanted)

    def _node_for_service(self, device: str) -> DemoNode:
        try:
            return self.node(device)
        except KeyError:
            known = ", ".join(self.nodes)
            raise ServiceValidationError(
                f"No simulated light {device!r}; the demo has: {known}"
            ) from None

    def qr_text(self, name: str) -> str:
        """The QR label text of a light (UUID, and the OOB public key / static value if any)."""
        return self.nodes[name].qr_text()

    def showing(self, name: str) -> str | None:
        """What light ``name`` shows ("blinks 3 times") or waits for now; None: nothing."""
        return self._showing.get(name)

    @callback
    def async_add_listener(self, listener: Callable[[str], None]) -> CALLBACK_TYPE:
        """Call ``listener(light name)`` when what a light shows changes or it is reset."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    @callback
    def _show(self, name: str, text: str | None) -> None:
        """Set (or clear) what a light shows, and tell the listeners (its entities)."""
        if text is None:
            if self._showing.pop(name, None) is None:
                return
        else:
            self._showing[name] = text
        for listener in list(self._listeners):
            listener(name)

    # Nodes -----------------------------------------------------------------------------

    def _runtime(self, light: DemoLight) -> dict[str, Any]:
        return {
            "schedule": self.hass.loop.call_later,
            "clock": self.proxy.clock,
            "air": self.air,
            "on_show_oob": partial(self._on_show_oob, light),
            "on_input_oob_requested": partial(self._on_input_requested, light),
            "on_provisioned": self._on_provisioned,
            "on_reset": self._on_reset,
        }

    def _build_node(self, light: DemoLight, saved: Mapping[str, Any] | None) -> DemoNode:
        node: DemoNode | None = None
        if saved is not None:
            if light.matches(saved):
                try:
                    restored = DemoNode.from_dict(saved, **self._runtime(light))
                except (KeyError, TypeError, ValueError, MeshError) as err:
                    _LOGGER.warning(
                        "Saved state of %s is unreadable (%s); it starts unprovisioned",
                        light.name,
                        err,
                    )
                else:
                    assert isinstance(restored, DemoNode)
                    node = restored
            else:
                _LOGGER.warning(
                    "The configuration of %s changed (profile or OOB); it starts unprovisioned",
                    light.name,
                )
        if node is None:
            node = light.new_node(**self._runtime(light))
        node.on_activity = self._on_activity
        node.on_link_closed = self._on_link_closed
        return node

    def _log_light(self, light: DemoLight, node: SimulatedNode) -> None:
        # Simulated devices: their OOB data is meant to be read (never HA's own keys).
        _LOGGER.info(
            "Simulated mesh light %r (%s, %s): %s, address %s, UUID %s; QR text: %s",
            light.name,
            light.profile,
            light.describe_oob(),
            f"provisioned as 0x{node.unicast_address:04x}"
            if node.unicast_address is not None
            else "unprovisioned",
            node.address,
            light.uuid_text,
            node.qr_text(),
        )

    @callback
    def _on_show_oob(self, light: DemoLight, value: OobValue, action: OutputAction) -> None:
        node = self.nodes.get(light.name)
        text = output_text(action, value)
        _LOGGER.info("%s %s (Output OOB: type it into the Bluetooth Mesh dialog)", light.name, text)
        if node is None:
            return
        self._show(light.name, text)
        persistent_notification.async_create(
            self.hass,
            f"**{light.name}** {text}.\n\n"
            "This is what the real light would show you: type it into the Bluetooth Mesh "
            f"dialog in Home Assistant. {_second_tab(light)}",
            title=f"Simulated mesh light: {light.name}",
            notification_id=_notification_id(node),
        )

    @callback
    def _on_input_requested(self, light: DemoLight, action: InputAction, size: int) -> None:
        node = self.nodes.get(light.name)
        text = input_text(action, size)
        _LOGGER.info(
            "%s %s (Input OOB): call %s.%s with device %r and the value the Bluetooth Mesh "
            "dialog shows",
            light.name,
            text,
            DOMAIN,
            SERVICE_ENTER_INPUT_OOB,
            light.name,
        )
        if node is None:
            return
        self._show(light.name, text)
        persistent_notification.async_create(
            self.hass,
            f"**{light.name}** {text}.\n\n"
            "Give it the value the Bluetooth Mesh dialog shows: type it on the *Keypad* of "
            f"its device page, or call *{DOMAIN}.{SERVICE_ENTER_INPUT_OOB}* with "
            f"`device: {light.name}` and `value: …`. {_second_tab(light)}",
            title=f"Simulated mesh light: {light.name}",
            notification_id=_notification_id(node),
        )

    @callback
    def _on_provisioned(self, node: SimulatedNode) -> None:
        _LOGGER.info(
            "%s is provisioned (0x%04x); it now advertises the Mesh Proxy service",
            node.name,
            node.unicast_address or 0,
        )
        persistent_notification.async_dismiss(self.hass, _notification_id(node))
        self._show(str(node.name), None)
        self._advertise_soon(node)
        self.async_schedule_save()

    @callback
    def _on_reset(self, node: SimulatedNode) -> None:
        _LOGGER.info("%s was reset; it advertises as unprovisioned again", node.name)
        self._advertise_soon(node)
        self.async_schedule_save()

    @callback
    def _on_activity(self, node: DemoNode) -> None:
        if node.is_provisioned:
            self.async_schedule_save()

    @callback
    def _on_link_closed(self, node: DemoNode) -> None:
        # An Output/Input OOB value belongs to one provisioning attempt, which just ended.
        if not self._stopping:
            persistent_notification.async_dismiss(self.hass, _notification_id(node))
            self._show(str(node.name), None)

    def _advertise_soon(self, node: SimulatedNode) -> None:
        """Advertise the node's new state after the write that changed it has returned."""
        self.hass.loop.call_soon(self._advertise, node.address)

    def _advertise(self, address: str) -> None:
        if self.proxy.started and self.proxy.get(address) is not None:
            self.proxy.advertise_now(address)

    # Persistence ------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the saved nodes (a missing or unreadable file means none)."""
        try:
            data = await self.hass.async_add_executor_job(load_json, self.storage_path)
        except HomeAssistantError as err:
            _LOGGER.warning("Ignoring %s: %s", self.storage_path, err)
            return
        if not isinstance(data, dict) or not data:
            return
        nodes = data.get("nodes")
        if data.get("version") != STORAGE_VERSION or not isinstance(nodes, dict):
            _LOGGER.warning("Ignoring %s: unknown format", self.storage_path)
            return
        self._stored = dict(nodes)
        self._last_saved = json.dumps(data, sort_keys=True)

    def _snapshot(self) -> dict[str, Any]:
        nodes = dict(self._stored)
        for node in self.nodes.values():
            nodes[node.device_uuid.hex()] = node.to_dict()
        return {"version": STORAGE_VERSION, "nodes": nodes}

    @callback
    def async_schedule_save(self) -> None:
        """Save within :data:`SAVE_DELAY` seconds (one save for a burst of changes)."""
        if self._stopping or self._save_cancel is not None:
            return
        self._save_cancel = async_call_later(self.hass, SAVE_DELAY, self._save_job)

    @callback
    def _async_save_due(self, _now: datetime) -> None:
        self._save_cancel = None
        if not self._stopping:
            self._save_task = self.hass.async_create_task(
                self.async_save(), f"{DOMAIN} save", eager_start=True
            )

    @property
    def save_pending(self) -> bool:
        """Whether a save is scheduled or running."""
        return self._save_cancel is not None or (
            self._save_task is not None and not self._save_task.done()
        )

    async def async_save(self) -> None:
        """Write every node's state now (skipped when nothing changed since the last write)."""
        async with self._save_lock:
            data = self._snapshot()
            text = json.dumps(data, sort_keys=True)
            if text == self._last_saved:
                return
            try:
                # private: the file holds the simulated nodes' copies of the network keys.
                await self.hass.async_add_executor_job(
                    partial(save_json, str(self.storage_path), data, True, atomic_writes=True)
                )
            except (OSError, HomeAssistantError) as err:
                _LOGGER.error(
                    "Could not save the simulated lights to %s: %s", self.storage_path, err
                )
                return
            self._stored = dict(data["nodes"])
            self._last_saved = text

    # Actions ----------------------------------------------------------------------------

    @callback
    def enter_input_oob(self, device: str, text: str) -> None:
        """Type ``text`` into a light that waits for Input OOB (or push/twist it that often).

        Raises ServiceValidationError when it does not wait or refuses the value.
        """
        node = self._node_for_service(device)
        request = node.input_oob_request
        if request is None:
            raise ServiceValidationError(f"{node.name} is not waiting for Input OOB")
        action, _size = request
        text = text.strip()
        value: OobValue
        if action is InputAction.INPUT_ALPHANUMERIC:
            value = text
        else:
            try:
                value = int(text)
            except ValueError:
                raise ServiceValidationError(
                    f"{node.name} expects a number, not {text!r}"
                ) from None
        try:
            node.enter_input_oob(value)
        except MeshError as err:
            raise ServiceValidationError(f"{node.name} refused {text!r}: {err}") from err
        _LOGGER.info("%s: Input OOB value entered", node.name)
        persistent_notification.async_dismiss(self.hass, _notification_id(node))
        self._show(str(node.name), None)

    async def _async_enter_input_oob(self, call: ServiceCall) -> None:
        self.enter_input_oob(call.data[ATTR_DEVICE], str(call.data[ATTR_VALUE]))

    async def _async_set_state(self, call: ServiceCall) -> None:
        node = self._node_for_service(call.data[ATTR_DEVICE])
        if not node.is_provisioned:
            raise ServiceValidationError(
                f"{node.name} is not provisioned yet: add it in Home Assistant first"
            )
        light = call.data[ATTR_LIGHT]
        if light >= len(node.lights):
            raise ServiceValidationError(f"{node.name} has {len(node.lights)} light(s)")
        states = _states_from_call(node, call.data)
        try:
            node.set_state(light, transition=call.data.get(ATTR_TRANSITION), **states)
        except MeshError as err:
            raise ServiceValidationError(f"{node.name}: {err}") from err
        self.async_schedule_save()

    @callback
    def factory_reset(self, device: str) -> None:
        """Press a light's reset button: it forgets the network and advertises as new."""
        old = self._node_for_service(device)
        light = self.lights[str(old.name)]
        if light.near is None:
            self.proxy.remove(old.address)  # drops the link, as pulling the power would
        self.air.leave(old)
        old.cancel_timers()
        persistent_notification.async_dismiss(self.hass, _notification_id(old))
        node = self._build_node(light, None)
        self.nodes[light.name] = node
        arrange_air(self.air, self.lights, self.nodes)
        if light.near is None:
            self.proxy.add(node)
        _LOGGER.info("%s: factory reset (button), unprovisioned again", light.name)
        self.async_schedule_save()
        self._showing.pop(light.name, None)
        for listener in list(self._listeners):
            listener(light.name)  # a new node: what it shows and its label start afresh

    async def _async_factory_reset(self, call: ServiceCall) -> None:
        self.factory_reset(call.data[ATTR_DEVICE])

    def _provisioned_node(self, device: str) -> DemoNode:
        node = self._node_for_service(device)
        if not node.is_provisioned:
            raise ServiceValidationError(
                f"{node.name} is not provisioned yet: add it in Home Assistant first"
            )
        return node

    @callback
    def power_cycle(self, device: str) -> None:
        """Pull a device's plug and put it back: its connection drops and it comes back as
        its Generic OnPowerUp says (an unprovisioned device just restarts)."""
        node = self._node_for_service(device)
        node.power_cycle()
        _LOGGER.info("%s: power cycled", node.name)
        self.async_schedule_save()

    async def _async_power_cycle(self, call: ServiceCall) -> None:
        self.power_cycle(call.data[ATTR_DEVICE])

    @callback
    def press(self, device: str, on: bool | None = None) -> None:
        """Press a battery switch's button (``on`` None toggles): it sends Generic OnOff Set
        Unacknowledged to the address its OnOff Client publishes to."""
        node = self._provisioned_node(device)
        try:
            sent = node.press(on=on)
        except MeshError as err:
            raise ServiceValidationError(f"{node.name}: {err}") from err
        if not sent:
            _LOGGER.warning(
                "%s was pressed, but its Generic OnOff Client has no publication: nothing sent",
                node.name,
            )
        self.async_schedule_save()

    async def _async_press(self, call: ServiceCall) -> None:
        self.press(call.data[ATTR_DEVICE], call.data.get(ATTR_ON))

    @callback
    def raise_fault(self, device: str, code: int = DEMO_FAULT) -> None:
        """A fault appears on a device: its Health Server reports it (Health Current Status,
        and Health Fault Get until a Health Fault Clear)."""
        node = self._provisioned_node(device)
        try:
            node.raise_fault(code)
        except MeshError as err:
            raise ServiceValidationError(f"{node.name}: {err}") from err
        _LOGGER.info("%s: fault 0x%02x raised", node.name, code)
        self.async_schedule_save()

    async def _async_raise_fault(self, call: ServiceCall) -> None:
        self.raise_fault(call.data[ATTR_DEVICE], call.data[ATTR_CODE])

    @callback
    def clear_fault(self, device: str, code: int | None = None) -> None:
        """The fault ``code`` (None: every fault) is gone from a device."""
        node = self._provisioned_node(device)
        node.clear_fault(code)
        self.async_schedule_save()

    async def _async_clear_fault(self, call: ServiceCall) -> None:
        self.clear_fault(call.data[ATTR_DEVICE], call.data.get(ATTR_CODE))

    def _register_services(self) -> None:
        services = self.hass.services
        services.async_register(
            DOMAIN, SERVICE_ENTER_INPUT_OOB, self._async_enter_input_oob, ENTER_INPUT_OOB_SCHEMA
        )
        services.async_register(DOMAIN, SERVICE_SET_STATE, self._async_set_state, SET_STATE_SCHEMA)
        services.async_register(
            DOMAIN, SERVICE_FACTORY_RESET, self._async_factory_reset, DEVICE_SCHEMA
        )
        services.async_register(DOMAIN, SERVICE_POWER_CYCLE, self._async_power_cycle, DEVICE_SCHEMA)
        services.async_register(DOMAIN, SERVICE_PRESS, self._async_press, PRESS_SCHEMA)
        services.async_register(
            DOMAIN, SERVICE_RAISE_FAULT, self._async_raise_fault, RAISE_FAULT_SCHEMA
        )
        services.async_register(
            DOMAIN, SERVICE_CLEAR_FAULT, self._async_clear_fault, CLEAR_FAULT_SCHEMA
        )

    # Lifecycle --------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Load saved state, start the proxy, add the nodes, register the actions."""
        await self.async_load()
        for light in self.lights.values():
            node = self._build_node(light, self._stored.get(light.device_uuid.hex()))
            self.nodes[light.name] = node
        arrange_air(self.air, self.lights, self.nodes)
        await self.proxy.async_start(self.hass)
        for light in self.lights.values():
            node = self.nodes[light.name]
            if light.near is None:
                self.proxy.add(node)  # a light near another one only is out of HA's reach
            self._log_light(light, node)
        self._register_services()
        self._report_cancels.append(async_at_started(self.hass, self._async_schedule_report))

    @callback
    def _async_schedule_report(self, _hass: HomeAssistant) -> None:
        """Once HA runs, discovery flows start (as background tasks): report them shortly."""
        job = HassJob(self._async_report_discovery, f"{DOMAIN} report", cancel_on_shutdown=True)
        self._report_cancels.append(async_call_later(self.hass, REPORT_DELAY, job))

    @callback
    def _async_report_discovery(self, _now: datetime) -> None:
        """Log which lights Bluetooth Mesh offers to add (the demo's "it works" line)."""
        by_uuid = {node.device_uuid.hex(): name for name, node in self.nodes.items()}
        flows = self.hass.config_entries.flow.async_progress_by_handler(MESH_DOMAIN)
        offered = sorted(
            name
            for flow in flows
            if (name := by_uuid.get(str(flow["context"].get("unique_id")))) is not None
        )
        provisioned = sorted(name for name, node in self.nodes.items() if node.is_provisioned)
        _LOGGER.info(
            "%s discovery flow(s) for simulated lights: %s; provisioned: %s. Add them in "
            "Settings -> Devices & services",
            MESH_DOMAIN,
            ", ".join(offered) or "none",
            ", ".join(provisioned) or "none",
        )

    async def async_stop(self) -> None:
        """Unload: no timers left, the proxy unregistered, the state saved. Safe to call twice."""
        if self.stopped:
            return
        self._stopping = True
        for cancel in self._report_cancels:
            cancel()
        self._report_cancels.clear()
        if self._save_cancel is not None:
            self._save_cancel()
            self._save_cancel = None
        for service in SERVICES:
            self.hass.services.async_remove(DOMAIN, service)
        # Stopping the proxy drops the links; the nodes may arm timers while disconnecting,
        # so cancel them afterwards, and take their scheduler away: a disconnection the proxy
        # reports later (its latency) must not arm a timer that outlives the demo.
        await self.proxy.async_stop()
        for node in self.nodes.values():
            node.cancel_timers()
            node.schedule = None
            persistent_notification.async_dismiss(self.hass, _notification_id(node))
        if self._save_task is not None:
            await asyncio.shield(self._save_task)
        await self.async_save()
        self.stopped = True
        if self.hass.data.get(DOMAIN) is self:
            del self.hass.data[DOMAIN]
        _LOGGER.info("Simulated mesh lights stopped; state saved to %s", self.storage_path)


def _states_from_call(node: SimulatedNode, data: Mapping[str, Any]) -> dict[str, int | bool]:
    """Translate Home Assistant's light terms into the node's states (values on the air)."""
    models = {model for element in node.profile.elements for model in element.models}

    def need(model: int, what: str) -> None:
        if model not in models:
            raise ServiceValidationError(f"{node.name} ({node.profile.name}) has no {what}")

    states: dict[str, int | bool] = {}
    if ATTR_ON in data:
        need(ids.GENERIC_ONOFF_SERVER, "light or relay to switch")
        states["on"] = bool(data[ATTR_ON])
    if ATTR_BRIGHTNESS in data:
        need(ids.LIGHT_LIGHTNESS_SERVER, "brightness")
        states["lightness"] = round(data[ATTR_BRIGHTNESS] * 0xFFFF / 255)
    if ATTR_LIGHTNESS in data:
        need(ids.LIGHT_LIGHTNESS_SERVER, "brightness")
        states["lightness"] = data[ATTR_LIGHTNESS]
    if ATTR_COLOR_TEMP_KELVIN in data:
        need(ids.LIGHT_CTL_SERVER, "colour temperature")
        states["temperature"] = data[ATTR_COLOR_TEMP_KELVIN]
    if ATTR_HS_COLOR in data:
        need(ids.LIGHT_HSL_SERVER, "hue and saturation")
        hue, saturation = data[ATTR_HS_COLOR]
        states["hue"] = round((hue % 360) * 0x10000 / 360) & 0xFFFF
        states["saturation"] = round(saturation * 0xFFFF / 100)
    if ATTR_XY_COLOR in data:
        need(ids.LIGHT_XYL_SERVER, "xy colour")
        x, y = data[ATTR_XY_COLOR]
        states["x"] = round(x * 0xFFFF)
        states["y"] = round(y * 0xFFFF)
    return states


def _pair(first: Any, second: Any) -> Any:
    return vol.All(vol.ExactSequence([first, second]), vol.Coerce(tuple))


ENTER_INPUT_OOB_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_DEVICE): cv.string,
        vol.Required(ATTR_VALUE): vol.All(vol.Any(str, int), vol.Coerce(str)),
    }
)
SET_STATE_SCHEMA: Final = vol.All(
    vol.Schema(
        {
            vol.Required(ATTR_DEVICE): cv.string,
            vol.Optional(ATTR_LIGHT, default=0): vol.All(vol.Coerce(int), vol.Range(min=0)),
            vol.Optional(ATTR_ON): cv.boolean,
            vol.Exclusive(ATTR_BRIGHTNESS, "level"): vol.All(
                vol.Coerce(int), vol.Range(min=0, max=255)
            ),
            vol.Exclusive(ATTR_LIGHTNESS, "level"): vol.All(
                vol.Coerce(int), vol.Range(min=0, max=0xFFFF)
            ),
            vol.Exclusive(ATTR_COLOR_TEMP_KELVIN, "colour"): vol.All(
                vol.Coerce(int), vol.Range(min=800, max=20000)
            ),
            vol.Exclusive(ATTR_HS_COLOR, "colour"): _pair(
                vol.All(vol.Coerce(float), vol.Range(min=0, max=360)),
                vol.All(vol.Coerce(float), vol.Range(min=0, max=100)),
            ),
            vol.Exclusive(ATTR_XY_COLOR, "colour"): _pair(
                vol.All(vol.Coerce(float), vol.Range(min=0, max=1)),
                vol.All(vol.Coerce(float), vol.Range(min=0, max=1)),
            ),
            vol.Optional(ATTR_TRANSITION): vol.All(vol.Coerce(float), vol.Range(min=0, max=37200)),
        }
    ),
    cv.has_at_least_one_key(
        ATTR_ON,
        ATTR_BRIGHTNESS,
        ATTR_LIGHTNESS,
        ATTR_COLOR_TEMP_KELVIN,
        ATTR_HS_COLOR,
        ATTR_XY_COLOR,
    ),
)
DEVICE_SCHEMA: Final = vol.Schema({vol.Required(ATTR_DEVICE): cv.string})
"""factory_reset and power_cycle: which device."""
PRESS_SCHEMA: Final = vol.Schema(
    {vol.Required(ATTR_DEVICE): cv.string, vol.Optional(ATTR_ON): cv.boolean}
)
_FAULT_CODE: Final = vol.All(vol.Coerce(int), vol.Range(min=1, max=0xFF))
RAISE_FAULT_SCHEMA: Final = vol.Schema(
    {vol.Required(ATTR_DEVICE): cv.string, vol.Optional(ATTR_CODE, default=DEMO_FAULT): _FAULT_CODE}
)
CLEAR_FAULT_SCHEMA: Final = vol.Schema(
    {vol.Required(ATTR_DEVICE): cv.string, vol.Optional(ATTR_CODE): _FAULT_CODE}
)


async def async_setup_demo(
    hass: HomeAssistant,
    config: Mapping[str, Any] | None = None,
    *,
    storage_path: str | Path | None = None,
) -> DemoHandle:
    """Start the demo: a virtual proxy in HA's Bluetooth stack with the configured lights.

    ``config`` is the ``ble_mesh_sim:`` block (validated here; None: defaults). State is kept
    in ``storage_path`` (default ``<config>/.ble_mesh_sim.json``). Sets up ``bluetooth`` if it
    is not yet. One demo per Home Assistant: stop it with :meth:`DemoHandle.async_stop`.
    """
    if isinstance(hass.data.get(DOMAIN), DemoHandle):
        raise HomeAssistantError("the Bluetooth Mesh simulator is already running")
    validated = DEMO_SCHEMA(dict(config or {}))
    if not await async_setup_component(hass, "bluetooth", {}):
        raise HomeAssistantError("the bluetooth integration did not set up")
    proxy = VirtualProxy(
        PROXY_SOURCE, PROXY_NAME, latency=validated[CONF_LATENCY], mtu=validated[CONF_MTU]
    )
    handle = DemoHandle(
        hass,
        proxy,
        [_light_from_config(light) for light in validated[CONF_LIGHTS]],
        Path(storage_path) if storage_path is not None else Path(hass.config.path(STORAGE_FILE)),
    )
    hass.data[DOMAIN] = handle
    try:
        await handle.async_start()
    except BaseException:
        hass.data.pop(DOMAIN, None)
        await handle.async_stop()
        raise
    _LOGGER.info(
        "Bluetooth Mesh simulator: %d simulated light(s) behind virtual proxy %s "
        "(latency %.3f s, ATT MTU %d)",
        len(handle.nodes),
        proxy.source,
        proxy.latency,
        proxy.mtu,
    )
    return handle


# --------------------------------------------------------------------------------------------
# README table
# --------------------------------------------------------------------------------------------


def readme_table(config: Mapping[str, Any] | None = None) -> str:
    """A Markdown table of the demo lights: name, profile, OOB mode, address, OOB data."""
    rows = [
        "| light | profile | OOB | address | what you enter |",
        "| --- | --- | --- | --- | --- |",
    ]
    for light in demo_lights(config):
        node = light.new_node()
        if light.oob_mode == OOB_STATIC:
            assert light.oob.static_oob is not None
            entry = f"static OOB `{light.oob.static_oob.hex()}`"
        elif light.oob_mode == OOB_PUBLIC_KEY:
            entry = f"QR text `{node.qr_text()}`"
        elif light.oob_mode in OUTPUT_MODES:
            entry = "what its page's *Display* shows (new every attempt)"
        elif light.oob_mode in INPUT_MODES:
            entry = "the value HA shows, on its page's *Keypad*"
        else:
            entry = "nothing (confirm the unauthenticated warning)"
        rows.append(
            f"| {light.name} | `{light.profile}` ({PROFILES[light.profile].name}) "
            f"| {light.describe_oob()} | `{node.address}` | {entry} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(readme_table())
