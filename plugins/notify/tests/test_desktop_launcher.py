"""``voice-transcriber rofi``: rofi's script-mode protocol, the plain dmenu list, and what each choice runs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voice_transcriber import UsageError, history
from voice_transcriber.cli import make_cli
from voice_transcriber.plugins import get_plugin_manager
from voice_transcriber_notify import detach

R, F = "\0", "\x1f"
HEADER = [f"{R}prompt{F}voice", f"{R}no-custom{F}true", f"{R}use-hot-keys{F}true",
          f"{R}message{F}Enter: run · Alt+1 on a dictation: paste it instead"]
ACTIONS = [f"Dictate → type{R}icon{F}audio-input-microphone{F}info{F}dictate:typing",
           f"Dictate → clipboard{R}icon{F}edit-paste{F}info{F}dictate:clipboard",
           f"Retry last{R}icon{F}view-refresh{F}info{F}retry:last"]
LONG = "First line of a long note.\nSecond line\twith a tab, " + "and more words " * 8
LONG_LABEL = ("First line of a long note. Second line with a tab, and more words and more words and more words a"[:79]
              + "…")


def add_entry(entry_id: str, text: str, sinks: list[str]) -> None:
    history.append(history.HistoryEntry(id=entry_id, timestamp="2026-11-25T23:00:00Z", text=text, raw_text=text,
                                        backend="local", sinks_delivered=sinks))


@pytest.fixture
def spawned(monkeypatch) -> list[tuple[list[str], int, float]]:
    """Records what the launcher would start detached instead of starting it."""
    calls: list[tuple[list[str], int, float]] = []
    monkeypatch.setattr(detach, "spawn", lambda args, pid, settle: calls.append((args, pid, settle)))
    return calls


@pytest.fixture
def rofi(monkeypatch, tmp_path):
    """``rofi(retv, *argv, info=None)`` runs the command in-process as rofi would call it."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # our own recorder state, no one else's
    runner = CliRunner()
    cli = make_cli(get_plugin_manager())

    def call(retv: int | None, *argv: str, info: str | None = None, stdin: str | None = None):
        for var, value in (("ROFI_RETV", retv), ("ROFI_INFO", info)):
            if value is None:
                monkeypatch.delenv(var, raising=False)
            else:
                monkeypatch.setenv(var, str(value))
        return runner.invoke(cli, ["rofi", *argv], input=stdin, catch_exceptions=False, standalone_mode=False)

    return call


@pytest.fixture
def two_entries():
    add_entry("20261125-230000-aaaaaa", LONG, ["clipboard"])
    add_entry("20261125-230500-bbbbbb", "ls -la café", ["typing", "stdout"])


def test_initial_call_lists_actions_then_history_newest_first(rofi, two_entries, spawned):
    result = rofi(0)
    newest = f"ls -la café{R}icon{F}document-open-recent{F}info{F}history:20261125-230500-bbbbbb{F}meta{F}ls -la café"
    older = f"{LONG_LABEL}{R}icon{F}document-open-recent{F}info{F}history:20261125-230000-aaaaaa{F}meta{F}"
    lines = result.stdout.split("\n")
    assert lines[:8] == [*HEADER, *ACTIONS, newest] and lines[8].startswith(older) and lines[9:] == [""]
    assert lines[8].split(F)[-1].startswith("First line of a long note. Second line with a tab, and more")
    assert spawned == []
    assert rofi(None).stdout == result.stdout  # ROFI_RETV unset: the same list (e.g. run by hand)


def test_empty_history_still_offers_dictation(rofi, spawned):
    assert rofi(0).stdout == "\n".join([*HEADER, *ACTIONS]) + "\n"


@pytest.mark.parametrize("label, info, expected", [
    ("Dictate → type", "dictate:typing", ["toggle", "--output", "typing"]),
    ("Dictate → clipboard", "dictate:clipboard", ["toggle", "--output", "clipboard"]),
    ("Retry last", "retry:last", ["retry", "last", "--output", "typing"]),  # where the last dictation went
    ("ls -la café", "history:20261125-230500-bbbbbb", ["type-last", "20261125-230500-bbbbbb"]),
    ("ls -la café", None, ["type-last", "20261125-230500-bbbbbb"]),  # rofi without ROFI_INFO: by label
])
def test_selecting_an_entry_prints_nothing_and_runs_it_after_rofi(rofi, two_entries, spawned, label, info, expected):
    import os

    result = rofi(1, label, info=info)
    assert result.stdout == ""  # no rows: rofi closes
    assert spawned == [(expected, os.getppid(), 0.15)]  # waits for rofi (our parent) to exit


def test_alt_1_pastes_a_dictation_instead_and_history_action_is_configurable(rofi, two_entries, spawned,
                                                                              write_config):
    rofi(10, LONG_LABEL, info="history:20261125-230000-aaaaaa")
    write_config({"launcher": {"historyAction": "paste", "settleDelay": 0.4}})
    rofi(1, "ls -la café", info="history:20261125-230500-bbbbbb")
    rofi(10, "Dictate → type", info="dictate:typing")  # Alt+1 on an action: the action itself
    assert [(args, settle) for args, _, settle in spawned] == [
        (["paste-last", "20261125-230000-aaaaaa"], 0.15),
        (["paste-last", "20261125-230500-bbbbbb"], 0.4),
        (["toggle", "--output", "typing"], 0.4)]
    assert rofi(0).stdout.split("\n")[3] == f"{R}message{F}Enter: run · Alt+1 on a dictation: type it instead"


def test_custom_text_and_stale_rows_show_the_menu_again_with_a_message(rofi, two_entries, spawned):
    message = f"{R}message{F}Not an entry: hello there — choose one below"
    for retv, info in ((2, None), (1, "history:20200101-000000-gone00")):
        lines = rofi(retv, "hello there", info=info).stdout.split("\n")
        assert lines[:7] == [*HEADER[:3], message, *ACTIONS] and len(lines) == 10
    assert rofi(3, "ls -la café").stdout == rofi(0).stdout  # shift+delete: nothing to delete, same menu
    assert spawned == []


def test_history_entries_limit(rofi, spawned, write_config):
    for number in range(5):
        add_entry(f"20261125-23000{number}-cccccc", f"note {number}", ["typing"])
    write_config({"launcher": {"historyEntries": 2}})
    labels = [line.split(R)[0] for line in rofi(0).stdout.splitlines()[4:]]
    assert labels == ["Dictate → type", "Dictate → clipboard", "Retry last", "note 4", "note 3"]


# --- dmenu, wofi, fuzzel ----------------------------------------------------------------------


def test_dmenu_list_is_plain_labels(rofi, two_entries):
    assert rofi(None, "--dmenu").stdout == "\n".join(
        ["Dictate → type", "Dictate → clipboard", "Retry last", "ls -la café", LONG_LABEL]) + "\n"


def test_dmenu_choice_from_argument_or_stdin(rofi, two_entries, spawned):
    assert rofi(None, "--dmenu", "Dictate → clipboard").stdout == ""
    rofi(None, "--dmenu", "-", stdin=LONG_LABEL + "\n")
    rofi(None, "--dmenu", "-", stdin="")  # dismissed menu: nothing happens
    assert spawned == [(["toggle", "--output", "clipboard"], 0, 0.15), (["type-last", "20261125-230000-aaaaaa"], 0, 0.15)]


def test_dmenu_unknown_choice_is_a_usage_error(rofi, two_entries, spawned):
    with pytest.raises(UsageError, match=r"not a menu entry: 'Dictate → nowhere' \(the history may have changed"):
        rofi(None, "--dmenu", "Dictate → nowhere")
    assert spawned == []


def test_menu_runs_a_dmenu_program_without_a_shell(rofi, two_entries, spawned, stub_tool):
    menu = stub_tool("fake-menu", stdout="Retry last\n", read_stdin=True)
    rofi(None, "--menu", "fake-menu --dmenu -p 'voice input'")
    assert menu.argvs() == [["fake-menu", "--dmenu", "-p", "voice input"]]
    assert menu.calls()[0]["stdin"] == "Dictate → type\nDictate → clipboard\nRetry last\nls -la café\n" + LONG_LABEL + "\n"
    assert spawned == [(["retry", "last", "--output", "typing"], 0, 0.15)]


def test_menu_dismissed_or_missing(rofi, two_entries, spawned, stub_tool):
    stub_tool("fake-menu", exit_code=1)
    assert rofi(None, "--menu", "fake-menu").stdout == "" and spawned == []
    with pytest.raises(UsageError, match=r"cannot run the menu 'no-such-menu-xyz'.*install it"):
        rofi(None, "--menu", "no-such-menu-xyz --dmenu")


def test_config_show_and_init_list_the_notify_and_launcher_sections(tmp_path):
    import json

    from vt_testing.core import run_cli

    shown = json.loads(run_cli("config", "show").stdout)
    assert shown["notify"]["errorUrgency"] == "critical" and shown["launcher"]["historyEntries"] == 10
    target = tmp_path / "config.json"
    assert run_cli("--config", str(target), "config", "init").returncode == 0
    text = target.read_text(encoding="utf-8")
    assert "// What choosing a dictation does: type it again, or paste it through the clipboard." in text
    assert '"settleDelay": 0.15' in text and '"showText": true' in text


def test_while_recording_the_menu_offers_stop_and_cancel(rofi, two_entries, spawned):
    import os
    import time

    from voice_transcriber import control

    rofi(0)  # creates our runtime dir
    control.register(control.Recorder(os.getpid(), control.start_ticks(os.getpid()), time.time()))
    lines = rofi(0).stdout.split("\n")
    assert lines[4:7] == [f"Stop dictation → deliver{R}icon{F}media-playback-stop{F}info{F}stop",
                          f"Cancel dictation{R}icon{F}process-stop{F}info{F}cancel", ACTIONS[2]]
    rofi(1, "Cancel dictation", info="cancel")
    rofi(None, "--dmenu", "Stop dictation → deliver")
    assert [args for args, _, _ in spawned] == [["cancel"], ["stop"]]
    control.unregister(os.getpid())
    assert rofi(0).stdout.split("\n")[4:7] == ACTIONS
