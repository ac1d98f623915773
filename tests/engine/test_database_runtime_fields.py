"""0.1's volatile fields in the ``x-ble-mesh`` extension: read once, never written again.

The IV Index, the SEQ reservation and the replay protection list are the node's state now
(``MeshNode.snapshot``); a database written by 0.1 still carries them, and they are how that
state is started (storage.py's migration).
"""

from __future__ import annotations

import pytest

from custom_components.ble_mesh.mesh.database import (
    EXTENSION_KEY,
    CdbFormatError,
    LegacyRuntimeFields,
    MeshNetwork,
)

NOW = "2026-01-01T00:00:00+00:00"
LEGACY = {
    "ivIndex": 3,
    "ivUpdateActive": True,
    "sequenceNumbers": {"0001": 1200},
    "sequenceIvIndex": 2,
    "replayProtection": {"0002": [3, 17], "0010": [3, 0xFFFF]},
}


def _legacy_document() -> dict[str, object]:
    data = MeshNetwork.create("Home", "Home Assistant", NOW).to_json()
    data[EXTENSION_KEY] |= LEGACY  # type: ignore[operator]
    return data


def test_a_new_database_holds_no_volatile_state() -> None:
    extension = MeshNetwork.create("Home", "Home Assistant", NOW).to_json()[EXTENSION_KEY]
    assert set(extension) & LegacyRuntimeFields.FIELDS == set()  # type: ignore[arg-type]


def test_legacy_fields_are_read_then_dropped() -> None:
    network = MeshNetwork.from_json(_legacy_document())
    assert network.extension is not None
    legacy = network.extension.legacy
    assert legacy == LegacyRuntimeFields(
        iv_index=3,
        iv_update_active=True,
        sequence_numbers={0x0001: 1200},
        sequence_iv_index=2,
        replay_protection={0x0002: (3, 17), 0x0010: (3, 0xFFFF)},
    )
    assert legacy.transmit_iv_index == 2
    written = network.to_json()[EXTENSION_KEY]
    assert set(written) & LegacyRuntimeFields.FIELDS == set()  # type: ignore[arg-type]
    assert written["localProvisioner"]  # type: ignore[index]


def test_transmit_iv_index_without_sequence_iv_index() -> None:
    assert LegacyRuntimeFields(iv_index=7, iv_update_active=True).transmit_iv_index == 6
    assert LegacyRuntimeFields(iv_index=7).transmit_iv_index == 7
    assert LegacyRuntimeFields(iv_index=0, iv_update_active=True).transmit_iv_index == 0


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"C000": [0, 1]}, "replayProtection.C000"),
        ({"0002": [0]}, "replayProtection.0002"),
        ({"0002": [0, 0x1000000]}, "replayProtection.0002[1]"),
        ([1, 2], "replayProtection"),
    ],
)
def test_malformed_replay_list_is_refused(value: object, where: str) -> None:
    data = _legacy_document()
    data[EXTENSION_KEY]["replayProtection"] = value  # type: ignore[index]
    with pytest.raises(CdbFormatError, match=where.replace("[", r"\[").replace("]", r"\]")):
        MeshNetwork.from_json(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [("ivIndex", -1), ("ivUpdateActive", "yes"), ("sequenceNumbers", {"0001": -5})],
)
def test_malformed_legacy_values_are_refused(field: str, value: object) -> None:
    data = _legacy_document()
    data[EXTENSION_KEY][field] = value  # type: ignore[index]
    with pytest.raises(CdbFormatError):
        MeshNetwork.from_json(data)
