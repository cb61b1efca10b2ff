"""The plugin guide (docs/plugins.md) works when followed literally: its tutorial runs in order, from a new folder
outside the repository, once in a clone (a copy of this checkout set up with the README's command, its
environment activated) and once in a tool install (`uv tool install`), offline.

The guide marks its steps with HTML comments, invisible on the site:

* a ```sh block under ``<!-- not run: tests/test_plugin_guide.py … -->`` is a step typed into the shell
  (tests/test_docs_examples.py leaves it to this test and still checks its command lines parse);
* a block under ``<!-- generated: PATH -->`` must be exactly the file ``plugins new`` wrote at PATH;
* a block under ``<!-- file: PATH -->`` is written to PATH (the reader's edit);
* a block under ``<!-- part of: PATH, … -->`` must appear in that file as ``plugins new`` writes it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from vt_testing.installed import CHECKOUT_GROUP, TOOL_GROUP

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugins.md"
MARK = re.compile(r"<!--\s*(not run: tests/test_plugin_guide\.py|generated:|file:|part of:)\s*(.*?)\s*-->\n```(\w*)\n(.*?)^```",
                  re.S | re.M)


def steps() -> list[tuple[str, str, str]]:
    """(kind, argument, body) of every marked block, in the guide's order."""
    found = []
    for match in MARK.finditer(GUIDE.read_text(encoding="utf-8")):
        kind = match.group(1).split(":")[0]
        found.append((kind, match.group(2).split(",")[0].split(" (")[0], match.group(4)))
    return found


def script() -> str:
    """The tutorial as one bash script: commands as typed, files (their paths relative to the folder the
    tutorial starts in) written and compared with heredocs."""
    lines = []
    for kind, path, body in steps():
        if kind == "not run":
            lines.append(body)
        elif kind == "generated":
            lines.append(f"diff -u \"$GUIDE_START/{path}\" - <<'GUIDE_EOF' >&2\n{body}GUIDE_EOF")
        elif kind == "file":
            lines.append(f"cat > \"$GUIDE_START/{path}\" <<'GUIDE_EOF'\n{body}GUIDE_EOF")
    return "cd \"$GUIDE_START\"\n" + "\n".join(lines)


def test_the_guide_has_a_tutorial_with_every_kind_of_step():
    kinds = [kind for kind, _, _ in steps()]
    assert kinds.count("not run") >= 5 and kinds.count("generated") >= 3 and kinds.count("file") >= 2
    assert "plugins new shout --kind formatter" in script() and "voice-transcriber install -e" in script()


@pytest.mark.slow
@pytest.mark.parametrize("where", [pytest.param("checkout", marks=pytest.mark.xdist_group(CHECKOUT_GROUP)),
                                   pytest.param("tool_install", marks=pytest.mark.xdist_group(TOOL_GROUP))])
def test_the_tutorial_runs_as_written(where, request, tmp_path):
    installed = request.getfixturevalue(where)
    start = tmp_path / "my-plugins"
    start.mkdir()
    done = installed.run(script(), cwd=start, timeout=600, GUIDE_START=str(start))
    assert done.returncode == 0, f"the guide's tutorial failed ({where}):\n{done.stderr[-4000:]}"
    out = done.stdout
    assert "installed voice-transcriber-shout 0.1.0: plugin shout (formatter shout)" in out + done.stderr
    assert "shout (voice-transcriber-shout 0.1.0)\n  formatters: shout\n  hooks: register_formatters" in out
    heard = [line for line in out.splitlines() if "COUNTRY" in line]  # the local backend on espeak-ng's speech
    assert len(heard) == 1, out
    assert re.sub(r"[^A-Z ]", "", heard[0]).split()[:4] == ["ASK", "NOT", "WHAT", "YOUR"] and heard[0].isupper()
    assert re.search(r"\b1 passed\b", out) and re.search(r"\b2 passed\b", out), out


def test_the_sink_test_shown_is_the_one_plugins_new_writes(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli("plugins", "new", "notes", "--kind", "sink")
    (part,) = [body for kind, _, body in steps() if kind == "part of"]
    assert part in (tmp_path / "notes" / "tests" / "test_notes.py").read_text(encoding="utf-8")
