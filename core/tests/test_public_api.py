"""Plugins import only the core's public API (docs/plugins.md "The public API").

The public API is the package ``voice_transcriber`` and the modules of :data:`PUBLIC_MODULES`; each one's
``__all__`` is its contract. Every ``import`` in the source of ``plugins/*/src`` and in ``examples/``
(source and tests: what a third-party author copies) is read with :mod:`ast` — at the top of a module,
under ``TYPE_CHECKING`` and inside functions — and must name a public module, or a name of its
``__all__``; so must an attribute of a public module (``voice_transcriber.pipeline`` after ``import
voice_transcriber``, which would load any submodule). ``voice_transcriber.testing`` is for tests only.
The first-party plugins' own tests (``plugins/*/tests``) are the project's tests of the core with the
plugin installed: they may use the core's internals and are not scanned.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "voice_transcriber"

#: The public modules besides the package itself, and what each is for (docs/plugins.md lists the same).
PUBLIC_MODULES = {
    "voice_transcriber.http": "HTTP clients, retries, deadlines and one-line errors for web services",
    "voice_transcriber.safe_text": "text that is safe to type or paste",
    "voice_transcriber.files": "private files and directories",
    "voice_transcriber.paths": "the config file and the runtime directory",
    "voice_transcriber.history": "the transcript history",
    "voice_transcriber.recordings": "the recordings store",
    "voice_transcriber.capture": "recording from the microphone",
    "voice_transcriber.daemon": "talking to the warm daemon",
}
#: Public only to tests.
TEST_ONLY_MODULES = {"voice_transcriber.testing"}


def scanned_files() -> list[Path]:
    return sorted([*REPO.glob("plugins/*/src/**/*.py"), *REPO.glob("examples/**/*.py")])


def is_test_file(path: Path) -> bool:
    return "tests" in path.parts or path.name.startswith("test_") or path.name == "conftest.py"


def exports(module: str) -> set[str]:
    return set(getattr(importlib.import_module(module), "__all__", ()))


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for an attribute chain on a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (base := dotted(node.value)):
        return f"{base}.{node.attr}"
    return None


def violations(path: Path, public: dict[str, set[str]], root: Path = REPO) -> list[str]:
    """``file:line: why`` for each import in ``path`` of a core module or name outside ``public`` (module →
    the names it exports), and each such attribute of an imported module (``voice_transcriber.pipeline``)."""
    found: list[tuple[int, str]] = []
    where = path.relative_to(root) if path.is_relative_to(root) else path

    def allowed(module: str) -> bool:
        return module in public and (module not in TEST_ONLY_MODULES or is_test_file(path))

    def refused(line: int, what: str, module: str) -> tuple[int, str]:
        why = "only for tests" if module in TEST_ONLY_MODULES else "not a public module"
        return line, f"{where}:{line}: {what}: {why}"

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [refused(node.lineno, f"import {alias.name}", alias.name) for alias in node.names
                      if alias.name.split(".")[0] == PACKAGE and not allowed(alias.name)]
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == PACKAGE:
            if not allowed(node.module):
                found.append(refused(node.lineno, f"from {node.module} import ...", node.module))
                continue
            found += [(node.lineno, f"{where}:{node.lineno}: from {node.module} import {alias.name}: not in its __all__")
                      for alias in node.names
                      if alias.name not in public[node.module] and not allowed(f"{node.module}.{alias.name}")]
        elif isinstance(node, ast.Attribute) and (base := dotted(node.value)) in public:  # a public module's attribute
            if node.attr not in public[base] and not allowed(f"{base}.{node.attr}"):
                found.append((node.lineno, f"{where}:{node.lineno}: {base}.{node.attr}: not in its __all__"))
    return [message for _, message in sorted(found)]


@pytest.fixture(scope="module")
def public() -> dict[str, set[str]]:
    return {module: exports(module) for module in [PACKAGE, *PUBLIC_MODULES, *TEST_ONLY_MODULES]}


def test_the_scan_names_each_import_outside_the_public_api(tmp_path, public):
    plugin = tmp_path / "plugin.py"
    plugin.write_text("from voice_transcriber import Backend, history, pipeline\n"
                      "def f():\n"
                      "    from voice_transcriber.http import send, _budget\n"
                      "    import voice_transcriber.control\n"
                      "    from voice_transcriber.testing import FakeBackend\n"
                      "    from voice_transcriber.daemon.protocol import request\n"
                      "import voice_transcriber\n"
                      "voice_transcriber.pipeline.Plan, voice_transcriber.daemon.protocol, "
                      "voice_transcriber.Settings.x\n")
    assert violations(plugin, public) == [
        f"{plugin}:1: from voice_transcriber import pipeline: not in its __all__",
        f"{plugin}:3: from voice_transcriber.http import _budget: not in its __all__",
        f"{plugin}:4: import voice_transcriber.control: not a public module",
        f"{plugin}:5: from voice_transcriber.testing import ...: only for tests",
        f"{plugin}:6: from voice_transcriber.daemon.protocol import ...: not a public module",
        f"{plugin}:8: voice_transcriber.daemon.protocol: not in its __all__",
        f"{plugin}:8: voice_transcriber.pipeline: not in its __all__",
    ]
    (tmp_path / "tests").mkdir()
    test = tmp_path / "tests" / "test_plugin.py"
    test.write_text("from voice_transcriber.testing import FakeBackend, fakes\n"
                    "from voice_transcriber.testing.fakes import FakePlugin\n")
    assert violations(test, public) == [
        f"{test}:1: from voice_transcriber.testing import fakes: not in its __all__",
        f"{test}:2: from voice_transcriber.testing.fakes import ...: not a public module",
    ]


def test_plugins_and_examples_import_only_the_public_api(public):
    files = scanned_files()
    assert len(files) > 50, "the scan found the plugins' source"
    found = [line for path in files for line in violations(path, public)]
    assert not found, "imports outside the core's public API (docs/plugins.md \"The public API\"):\n" + "\n".join(found)


@pytest.mark.parametrize("module", [PACKAGE, *PUBLIC_MODULES, *TEST_ONLY_MODULES])
def test_every_name_a_public_module_exports_exists(module):
    imported = importlib.import_module(module)
    assert getattr(imported, "__all__", None), f"{module} has no __all__ (its public contract)"
    missing = [name for name in imported.__all__ if not hasattr(imported, name)]
    assert not missing, f"{module}.__all__ names what it does not have: {missing}"


def test_the_plugin_guide_lists_every_public_module():
    text = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("## The public API", 1)[1].split("\n## ", 1)[0]
    missing = [module for module in [*PUBLIC_MODULES, *TEST_ONLY_MODULES] if f"`{module}`" not in section]
    assert not missing, f'docs/plugins.md "The public API" does not name: {missing}'
