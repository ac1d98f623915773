"""Model messages (MshPRT 1.1 §4 foundation models; MshMDL 1.1 generic, sensors, scenes, lighting).

Importing this package registers every message class with the access layer's codec registry
(:func:`..access.decode_message` imports it on first use).
"""

from __future__ import annotations

from . import (
    common,
    composition,
    config,
    generic,
    health,
    lighting,
    model_ids,
    properties,
    remote_provisioning,
    scenes,
    sensors,
)

__all__ = [
    "common",
    "composition",
    "config",
    "generic",
    "health",
    "lighting",
    "model_ids",
    "properties",
    "remote_provisioning",
    "scenes",
    "sensors",
]
