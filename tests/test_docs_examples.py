"""Every shell example in README.md and docs/ is run here, or is marked as not runnable.

* A block (```sh, ```bash, ```console, or a plain block of ``$ `` lines) preceded by
  ``<!-- not run: REASON -->`` is not run; every other one is, from the repository's root, in the
  test's isolated directories, offline: a ``sh`` block as one ``bash -e -o pipefail`` script (exit
  status 0), a ``console`` block command by command, each ``$ `` line's output compared exactly with
  the lines under it. ``uv sync`` is what built the test environment; ``uv run X`` runs X from it.
* Every ``voice-transcriber`` command line of every example, run or not, must parse: known commands
  and options, global options before the command, pipeline options after it. So an example can never
  be a usage error (``voice-transcriber --backend x --debug transcribe f`` was one).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.core import ParameterSource

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELLS = {"sh", "bash", "shell", "console"}
NOT_RUN = re.compile(r"<!--\s*not run:\s*(\S.*?)\s*-->")
FENCE = re.compile(r"^(\s*)```+\s*\{?\.?([\w-]*)")
UV_SHIM = ('uv() { case "$1" in sync) return 0;; run) shift; "$@";; *) command uv "$@";; esac; }\n'
           "export -f uv\n")


@dataclass
class Example:
    page: Path
    line: int
    lang: str
    body: str
    not_run: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[str]:
        """The shell command lines (continuations joined; prompts and output dropped)."""
        if self.lang == "console" or self.body.lstrip().startswith("$ "):
            return [line[2:] for line in self.body.splitlines() if line.startswith("$ ")]
        return [line for line in self.body.replace("\\\n", " ").splitlines()
                if line.strip() and not line.lstrip().startswith("#")]


def examples() -> list[Example]:
    found = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            match = FENCE.match(lines[i])
            if not match:
                i += 1
                continue
            start, lang = i, match.group(2).lower()
            i += 1
            body = []
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i][len(match.group(1)):])
                i += 1
            i += 1
            text = "\n".join(body) + "\n"
            if lang in SHELLS or (not lang and text.lstrip().startswith("$ ")):
                before = next((line for line in reversed(lines[:start]) if line.strip()), "")
                marker = NOT_RUN.search(before)
                found.append(Example(page, start + 1, lang or "console", text, marker.group(1) if marker else None))
    return found


EXAMPLES = examples()


def test_there_are_examples_and_some_run():
    assert len(EXAMPLES) > 20
    assert [e for e in EXAMPLES if e.not_run is None and "transcribe samples/jfk.flac" in e.body]


# --- every voice-transcriber command line parses -----------------------------------------------


def vt_invocations(command: str) -> list[list[str]]:
    """The argument lists given to voice-transcriber in one shell command line."""
    command = re.sub(r"\$\((.*?)\)", r" ; \1 ; ", command)  # $(voice-transcriber …) inside a command
    try:
        words = shlex.split(command, comments=True)
    except ValueError:  # unbalanced quotes: the parse check below cannot help, the run would
        return []
    calls, current = [], None
    for word in words:
        if word in ("|", "||", "&&", ";", "&") or word.endswith(";"):
            if current is not None:
                calls.append(current)
            current = None
            continue
        if current is not None:
            current.append(word)
        elif word == "voice-transcriber" or word.endswith("/voice-transcriber"):
            current = []
    if current is not None:
        calls.append(current)
    return calls


def parse_check(cli: click.Group, args: list[str]) -> None:
    """Parse ``args`` as the real command line does, without running anything."""
    args = _without_redirections(args)
    try:
        ctx = cli.make_context("voice-transcriber", list(args))
    except click.exceptions.Exit:  # --help, --version
        return
    rest = _rest(ctx)
    if not rest:
        return
    name, command, rest = cli.resolve_command(ctx, rest)
    misplaced = [p.opts[0] for p in cli.params
                 if p.name not in ("config_file", "debug", "quiet", "strict", "version", "help")
                 and ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE]
    if misplaced:
        raise click.UsageError(f"{misplaced[0]} belongs after the command")
    _parse_sub(command, name, rest, ctx)


def _without_redirections(args: list[str]) -> list[str]:
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif re.fullmatch(r"\d?(>>?|<)", arg):  # `> file`: the next word is the file
            skip = True
        elif not re.fullmatch(r"\d?(>>?|<)\S+|\d>&\d", arg):  # `>file`, `2>&1`
            kept.append(arg)
    return kept


def _rest(ctx: click.Context) -> list[str]:
    with warnings.catch_warnings():  # click 8.2 deprecates protected_args, 9.0 puts them into args
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def _parse_sub(command: click.Command, name: str, args: list[str], parent: click.Context) -> None:
    try:
        ctx = command.make_context(name, list(args), parent=parent)
    except click.exceptions.Exit:
        return
    except click.BadParameter as exc:
        if "does not exist" in str(exc):  # a file of the reader's, e.g. meeting.flac
            return
        raise
    if isinstance(command, click.Group):
        rest = _rest(ctx)
        if rest:
            sub_name, sub, rest = command.resolve_command(ctx, rest)
            _parse_sub(sub, sub_name, rest, ctx)


@pytest.fixture(scope="module")
def real_cli() -> click.Group:
    from voice_transcriber.cli import make_cli
    from voice_transcriber.plugins import get_plugin_manager

    return make_cli(get_plugin_manager())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_every_voice_transcriber_command_line_parses(example, real_cli):
    for command in example.commands():
        for args in vt_invocations(command):
            try:
                parse_check(real_cli, args)
            except click.UsageError as exc:
                pytest.fail(f"{example.id}: `voice-transcriber {shlex.join(args)}` is a usage error: {exc.format_message()}")


def test_the_parse_check_catches_a_misplaced_and_an_unknown_option(real_cli):
    with pytest.raises(click.UsageError, match="belongs after the command"):
        parse_check(real_cli, ["--backend", "speaches,local", "--debug", "transcribe", "meeting.flac"])
    with pytest.raises(click.UsageError, match="No such option"):
        parse_check(real_cli, ["transcribe", "x.flac", "--sink", "clipboard"])
    parse_check(real_cli, ["--debug", "transcribe", "meeting.flac", "--backend", "speaches,local"])


# --- runnable examples run -----------------------------------------------------------------------


RUNNABLE = [e for e in EXAMPLES if e.not_run is None]


#: tiny.en's int8 arithmetic differs in its last bits between instruction sets and GEMM libraries, and with it, now
#: and then, a comma: jfk.flac reads "And so, my fellow Americans" on an AMD EPYC with AVX2 and "And so my fellow
#: Americans" on an Intel Xeon and an AMD EPYC with AVX-512, whatever CTranslate2's CT2_USE_MKL / CT2_FORCE_CPU_ISA and
#: oneDNN's ONEDNN_MAX_CPU_ISA say (tried on both). The pages say so; a transcript shown there is compared without commas
TRANSCRIBES = re.compile(r"\bvoice-transcriber\b.*\b(transcribe|retry)\b")


def shell_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}


@pytest.mark.xdist_group("docs-examples")  # one worker: the quick start shown twice runs once
@pytest.mark.parametrize("example", RUNNABLE, ids=lambda e: e.id)
def test_runnable_examples_run(example):
    if example.lang == "console" or example.body.lstrip().startswith("$ "):
        for command, expected in console_steps(example.body):
            done = run_once(command)
            assert done.returncode == 0, f"{example.id}: `{command}` exited {done.returncode}: {done.stderr[-1500:]}"
            if expected is not None:
                assert _shown(done.stdout, command) == _shown(expected, command), f"{example.id}: `{command}`"
    else:
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", UV_SHIM + example.body], cwd=ROOT,
                              env=shell_env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{example.id} exited {done.returncode}: {done.stderr[-1500:]}"


_RUN: dict[str, subprocess.CompletedProcess] = {}


def run_once(command: str) -> subprocess.CompletedProcess:
    """A console command's result; the same command shown on two pages (the quick start) runs once."""
    if command not in _RUN:
        _RUN[command] = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", UV_SHIM + command], cwd=ROOT,
                                       env=shell_env(), capture_output=True, text=True, timeout=120)
    return _RUN[command]


def console_steps(body: str) -> list[tuple[str, str | None]]:
    """``$ command`` lines and the output shown under each (None: '…' in it, output not checked)."""
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return [(cmd, None if any("…" in o or o.strip() == "..." for o in out) else "\n".join(out)) for cmd, out in steps]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def _shown(text: str, command: str) -> list[str]:
    """The output's lines as compared: a transcript's without its commas (:data:`TRANSCRIBES`)."""
    lines = _lines(text)
    return [line.replace(",", "") for line in lines] if TRANSCRIBES.search(command) else lines


def test_only_a_transcript_is_compared_without_its_commas():
    shown = "And so, my fellow Americans ask not"
    assert _shown("And so my fellow Americans ask not\n", "uv run voice-transcriber transcribe samples/jfk.flac") == \
        _shown(shown, "uv run voice-transcriber transcribe samples/jfk.flac")
    assert _shown("a, b\n", "uv run voice-transcriber config path") == ["a, b"]
    assert _shown("a b\n", "uv run voice-transcriber config path") != _shown("a, b", "uv run voice-transcriber config path")
