"""The structure of the code: layers that import one way (import-linter's contracts in pyproject.toml), and
function-level imports of genzoo's own modules only where they keep a heavy library out of the CLI's start-up."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import genzoo

PACKAGE = Path(genzoo.__file__).parent
HEAVY = frozenset({"torch", "torchvision", "numpy", "PIL", "sklearn", "matplotlib", "scipy", "datasets", "tensorboard"})
"""Libraries whose import takes a noticeable part of a second or more: `genzoo --help` and `genzoo list` load none."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(node: ast.AST, modules: set[str]) -> list[str]:
    """The modules an import statement imports (absolute imports: genzoo uses no relative ones)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        # `from genzoo.models import sampling` imports the module genzoo.models.sampling, `from genzoo.io import
        # atomic_write` the module genzoo.io
        return sorted(
            {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names}
        )
    return []


def _scan(tree: ast.AST, modules: set[str]) -> tuple[set[str], list[tuple[int, str]]]:
    """What a module imports when it is imported, and the genzoo modules it imports inside functions (by line)."""
    top: set[str] = set()
    inner: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # never runs
            names = _imports(child, modules)
            if in_function:
                inner.extend((child.lineno, n) for n in names if n.startswith("genzoo"))
            else:
                top.update(names)
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return top, inner


def import_map() -> dict[str, tuple[set[str], list[tuple[int, str]]]]:
    """Every genzoo module → (what it imports when it is imported, [(line, genzoo module) imported in a function])."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(p): _scan(ast.parse(p.read_text(encoding="utf-8")), modules) for p in paths}


def heavy_modules(imports: dict[str, tuple[set[str], list[tuple[int, str]]]]) -> set[str]:
    """The genzoo modules whose import loads a heavy library, directly or through other genzoo modules."""
    heavy = {m for m, (top, _) in imports.items() if any(n.split(".")[0] in HEAVY for n in top)}
    changed = True
    while changed:
        changed = False
        for module, (top, _) in imports.items():
            parents = {".".join(module.split(".")[:k]) for k in range(1, module.count(".") + 1)}
            if module not in heavy and (top | parents) & heavy:
                heavy.add(module)
                changed = True
    return heavy


def test_function_level_imports_keep_heavy_libraries_out() -> None:
    imports = import_map()
    heavy = heavy_modules(imports)
    dodges = [
        f"{module}:{line} imports {target} inside a function, but {target} is light: import it at the top"
        for module, (_, inner) in imports.items()
        for line, target in inner
        if target in imports and target not in heavy
    ]
    assert not dodges, "\n".join(dodges)


def test_the_cli_and_the_package_root_are_light() -> None:
    heavy = heavy_modules(import_map())
    assert not {"genzoo", "genzoo.api", "genzoo.cli", "genzoo.registry", "genzoo.config"} & heavy


def test_layers_and_no_circles() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint).exists():
        pytest.fail("lint-imports is missing: install genzoo's dev extra (`pip install -e '.[dev]'`)")
    result = subprocess.run([lint, "--no-cache"], cwd=PACKAGE.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout
