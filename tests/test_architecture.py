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


PER_PLATFORM = {"PARALLEL_UPDATES"}
"""Names Home Assistant reads from each platform module: every platform sets its own."""


def _public_definitions(path: Path) -> Iterator[str]:
    """Classes, type aliases and UPPER_CASE constants a module defines at its top level."""
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.ClassDef):
            name = node.name
        elif isinstance(node, ast.TypeAlias):
            name = node.name.id
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            name = target.id if isinstance(target, ast.Name) and target.id.isupper() else ""
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id if node.target.id.isupper() else ""
        else:
            continue
        if name and not name.startswith("_") and name not in PER_PLATFORM:
            yield name


def _defined_twice(paths: list[Path], root: Path = ROOT) -> dict[str, list[str]]:
    homes: dict[str, list[str]] = {}
    for path in paths:
        for name in _public_definitions(path):
            homes.setdefault(name, []).append(str(path.relative_to(root)))
    return {name: where for name, where in homes.items() if len(where) > 1}


def test_one_name_one_home() -> None:
    """A public type or constant is defined in one module; callers import it, never rename it."""
    assert _defined_twice(sorted(PACKAGE.rglob("*.py"))) == {}
    renamed = [
        f"{path.relative_to(ROOT)}: {alias.name} as {alias.asname}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        # Module aliases (``device_registry as dr``) are HA's convention; names are not renamed.
        if alias.asname and not alias.name.islower()
    ]
    assert renamed == []


def test_the_duplicate_finder_finds_a_duplicate(tmp_path: Path) -> None:
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text("class AppKey:\n    pass\nLIMIT = 1\n_PRIVATE = 2\n")
    second.write_text("type AppKey = int\nLIMIT: int = 2\n_PRIVATE = 3\n")
    assert _defined_twice([first, second], tmp_path) == {
        "AppKey": ["a.py", "b.py"],
        "LIMIT": ["a.py", "b.py"],
    }
