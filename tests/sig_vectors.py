"""Access to the Bluetooth SIG sample data (MshPRT 1.1 §8) copied into tests/vectors/.

Tests parametrize straight from the file: ``@pytest.mark.parametrize("v", vectors("k2"), ids=ids)``.
Worked examples the specifications do not give as sample data (sensor data, device properties)
live in ``sensor-examples.json`` in the same format: ``vectors(kind, SENSOR_FILE)``.
"""

from __future__ import annotations

from functools import cache
import json
from pathlib import Path
from typing import Any

VECTOR_FILE = Path(__file__).parent / "vectors" / "sig-sample-data.json"
SENSOR_FILE = Path(__file__).parent / "vectors" / "sensor-examples.json"


@cache
def _all(path: Path) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(path.read_text(encoding="utf-8")))


def vectors(kind: str, path: Path = VECTOR_FILE) -> list[dict[str, Any]]:
    """Every vector of one kind; an unknown kind is an error, not an empty test."""
    found = [v for v in _all(path) if v["kind"] == kind]
    if not found:
        raise LookupError(f"no vectors of kind {kind!r} in {path.name}")
    return found


def ids(vector: dict[str, Any]) -> str:
    """Test id for a vector: its ``id`` field."""
    return str(vector["id"])


def h(value: str) -> bytes:
    """Hex string from the vector file to bytes."""
    return bytes.fromhex(value)
