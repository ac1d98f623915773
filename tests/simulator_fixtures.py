"""Pytest plugin: virtual Bluetooth proxies and simulated peripherals for Home Assistant tests.

Registered once in ``tests/conftest.py`` (``pytest_plugins``). The fixtures need the ``hass``
fixture, so they serve the tests under ``tests/integration/``.

- ``virtual_proxy``: a started `VirtualProxy` with default options (latency 0, ATT MTU 23,
  3 connection slots), stopped after the test.
- ``virtual_proxy_factory``: ``proxy = await virtual_proxy_factory(mtu=185, latency=0.02)``
  for other options; each call makes another proxy with its own source address.
- ``add_virtual_peripheral``: ``await add_virtual_peripheral(peripheral)`` adds it to
  ``virtual_proxy`` (or ``proxy=...``) and waits until HA has processed the advertisement,
  including the discovery flows it starts in the background.
- ``bluetooth_clock``: owns Home Assistant's Bluetooth clock. ``await bluetooth_clock.advance(s)``
  moves it forward and fires the timers that fall due (re-advertising, scanner expiry,
  unavailable tracking), as HA core's ``patch_bluetooth_time`` + ``async_fire_time_changed`` do.
- ``no_connect_backoff``: bleak-retry-connector retries at once instead of sleeping 0.1-4 s.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

if TYPE_CHECKING:
    from simulator.virtual_proxy import VirtualPeripheral, VirtualProxy

type ProxyFactory = Callable[..., Awaitable[VirtualProxy]]
type AddPeripheral = Callable[..., Awaitable[VirtualPeripheral]]

# Every module that reads monotonic time for Bluetooth bookkeeping; the same list HA core's
# tests/components/bluetooth patch_bluetooth_time uses. The virtual proxy's default clock
# reads the first one at call time.
_BLUETOOTH_CLOCKS = (
    "habluetooth.base_scanner.monotonic_time_coarse",
    "habluetooth.manager.monotonic_time_coarse",
    "habluetooth.scanner.monotonic_time_coarse",
    "homeassistant.components.bluetooth.MONOTONIC_TIME",
)


@pytest.fixture
async def virtual_proxy_factory(
    hass: HomeAssistant, enable_bluetooth: None
) -> AsyncGenerator[ProxyFactory]:
    """Make started virtual proxies; stop them all after the test."""
    from simulator.virtual_proxy import VirtualProxy

    proxies: list[VirtualProxy] = []

    async def _create(**options: Any) -> VirtualProxy:
        options.setdefault("source", f"02:00:00:00:00:{len(proxies) + 1:02X}")
        options.setdefault("name", f"virtual-proxy-{len(proxies) + 1}")
        proxy = VirtualProxy(**options)
        await proxy.async_start(hass)
        proxies.append(proxy)
        await hass.async_block_till_done()
        return proxy

    yield _create
    for proxy in reversed(proxies):
        await proxy.async_stop()
    await hass.async_block_till_done()


@pytest.fixture
async def virtual_proxy(virtual_proxy_factory: ProxyFactory) -> VirtualProxy:
    """A started virtual proxy with default options."""
    return await virtual_proxy_factory()


@pytest.fixture
def add_virtual_peripheral(hass: HomeAssistant, virtual_proxy: VirtualProxy) -> AddPeripheral:
    """Add a peripheral and wait for HA (and any discovery flow) to process its advertisement."""

    async def _add(
        peripheral: VirtualPeripheral, proxy: VirtualProxy | None = None
    ) -> VirtualPeripheral:
        (proxy or virtual_proxy).add(peripheral)
        await hass.async_block_till_done(wait_background_tasks=True)
        return peripheral

    return _add


class BluetoothClock:
    """Home Assistant's Bluetooth clock under a test's control (see ``bluetooth_clock``)."""

    def __init__(self, hass: HomeAssistant, start: float) -> None:
        """Start at ``start`` (monotonic seconds)."""
        self._hass = hass
        self.now = start
        self._elapsed = 0.0

    def __call__(self) -> float:
        """Return the current Bluetooth time."""
        return self.now

    async def advance(self, seconds: float, *, step: float = 10.0) -> None:
        """Move time forward in steps of at most ``step`` seconds, firing due timers each step.

        Timers fire at least as often as they would in real time, and may fire more often:
        phcc's ``async_fire_time_changed`` measures from the real clock, so a timer that has
        already fired and re-armed can be due again at every later step. Bluetooth timers only
        compare timestamps, so that is harmless.
        """
        remaining = seconds
        while remaining > 0:
            delta = min(step, remaining)
            remaining -= delta
            self.now += delta
            self._elapsed += delta
            async_fire_time_changed(self._hass, dt_util.utcnow() + timedelta(seconds=self._elapsed))
            await self._hass.async_block_till_done()


@pytest.fixture
def bluetooth_clock(hass: HomeAssistant) -> Generator[BluetoothClock]:
    """Patch habluetooth's (and HA's bluetooth) monotonic clocks with a controllable one."""
    from simulator.virtual_proxy import bluetooth_clock as real_bluetooth_clock

    clock = BluetoothClock(hass, real_bluetooth_clock())
    patches = [patch(target, side_effect=clock) for target in _BLUETOOTH_CLOCKS]
    for clock_patch in patches:
        clock_patch.start()
    try:
        yield clock
    finally:
        for clock_patch in reversed(patches):
            clock_patch.stop()


@pytest.fixture
def no_connect_backoff() -> Generator[None]:
    """Make bleak-retry-connector retry failed connects without sleeping."""
    with patch("bleak_retry_connector.calculate_backoff_time", return_value=0.0):
        yield
