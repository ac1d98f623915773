"""Constants of the Bluetooth Mesh integration (Home Assistant side)."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "ble_mesh"

CONF_MESH_UUID: Final = "mesh_uuid"
DEFAULT_NETWORK_NAME: Final = "Home mesh"

# GATT services a mesh device advertises (MshPRT 1.1 §7.1, §7.2).

# How Home Assistant names itself as a provisioner in the network database.
PROVISIONER_NAME: Final = "Home Assistant"

# Dispatcher signal (formatted with the entry id): a node's composition is known/changed.
SIGNAL_NODE_CONFIGURED: Final = "ble_mesh_node_configured_{}"

# Dispatcher signals (formatted with the entry id): a group was created (with the Group) or
# deleted (with its 16-bit address).
SIGNAL_GROUP_ADDED: Final = "ble_mesh_group_added_{}"
SIGNAL_GROUP_REMOVED: Final = "ble_mesh_group_removed_{}"

# Options (entry.options): release the proxy connection after this long without traffic.
CONF_RELEASE_WHEN_IDLE: Final = "release_when_idle"
CONF_IDLE_SECONDS: Final = "idle_seconds"
DEFAULT_IDLE_SECONDS: Final = 60
MIN_IDLE_SECONDS: Final = 10
MAX_IDLE_SECONDS: Final = 3600

# The network's application key: every model Home Assistant talks to is bound to AppKey 0.
APP_KEY_INDEX: Final = 0

# Options (entry.options): elements with Generic OnOff and no light model (plugs, relays) are
# switches; the unique IDs listed here are shown as lights instead.
CONF_SWITCHES_AS_LIGHTS: Final = "switches_as_lights"
