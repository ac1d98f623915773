"""Simulated Bluetooth hardware for tests, benchmarks and the demo. Never shipped.

The integration under ``custom_components/`` must not import anything from here. See
:mod:`simulator.virtual_proxy` for how simulated peripherals reach Home Assistant.
"""

from __future__ import annotations

from .virtual_proxy import (
    Advertisement,
    PeripheralLink,
    ProxyStats,
    TrafficRecord,
    VirtualBleakClient,
    VirtualCharacteristic,
    VirtualPeripheral,
    VirtualProxy,
    VirtualScanner,
    VirtualService,
)

__all__ = [
    "Advertisement",
    "PeripheralLink",
    "ProxyStats",
    "TrafficRecord",
    "VirtualBleakClient",
    "VirtualCharacteristic",
    "VirtualPeripheral",
    "VirtualProxy",
    "VirtualScanner",
    "VirtualService",
]
