"""The import structure of core/ and plugins/: no circles, every import points down (docs/architecture.md).

Every ``import`` and ``from ... import`` statement counts: at the top of a module, under
``if TYPE_CHECKING:`` and inside functions, because each ties the two modules together. The
modules are read with :mod:`ast`, not imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "core" / "src"

#: docs/architecture.md's layers, bottom first. A module may import from its layer or below.
LAYERS = [
    {"errors", "redact", "decode", "types", "files", "paths", "version", "safe_text", "option_names", "hotkey_state",
     "autorepeat", "config_sources", "config_model", "config", "control", "runstate", "events", "head_start"},
    {"plugin_manager", "registry", "context", "hookspecs", "plugins", "profiles", "config_keys", "recordings", "history"},
    {"capture", "streaming", "pipeline", "live", "http_limits", "http_replies", "http_failures", "http", "stdout_sink", "tracker"},
    {"quick", "plugin_index", "shell_completion", "runner", "dictate", "hotkey", "status", "cli", "daemon", "__main__",
     "testing"},
]


def modules(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name → (file, is a package ``__init__``) for every module of ``package``."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def imports(name: str, path: Path, is_package: bool, known: set[str]) -> dict[str, int]:
    """The modules of ``known`` that module ``name`` imports (anywhere in it), with a line number each.

    ``from pkg import sub`` counts as importing ``pkg.sub`` when that is a module, else ``pkg``.
    """
    base = name if is_package else name.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                parts = parts[: len(parts) - node.level + 1]
                module = ".".join(parts + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a name inside a.b → a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.setdefault(target, node.lineno)
    return found


def graph(root: Path, package: str) -> dict[str, dict[str, int]]:
    mods = modules(root, package)
    return {name: imports(name, path, is_package, set(mods)) for name, (path, is_package) in mods.items()}


def circles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def describe(edges: dict[str, dict[str, int]], circle: list[str]) -> str:
    ties = [f"  {a} imports {b} (line {line})" for a in circle for b, line in edges[a].items() if b in circle]
    return "import circle: " + ", ".join(circle) + "\n" + "\n".join(ties)


def packages() -> list[tuple[Path, str]]:
    found = [(CORE, "voice_transcriber")]
    for src in sorted([*REPO.glob("plugins/*/src"), *REPO.glob("examples/*/src")]):
        found += [(src, pkg.name) for pkg in sorted(src.iterdir()) if (pkg / "__init__.py").exists()]
    return found


def test_the_walker_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n")
    (pkg / "b.py").write_text("def f():\n    from .sub import c\n")
    (pkg / "sub" / "c.py").write_text("import pkg.a\n")
    edges = graph(tmp_path, "pkg")
    assert edges["pkg.a"] == {"pkg.b": 3} and edges["pkg.b"] == {"pkg.sub.c": 2} and edges["pkg.sub.c"] == {"pkg.a": 1}
    assert circles(edges) == [["pkg.a", "pkg.b", "pkg.sub.c"]]


@pytest.mark.parametrize(("root", "package"), packages(), ids=lambda value: value if isinstance(value, str) else "")
def test_no_import_circles(root, package):
    edges = graph(root, package)
    assert not (found := circles(edges)), "\n".join(describe(edges, circle) for circle in found)


def layer_of(module: str) -> int | None:
    name = module.split(".")[1] if "." in module else None
    return next((number for number, layer in enumerate(LAYERS) if name in layer), None)


def test_core_imports_point_down_the_layers():
    upward = []
    for module, targets in graph(CORE, "voice_transcriber").items():
        if module == "voice_transcriber":
            continue  # the public API: it names what plugins import
        for target, line in targets.items():
            if target == "voice_transcriber":
                upward.append(f"{module} imports the package's public API (line {line}): import from the defining module")
                continue
            mine, theirs = layer_of(module), layer_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{module} (layer {mine}) imports {target} (layer {theirs}) at line {line}")
    assert not upward, "imports running up the layers of docs/architecture.md:\n" + "\n".join(upward)


def test_every_core_module_has_a_layer():
    unplaced = sorted({module.split(".")[1] for module in graph(CORE, "voice_transcriber")
                       if "." in module and layer_of(module) is None})
    if unplaced:  # a new module: not a failure of its author's work, but docs/architecture.md should name it
        pytest.skip(f"modules not yet placed in a layer (add them to docs/architecture.md and LAYERS): {unplaced}")


def test_the_core_never_imports_a_plugin():
    plugin_packages = {package for _, package in packages()} - {"voice_transcriber"}
    found = [f"{module} imports {name}" for module, path in modules(CORE, "voice_transcriber").items()
             for node in ast.walk(ast.parse(path[0].read_text(encoding="utf-8")))
             if isinstance(node, (ast.Import, ast.ImportFrom))
             for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
             if name.split(".")[0] in plugin_packages]
    assert not found, found
