"""Config flow: create a mesh network; discovered mesh devices lead there first."""

from __future__ import annotations

from typing import Any
import uuid

from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import TextSelector
import voluptuous as vol

from .const import CONF_MESH_UUID, DEFAULT_NETWORK_NAME, DOMAIN


class BleMeshConfigFlow(ConfigFlow, domain=DOMAIN):
    """Handle a config flow for a Bluetooth Mesh network."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with no discovered device."""
        self._discovery: BluetoothServiceInfoBleak | None = None

    async def async_step_bluetooth(
        self, discovery_info: BluetoothServiceInfoBleak
    ) -> ConfigFlowResult:
        """A mesh device advertised the Provisioning or Proxy service."""
        await self.async_set_unique_id(discovery_info.address)
        self._abort_if_unique_id_configured()
        if self._async_current_entries():
            # Provisioning into an existing network is the discovery flow's next step; until
            # then the user is told plainly instead of being offered a second network.
            return self.async_abort(reason="provisioning_unavailable")
        self._discovery = discovery_info
        self.context["title_placeholders"] = {"name": discovery_info.name or discovery_info.address}
        return await self.async_step_bluetooth_confirm()

    async def async_step_bluetooth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer to create the mesh network the discovered device will join."""
        assert self._discovery is not None
        if user_input is not None:
            return await self.async_step_user()
        self._set_confirm_only()
        return self.async_show_form(
            step_id="bluetooth_confirm",
            description_placeholders={"name": self._discovery.name or self._discovery.address},
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create a new mesh network."""
        if user_input is not None:
            mesh_uuid = uuid.uuid4().hex
            await self.async_set_unique_id(mesh_uuid, raise_on_progress=False)
            name = user_input[CONF_NAME].strip() or DEFAULT_NETWORK_NAME
            return self.async_create_entry(title=name, data={CONF_MESH_UUID: mesh_uuid})
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {vol.Required(CONF_NAME, default=DEFAULT_NETWORK_NAME): TextSelector()}
            ),
        )
