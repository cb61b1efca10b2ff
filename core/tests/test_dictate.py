"""A dictation or ``transcribe`` with plainly valid options runs without click (``voice_transcriber.dictate``).

Two things hold it: :func:`dictate.parse` gives exactly what click hands the commands' functions
(checked here against the real click commands for every option), or None so that click judges;
and a real process gives the same output, messages and exit code through either path (the first
command of a fresh cache goes through click and writes the plugin index, the next one runs here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from vt_testing.core import MODULES_AT_EXIT, SECONDS_BACKEND, make_distribution
from voice_transcriber import dictate
from voice_transcriber.cli import make_cli

JFK = Path(__file__).resolve().parents[2] / "samples" / "jfk.flac"


def clicks_view(argv: list[str]) -> tuple[dict, str | None, list[str], dict]:
    """What click passes: the root command's parameters, the command, its files and pipeline options."""
    root = make_cli(None)
    context = root.make_context("voice-transcriber", list(argv))
    params = dict(context.params)
    rest = [*context._protected_args, *context.args]
    root_params = {name: params.pop(name) for name in dictate.ROOT_DEFAULTS}
    if not rest:
        return root_params, None, [], params
    command = root.get_command(context, rest[0])
    sub = command.make_context(rest[0], rest[1:], parent=context).params
    files = list(sub.pop("files"))
    return root_params, rest[0], files, sub


PARSED_ALIKE = [
    [],
    ["--debug"],
    ["-q", "--strict", "--config", "/tmp/c.json"],
    ["--config=/tmp/c.json", "--backend", "openai", "--output", "stdout"],
    ["-b", "local", "-o", "clipboard,stdout", "-f", "fillers,trim", "-l", "fr", "-d", "2"],
    ["--backend=speaches,local", "--output=typing", "--format=rules", "--language=auto", "--device=USB Mic"],
    ["--no-format", "--json", "--no-newline", "--live", "--continuous"],
    ["--max-duration", "12.5", "--silence-stop", "2", "--max-duration=1e1"],
    ["--max-duration", "inf", "--silence-stop", " 3 "],
    ["--input", "-", "--backend", "local"],
    ["-i", "clip.wav", "--profile", "work", "--quiet"],
    ["--backend", "a", "--backend", "b"],  # the last wins
    ["--backend", ""],  # an empty name: run_from_options says so, for both
    ["transcribe", "a.wav"],
    ["--debug", "--config", "c.json", "transcribe", "a.wav", "-", "b.flac"],
    ["transcribe", "a.wav", "--backend", "local", "b.wav", "--no-format", "-o", "stdout", "--json"],
    ["transcribe", "--max-duration=3", "transcribe", "-l", "en"],  # a file named "transcribe"
]


@pytest.mark.parametrize("argv", PARSED_ALIKE, ids=lambda argv: " ".join(argv) or "(none)")
def test_parse_gives_what_click_gives(argv):
    parsed = dictate.parse(argv)
    assert parsed is not None
    assert (parsed.root, parsed.command, parsed.files, parsed.options) == clicks_view(argv)


LEFT_TO_CLICK = [
    ["--help"], ["-h"], ["transcribe", "--help"], ["--version"], ["devices"], ["history", "list"], ["nosuch"],
    ["--nosuch"], ["--backend"], ["--backend", "--debug"], ["-blocal"], ["-qb", "local"], ["--debug=1"],
    ["--max-duration", "0"], ["--max-duration", "-1"], ["--max-duration", "soon"], ["--silence-stop="],
    ["transcribe"], ["transcribe", "--debug", "a.wav"], ["transcribe", "--config", "c", "a.wav"],
    ["--backend", "local", "transcribe", "a.wav"], ["transcribe", "--", "-a.wav"], ["transcribe", "-x.wav"], ["-"],
]


@pytest.mark.parametrize("argv", LEFT_TO_CLICK, ids=" ".join)
def test_anything_else_is_left_to_click(argv):
    assert dictate.parse(argv) is None


def test_the_tables_name_every_option_of_both_commands():
    root = make_cli(None)
    options = {opt: param for param in root.params if isinstance(param, click.Option) for opt in param.opts}
    ours = {**dictate.ROOT_VALUES, **dictate.ROOT_FLAGS, **dictate.PIPELINE_VALUES, **dictate.PIPELINE_FLAGS}
    assert set(options) - {"--version", "--help", "-h"} == set(ours)
    for opt, param in options.items():
        if opt in ours:
            assert ours[opt] == param.name and (opt in {**dictate.ROOT_FLAGS, **dictate.PIPELINE_FLAGS}) == param.is_flag
            assert (param.name in dictate.POSITIVE_NUMBERS) == isinstance(param.type, click.FloatRange)
    transcribe = root.get_command(None, "transcribe")
    assert {opt for p in transcribe.params if isinstance(p, click.Option) for opt in p.opts} - {"--help", "-h"} \
        == set(dictate.PIPELINE_VALUES) | set(dictate.PIPELINE_FLAGS)


# --- the same process through either path ----------------------------------------------------------



@pytest.fixture
def both_paths(tmp_path):
    make_distribution(tmp_path / "dist", "vt-seconds", "vt_seconds_mod", SECONDS_BACKEND, "seconds")
    bad = tmp_path / "bad.json"
    bad.write_text('{"language": 5}')

    def run(*args: str) -> list[tuple[int, str, str, set[str]]]:
        """``args`` twice in a fresh cache: through click (writing the plugin index), then without it;
        exit code, stdout, stderr and the modules loaded, each time."""
        cache = tmp_path / f"cache-{len(list(tmp_path.glob('cache-*')))}"
        env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(tmp_path / "dist"), "HF_HUB_OFFLINE": "1"}
        results = []
        for _ in range(2):
            dump = tmp_path / "modules.json"
            argv = [a.replace("BAD", str(bad)) for a in args]
            done = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, str(dump), *argv], env=env,
                                  capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
            results.append((done.returncode, done.stdout, done.stderr.replace(str(tmp_path), "TMP"),
                            set(json.loads(dump.read_text()))))
        return results

    return run


@pytest.mark.parametrize("args, code, says", [
    (("transcribe", str(JFK), "--backend", "vt-seconds", "--output", "stdout"), 0, "11 seconds heard"),
    (("--config", "BAD", "transcribe", str(JFK)), 2, "language"),
    (("transcribe", str(JFK), "--backend", ""), 2, "--backend has an empty backend name"),
    (("transcribe", str(JFK), "--backend", "nosuch"), 2, "nosuch"),
    (("transcribe", "missing.wav", "--backend", "vt-seconds"), 1, "missing.wav"),
], ids=["transcribed", "config error", "usage error", "unknown backend", "missing file"])
def test_a_command_gives_the_same_result_without_click(both_paths, args, code, says):
    (code1, out1, err1, modules1), (code2, out2, err2, modules2) = both_paths(*args)
    # click's way in builds the command line (help_index); an unknown component's hint may import click later
    assert "voice_transcriber.cli.help_index" in modules1 and "voice_transcriber.cli.help_index" not in modules2
    assert (code2, out2, err2) == (code1, out1, err1)
    assert code2 == code and says in out2 + err2, err2
    assert "Traceback" not in err2
    if code == 0:
        assert "click" not in modules2
