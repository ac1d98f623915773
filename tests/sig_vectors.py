"""Access to the Bluetooth SIG sample data (MshPRT 1.1 §8) copied into tests/vectors/.

Tests parametrize straight from the file: ``@pytest.mark.parametrize("v", vectors("k2"), ids=ids)``.
"""

from __future__ import annotations

from functools import cache
import json
from pathlib import Path
from typing import Any

VECTOR_FILE = Path(__file__).parent / "vectors" / "sig-sample-data.json"


@cache
def _all() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(VECTOR_FILE.read_text(encoding="utf-8")))


def vectors(kind: str) -> list[dict[str, Any]]:
    """Every vector of one kind; an unknown kind is an error, not an empty test."""
    found = [v for v in _all() if v["kind"] == kind]
    if not found:
        raise LookupError(f"no SIG sample vectors of kind {kind!r}")
    return found


def ids(vector: dict[str, Any]) -> str:
    """Test id for a vector: its ``id`` field."""
    return str(vector["id"])


def h(value: str) -> bytes:
    """Hex string from the vector file to bytes."""
    return bytes.fromhex(value)
