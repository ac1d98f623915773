"""Config flow: create or import a mesh network; discovered devices lead there first."""

from __future__ import annotations

from typing import Any
import uuid

from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    FileSelector,
    FileSelectorConfig,
    TextSelector,
)
import voluptuous as vol

from .const import CONF_MESH_UUID, DEFAULT_NETWORK_NAME, DOMAIN, PROVISIONER_NAME
from .mesh.database import AllocationError, MeshNetwork
from .mesh.errors import MeshError
from .storage import MeshStore, now_iso

CONF_FILE = "file"


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
        """Create a new network or import one exported from another provisioner."""
        return self.async_show_menu(
            step_id="user", menu_options=["create_network", "import_network"]
        )

    async def async_step_create_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Create a new mesh network with fresh keys; Home Assistant is its provisioner."""
        if user_input is not None:
            name = user_input[CONF_NAME].strip() or DEFAULT_NETWORK_NAME
            network = MeshNetwork.create(name, PROVISIONER_NAME, now_iso())
            return await self._async_create_network_entry(network)
        return self.async_show_form(
            step_id="create_network",
            data_schema=vol.Schema(
                {vol.Required(CONF_NAME, default=DEFAULT_NETWORK_NAME): TextSelector()}
            ),
        )

    async def async_step_import_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Import a Mesh Configuration Database export (nRF Mesh and others)."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            try:
                text = await self.hass.async_add_executor_job(
                    _read_uploaded_text, self.hass, user_input[CONF_FILE]
                )
                network = MeshNetwork.from_json(text)
            except (UnicodeDecodeError, ValueError) as err:
                if isinstance(err, MeshError):
                    errors["base"] = "invalid_network"
                    placeholders["error"] = str(err)
                else:
                    errors["base"] = "invalid_file"
            else:
                await self.async_set_unique_id(network.mesh_uuid.hex, raise_on_progress=False)
                self._abort_if_unique_id_configured()
                try:
                    provisioner = network.add_provisioner(PROVISIONER_NAME, uuid.uuid4())
                except AllocationError:
                    errors["base"] = "no_free_range"
                else:
                    network.set_local_provisioner(provisioner.uuid)
                    network.touch(now_iso())
                    return await self._async_create_network_entry(network)
        return self.async_show_form(
            step_id="import_network",
            data_schema=vol.Schema(
                {vol.Required(CONF_FILE): FileSelector(FileSelectorConfig(accept=".json"))}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_create_network_entry(self, network: MeshNetwork) -> ConfigFlowResult:
        mesh_uuid = network.mesh_uuid.hex
        await self.async_set_unique_id(mesh_uuid, raise_on_progress=False)
        self._abort_if_unique_id_configured()
        await MeshStore(self.hass, mesh_uuid).async_save(network)
        return self.async_create_entry(title=network.mesh_name, data={CONF_MESH_UUID: mesh_uuid})


def _read_uploaded_text(hass: Any, file_id: str) -> str:
    """Read an uploaded file (runs in the executor; the upload is deleted afterwards)."""
    with process_uploaded_file(hass, file_id) as path:
        return path.read_text(encoding="utf-8")
