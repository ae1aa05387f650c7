"""The package's structure: no import cycle, and no operation group calling another's private methods.

Read from the source with ``ast``, so a regression fails here rather than as a confusing import
error or a hidden dependency on construction order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import accelerator

PACKAGE = Path(accelerator.__file__).parent
# The operation groups of MLClient, as attributes of the client.
GROUPS = {
    "workspaces", "registries", "compute", "environments", "datastores", "data", "models",
    "components", "jobs", "online_endpoints", "online_deployments", "batch_endpoints",
    "batch_deployments", "schedules",
}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """Modules imported when the module is imported: not under TYPE_CHECKING, not in a function."""
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in [node] if not isinstance(node, ast.If | ast.Try) else list(ast.walk(node)):
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join([*base, child.module] if child.module else base)
                else:
                    target = child.module or ""
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in child.names)
    return {name for name in found if name.split(".")[0] == "accelerator"}


def _graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        modules[_module_name(path)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        imported = _top_level_imports(tree, name, path.name == "__init__.py")
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once per entry point)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def _ignoring_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ re-exporting its modules is not a cycle of those modules: drop the edges
    # from a module to the package that contains it.
    return {node: {m for m in edges if not node.startswith(m + ".")} for node, edges in graph.items()}


def test_the_package_has_no_import_cycle() -> None:
    graph = _ignoring_packages(_graph())
    # The walk sees the modules and their imports.
    assert "accelerator.local.operations._component_resolver" in graph["accelerator.local._ml_client"]
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _private_group_calls(tree: ast.AST) -> list[str]:
    """``<anything>.<group>._<name>``: a private member of an operation group, reached from outside."""
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Attribute)
            and node.value.attr in GROUPS
        ):
            calls.append(ast.unparse(node))
    return calls


def test_no_group_reaches_into_another_groups_private_members() -> None:
    found = {
        str(path.relative_to(PACKAGE)): calls
        for path in (PACKAGE / "local").rglob("*.py")
        if (calls := _private_group_calls(ast.parse(path.read_text())))
    }
    assert found == {}


def test_the_private_member_check_finds_one() -> None:
    tree = ast.parse("self._client.components._resolve(x)\nself.jobs.create_or_update(j)")
    assert _private_group_calls(tree) == ["self._client.components._resolve"]
