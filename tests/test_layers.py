"""The package's layers (pyproject.toml's import-linter contracts): the CLI over the application
layer (harness.commands) over the domain packages over the foundation, with no cycle between the
subpackages, counting imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import require_module

REPO = Path(__file__).resolve().parents[1]


def test_the_import_linter_contracts_hold(capsys):
    require_module("importlinter", "needs import-linter: pip install -e '.[dev]'")
    import logging

    from importlinter.cli import lint_imports

    # import-linter configures logging with disable_existing_loggers: every logger made before it
    # (harness.client's, once a test used the client) would stay silent for the tests after this one
    before = {lg: lg.disabled for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)}
    try:
        code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True)
    finally:
        for lg, disabled in before.items():
            lg.disabled = disabled
    assert code == 0, capsys.readouterr().out


def _package_graph() -> dict[str, set[str]]:
    """harness's subpackage -> the subpackages it imports, every import statement counted (inside
    functions too, and under TYPE_CHECKING)."""
    edges: dict[str, set[str]] = {}
    root = REPO / "harness"
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        here = parts[0]
        package = ["harness", *parts[:-1]]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - (node.level - 1)]
                    name = ".".join(base + ([node.module] if node.module else []))
                    targets = [f"{name}.{a.name}" for a in node.names] if node.module is None else [name]
                elif node.module:
                    targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                bits = target.split(".")
                if bits[0] == "harness" and len(bits) > 1 and bits[1] != here.removesuffix(".py"):
                    edges.setdefault(here.removesuffix(".py"), set()).add(bits[1])
    return edges


def test_the_package_graph_has_no_cycle_counting_imports_inside_functions():
    edges = _package_graph()
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if seen.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
                pytest.fail(f"package cycle: {' -> '.join(cycle)}")
            if nxt not in seen:
                visit(nxt, path + [nxt])
        seen[node] = 2

    for start in sorted(edges):
        if start not in seen:
            visit(start, [start])
    assert edges["cli"] >= {"commands"} and "commands" not in set().union(*(v for k, v in edges.items() if k != "cli"))
