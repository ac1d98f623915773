"""The one config entry of the simulated lights, made from the ``ble_mesh_sim:`` YAML block."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from simulator.demo import DOMAIN

ENTRY_TITLE = "Simulated lights"


class SimulatorConfigFlow(ConfigFlow, domain=DOMAIN):
    """Only the import from YAML (the manifest offers no flow in *Add integration*)."""

    VERSION = 1

    async def async_step_import(self, import_data: dict[str, Any]) -> ConfigFlowResult:
        """One entry holds every simulated light's device."""
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=ENTRY_TITLE, data={})
