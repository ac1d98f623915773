"""The runtime's own fields in the ``x-ble-mesh`` extension: SEQ IV Index, replay list."""

from __future__ import annotations

import pytest

from custom_components.ble_mesh.mesh.database import EXTENSION_KEY, CdbFormatError, MeshNetwork

NOW = "2026-01-01T00:00:00+00:00"


def test_replay_list_and_sequence_iv_index_round_trip() -> None:
    network = MeshNetwork.create("Home", "Home Assistant", NOW)
    assert network.extension is not None
    assert "replayProtection" not in network.to_json()[EXTENSION_KEY]  # absent while empty
    network.extension.replay_protection = {0x0002: (3, 17), 0x0010: (3, 0x00FFFF)}
    network.extension.sequence_iv_index = 3
    data = network.to_json()
    assert data[EXTENSION_KEY]["replayProtection"] == {"0002": [3, 17], "0010": [3, 0xFFFF]}
    assert data[EXTENSION_KEY]["sequenceIvIndex"] == 3
    again = MeshNetwork.from_json(data)
    assert again.extension is not None
    assert again.extension.replay_protection == {0x0002: (3, 17), 0x0010: (3, 0xFFFF)}
    assert again.extension.sequence_iv_index == 3
    assert again.to_json() == data


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
    data = MeshNetwork.create("Home", "Home Assistant", NOW).to_json()
    data[EXTENSION_KEY]["replayProtection"] = value
    with pytest.raises(CdbFormatError, match=where.replace("[", r"\[").replace("]", r"\]")):
        MeshNetwork.from_json(data)
