"""Folders are layers: a module imports only from its own layer or the layers below, never in a cycle.

    errors, _version ◀ config/ ◀ table/ ◀ diffusion/ ◀ engine/ ◀ synthesizer.py, conditioning.py ◀ cli/
                                evaluation/ (imports errors, config, table only; never the model;
                                             imported by the API and the CLI only)

Every import counts: at module level, inside functions and under TYPE_CHECKING. config/, table/ and
evaluation/ never import torch; diffusion/ reads nothing of table/ but its Layout. Imports of the package's own
modules inside functions (which hide a cycle rather than show one) are allowed only in cli/, where they keep
`tabdiff --help` fast, and in the package's lazy __init__.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tabdiff_cli"
RANK = {"errors": 0, "_version": 0, "config": 1, "table": 2, "diffusion": 3, "evaluation": 3, "engine": 4,
        "synthesizer": 5, "conditioning": 5, "__init__": 5, "cli": 6, "__main__": 7}
NO_TORCH = ("config", "table", "evaluation")


def layer(module: str) -> str:
    """The layer of a module 'tabdiff_cli.x.y': its first part below the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_names() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1 and parts != ["tabdiff_cli", "__init__"]:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import in the file; tabdiff_cli names are
    resolved to the module they load (`from tabdiff_cli.config import auto` → tabdiff_cli.config.auto)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    found = []
    for node in ast.walk(tree):
        inner = id(node) in in_function
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, inner) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((sub if sub in modules else node.module, node.lineno, inner))
    return found


def graph() -> dict[str, list[tuple[str, int, bool]]]:
    modules = module_names()
    return {name: imports(path, modules) for name, path in modules.items()}


def upward_imports(edges: dict[str, list[tuple[str, int, bool]]]) -> list[str]:
    """Imports that break the layer rule, as 'importer:line → imported'."""
    bad = []
    for src, targets in edges.items():
        for dst, line, _ in targets:
            if not dst.startswith("tabdiff_cli"):
                continue
            a, b = layer(src), layer(dst)
            allowed = RANK[b] <= RANK[a]
            if a == "evaluation":
                allowed = b in ("errors", "config", "table", "evaluation")
            if b == "evaluation":  # judged by the API and the CLI; never by the model's own layers
                allowed = a in ("evaluation", "synthesizer", "conditioning", "cli", "__init__")
            if a == "diffusion" and b == "table":
                allowed = dst == "tabdiff_cli.table.layout"
            if not allowed:
                bad.append(f"{src}:{line} → {dst}")
    return bad


def cycles(edges: dict[str, list[tuple[str, int, bool]]]) -> list[list[str]]:
    """The import cycles among the package's modules (each as the path that closes it)."""
    out, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for dst, _, _ in edges.get(node, []):
            if dst not in edges or dst == node:
                continue
            if state.get(dst) == "open":
                out.append(path[path.index(dst):] + [dst] if dst in path else [node, dst])
            elif dst not in state:
                visit(dst, path + [dst])
        state[node] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    return out


def test_every_import_goes_down_the_layers():
    assert upward_imports(graph()) == []


def test_the_package_has_no_import_cycle():
    edges = graph()
    # a package __init__ that re-exports its own modules is no cycle: importing a submodule runs it first
    for name in edges:
        edges[name] = [e for e in edges[name] if not (e[0] != name and name.startswith(e[0] + "."))]
    assert cycles(edges) == []


@pytest.mark.parametrize("folder", NO_TORCH)
def test_data_layers_never_import_torch(folder):
    edges = graph()
    used = [f"{src}:{line}" for src, targets in edges.items() if layer(src) == folder
            for dst, line, _ in targets if dst == "torch" or dst.startswith("torch.")]
    assert used == []


def test_own_modules_are_imported_inside_functions_only_in_the_cli():
    edges = graph()
    lazy = [f"{src}:{line} → {dst}" for src, targets in edges.items() if layer(src) not in ("cli", "__init__")
            for dst, line, inner in targets if inner and dst.startswith("tabdiff_cli")]
    assert lazy == []


def test_the_rule_catches_an_upward_import():
    """The checker itself: an import of the engine from the table layer, or of the model from evaluation, is
    reported, and so is a cycle."""
    edges = {"tabdiff_cli.table.io": [("tabdiff_cli.engine.model", 3, True)],
             "tabdiff_cli.evaluation.metrics": [("tabdiff_cli.diffusion.network", 5, False)],
             "tabdiff_cli.engine.model": [("tabdiff_cli.table.io", 9, False)]}
    assert upward_imports(edges) == ["tabdiff_cli.table.io:3 → tabdiff_cli.engine.model",
                                     "tabdiff_cli.evaluation.metrics:5 → tabdiff_cli.diffusion.network"]
    assert cycles(edges) == [["tabdiff_cli.engine.model", "tabdiff_cli.table.io", "tabdiff_cli.engine.model"]]


def test_every_module_has_a_layer():
    assert {layer(name) for name in module_names()} <= set(RANK)


def test_no_cli_function_is_longer_than_sixty_lines():
    """A command parses, makes one library call and renders: decorators, signature and body in 60 lines."""
    long = []
    for path in (PACKAGE / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                if node.end_lineno - start + 1 > 60:
                    long.append(f"{path.name}:{node.name} ({node.end_lineno - start + 1} lines)")
    assert long == []
