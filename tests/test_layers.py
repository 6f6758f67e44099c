"""The library's shape: imports only go down the layers, modules stay small, each layer says so.

``core`` <- ``services``, ``filters`` <- ``archive`` <- ``channel`` <- ``scan``, and
``worker`` beside ``scan``; the root scripts sit on top (issue 10).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PACKAGE = ROOT / "artifact_validation"

#: Each subpackage's rank: it may import only lower ranks (and itself).
RANKS = {
    "core": 0,
    "services": 1,
    "filters": 1,
    "archive": 2,
    "channel": 3,
    "scan": 4,
    "worker": 4,
}

#: Most lines a library module may have (the issue's limit).
MAX_LINES = 500

MODULES = sorted(PACKAGE.rglob("*.py"))
SCRIPTS = sorted(p for p in ROOT.glob("*.py"))


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "artifact_validation" else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, absolute module)`` of every import in ``path``, relative ones resolved."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            if module == "artifact_validation":  # from artifact_validation import core
                out += [(node.lineno, f"artifact_validation.{a.name}") for a in node.names]
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_go_down(path: Path) -> None:
    """No module imports a layer above its own, nor the command-line helpers."""
    own = path.relative_to(PACKAGE).parts[0]
    if own not in RANKS:
        return  # artifact_validation/__init__.py: the version only
    for line, module in _imports(path):
        assert not module.startswith("cli_common"), f"{path}:{line} imports the CLI helpers"
        layer = _layer(module)
        if layer is None or layer == own or layer not in RANKS:
            continue
        assert RANKS[layer] < RANKS[own], f"{path}:{line}: {own} imports {module} (upward)"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    """No library module is over 500 lines."""
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


@pytest.mark.parametrize("layer", sorted(RANKS))
def test_each_layer_says_what_it_owns_and_may_import(layer: str) -> None:
    """Every subpackage opens with a docstring naming what it may import, and exports names."""
    init = PACKAGE / layer / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    assert "May import" in doc, f"{init}: the docstring must say what the layer may import"
    assert "__all__" in init.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_entry_points_are_thin(path: Path) -> None:
    """Root scripts define ``main(argv) -> int`` and are no longer than ~300 lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    if path.name != "cli_common.py":
        assert "main" in names, f"{path.name} has no main()"
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 300


def test_library_never_prints_or_exits() -> None:
    """The library returns and raises; only entry points print or call sys.exit."""
    offenders = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id == "print":
                    offenders.append(f"{path}:{node.lineno} print()")
            if isinstance(node, ast.Attribute) and node.attr == "exit":
                if isinstance(node.value, ast.Name) and node.value.id == "sys":
                    offenders.append(f"{path}:{node.lineno} sys.exit")
    assert offenders == []


@pytest.mark.parametrize("layer", [*sorted(RANKS), "filters/generate"])
def test_each_layer_exports_its_public_names(layer: str) -> None:
    """Every public class, function and constant of a layer's modules is in its ``__all__``."""
    init = PACKAGE / layer / "__init__.py"
    exported = set(ast.literal_eval(_assigned(init, "__all__")))
    for path in sorted((PACKAGE / layer).glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = []
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()]
            for name in names:
                if not name.startswith("_"):
                    assert name in exported, f"{path}: {name} is not exported by {init}"


def _assigned(path: Path, name: str) -> ast.expr:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return node.value
    raise AssertionError(f"{path} assigns no {name}")
