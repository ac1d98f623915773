"""The shape of the code: who may import whom.

Every import counts, including those under ``if TYPE_CHECKING:`` and inside functions: a cycle
hidden there is still a cycle in the design (and the first refactor that moves one import to
the top turns it into an ImportError).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "ble_mesh"
PACKAGE_NAME = "custom_components.ble_mesh"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, resolved to absolute dotted names."""
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield module
            # "from . import x" / "from .mesh import models" name submodules.
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {
        name: {target for target in _imported(path) if target in modules and target != name}
        for name, path in modules.items()
    }


def _package_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (a package importing its own submodules excepted)."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in visiting:
            return [*visiting[visiting.index(name) :], name]
        if name in done:
            return None
        visiting.append(name)
        for target in sorted(graph[name]):
            if target.startswith(f"{name}."):
                continue  # a package's __init__ re-exporting its own submodules
            if (found := visit(target)) is not None:
                return found
        visiting.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        if (found := visit(name)) is not None:
            return found
    return None


def test_the_import_graph_is_a_tree_without_cycles() -> None:
    graph = _graph(_package_modules())
    assert len(graph) > 40  # the walk found the package
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize(
    "module",
    ["key_refresh", "node_config", "groups", "configuration", "devices", "network_store"],
)
def test_procedures_do_not_reach_back_into_the_runtime(module: str) -> None:
    """They talk to the network through the MeshClient protocol (client.py), not runtime.py."""
    graph = _graph(_package_modules())
    assert f"{PACKAGE_NAME}.runtime" not in graph[f"{PACKAGE_NAME}.{module}"]


def test_the_engine_never_imports_the_home_assistant_layer() -> None:
    graph = _graph(_package_modules())
    engine = {name for name in graph if name.startswith(f"{PACKAGE_NAME}.mesh")}
    for name in engine:
        outside = {t for t in graph[name] if not t.startswith(f"{PACKAGE_NAME}.mesh")}
        assert not outside, f"{name} imports {outside}"


def test_no_test_module_imports_another() -> None:
    """Shared helpers live in helper modules (conftest.py, flows.py, provisioning_pair.py...)."""
    offenders = [
        f"{path.relative_to(ROOT)} imports {target}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for target in _imported(path)
        if target.rpartition(".")[2].startswith("test_")
    ]
    assert offenders == []
