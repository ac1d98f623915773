"""The server model registry (mesh/models/registry.py) against the message tables it encodes."""

from __future__ import annotations

from collections import Counter

import pytest

from custom_components.ble_mesh.mesh.models import (
    generic as gen,
    lighting as li,
    model_ids as ids,
    scenes as sc,
)
from custom_components.ble_mesh.mesh.models.registry import (
    BY_ID,
    CONFIGURED_MODELS,
    GROUP_MODELS,
    HANDLED_BY,
    LIGHT_MODELS,
    PUBLISHING_MODELS,
    SERVER_MODELS,
    LightRole,
    ModelSpec,
    light_roles,
    primary_light_model,
)


def test_each_message_is_handled_by_exactly_one_model() -> None:
    handled = Counter(message for spec in SERVER_MODELS for message in spec.handles)
    assert [m.__name__ for m, n in handled.items() if n > 1] == []
    assert len(HANDLED_BY) == sum(handled.values())
    opcodes = Counter(message.OPCODE for message in HANDLED_BY)
    assert [hex(o) for o, n in opcodes.items() if n > 1] == []


def test_each_model_has_one_spec() -> None:
    assert len(BY_ID) == len(SERVER_MODELS)


@pytest.mark.parametrize("spec", LIGHT_MODELS, ids=lambda s: str(s.light))
def test_light_models_read_their_state_with_their_own_get(spec: ModelSpec) -> None:
    assert spec.get is not None
    assert spec.get in spec.handles
    assert spec.get.RESPONSE is spec.status
    assert spec.configured
    assert spec.group


@pytest.mark.parametrize(
    "spec", [s for s in SERVER_MODELS if s.status is not None], ids=lambda s: f"{s.model_id:04x}"
)
def test_a_published_status_answers_the_models_own_get(spec: ModelSpec) -> None:
    """What a server publishes is what its Get reads (the simulator publishes it too)."""
    assert spec.get in spec.handles
    assert spec.get is not None
    assert spec.get.RESPONSE is spec.status


def test_message_tables_of_mshmdl() -> None:
    """Spot checks of MshMDL 1.1 §7.1: Set messages go to the model whose state they set."""
    assert HANDLED_BY[gen.GenericOnOffSetUnacknowledged] == ids.GENERIC_ONOFF_SERVER
    assert HANDLED_BY[li.LightCtlTemperatureRangeSet] == ids.LIGHT_CTL_SETUP_SERVER
    assert HANDLED_BY[li.LightCtlTemperatureRangeGet] == ids.LIGHT_CTL_SERVER
    assert HANDLED_BY[sc.SceneStore] == ids.SCENE_SETUP_SERVER
    assert HANDLED_BY[sc.SceneRecall] == ids.SCENE_SERVER


def test_configuration_and_group_sets() -> None:
    # Setup servers are configured with the device key only, except those Home Assistant uses
    # (Scene Store). Health is bound and publishes its faults to Home Assistant, as do the
    # clients of wall switches (their presses become events); a light's model is published as
    # the element's light, not through PUBLISHING_MODELS.
    assert ids.LIGHT_CTL_SETUP_SERVER not in CONFIGURED_MODELS
    assert ids.HEALTH_SERVER in CONFIGURED_MODELS
    assert ids.HEALTH_SERVER in PUBLISHING_MODELS
    assert ids.GENERIC_ONOFF_CLIENT in CONFIGURED_MODELS
    assert ids.GENERIC_ONOFF_SERVER not in PUBLISHING_MODELS
    assert ids.GENERIC_POWER_ONOFF_SERVER not in PUBLISHING_MODELS
    assert ids.SCENE_SETUP_SERVER in CONFIGURED_MODELS  # Scene Store, also to a group
    assert ids.SCENE_SETUP_SERVER in GROUP_MODELS
    assert ids.GENERIC_LEVEL_SERVER not in GROUP_MODELS


def test_light_roles_and_the_richest_model() -> None:
    ctl_lamp = {ids.GENERIC_ONOFF_SERVER, ids.LIGHT_LIGHTNESS_SERVER, ids.LIGHT_CTL_SERVER}
    assert light_roles(ctl_lamp) == {LightRole.ONOFF, LightRole.LIGHTNESS, LightRole.CTL}
    spec = primary_light_model(ctl_lamp)
    assert spec is not None
    assert spec.model_id == ids.LIGHT_CTL_SERVER
    assert spec.get is li.LightCtlGet
    plug = {ids.GENERIC_ONOFF_SERVER, ids.GENERIC_POWER_ONOFF_SERVER}
    assert primary_light_model(plug) is BY_ID[ids.GENERIC_ONOFF_SERVER]
    assert light_roles({ids.HEALTH_SERVER, ids.SCENE_SERVER}) == frozenset()
    assert primary_light_model({ids.HEALTH_SERVER}) is None
