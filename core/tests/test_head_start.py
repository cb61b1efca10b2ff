"""Head starts (``voice_transcriber.head_start``): what a run prepared, started early by the next run with the same inputs.

The local backend's end-to-end behaviour (the model taken, a wrong guess or a failed load ignored,
errors reported as without a head start) is in plugins/backends/tests/test_local_head_start.py.
"""

from __future__ import annotations

import json
import stat

import pytest

from voice_transcriber import head_start

OPTIONS = {"backend": None, "language": None, "profile": None}


@pytest.fixture(autouse=True)
def no_current_run(monkeypatch):
    monkeypatch.setattr(head_start, "_current", None)
    monkeypatch.setattr(head_start, "_started", None)
    monkeypatch.setattr(head_start, "_confirmed", False)
    registered = []
    monkeypatch.setattr("atexit.register", registered.append)  # this test process's exit is not a run's
    return registered


def key(**options) -> str:
    return head_start.inputs("transcribe", {**OPTIONS, **options}, None)


def test_inputs_change_with_options_config_file_and_configuring_variables(write_config, monkeypatch):
    first = key()
    assert key() == first
    assert key(language="fr") != first
    assert head_start.inputs("transcribe", OPTIONS, "/elsewhere/config.json") != first
    assert head_start.inputs("dictate", OPTIONS, None) != first

    config = write_config({"language": "en"})
    with_file = key()
    assert with_file != first
    config.write_text(json.dumps({"language": "de", "formatterEnabled": False}))  # edited: size and time change
    assert key() != with_file

    monkeypatch.setenv("VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL", "base.en")
    assert key() not in (first, with_file)
    changed = key()
    monkeypatch.setenv("HF_HUB_CACHE", "/models")  # where models are found
    assert key() != changed
    changed = key()
    monkeypatch.setenv("DISPLAY", ":7")  # anything else: the same inputs
    monkeypatch.setenv("TERM", "dumb")
    assert key() == changed


def test_a_run_remembers_under_its_inputs_and_the_next_one_starts_it(monkeypatch):
    started = []

    def lookup(name):
        return (lambda payload: started.append((name, payload))) if name == "local" else None

    assert head_start.begin(key(), lookup) is None  # nothing remembered yet
    head_start.remember("local", {"path": "/m", "threads": 2})
    file = head_start.path()
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert list(json.loads(file.read_text())["runs"].values()) == [{"name": "local", "payload": {"path": "/m", "threads": 2}}]

    assert head_start.begin(key(language="fr"), lookup) is None  # other inputs: nothing
    assert started == []
    assert head_start.begin(key(), lookup) == "local"
    assert started == [("local", {"path": "/m", "threads": 2})]

    head_start.remember("speaches", {"x": 1})  # an entry point that is not installed: nothing starts
    assert head_start.begin(key(), lookup) is None
    assert started == [("local", {"path": "/m", "threads": 2})]


def test_a_failing_or_broken_head_start_never_fails_the_run(monkeypatch):
    def broken(payload):
        raise RuntimeError("boom")

    head_start.begin(key(), lambda name: broken)
    head_start.remember("local", {"path": "/m"})
    assert head_start.begin(key(), lambda name: broken) is None
    assert head_start.begin(key(), lambda name: 1 / 0) is None

    head_start.path().write_text("{not json")
    assert head_start.begin(key(), lambda name: broken) is None
    head_start.remember("local", {"path": "/n"})  # a damaged file is replaced
    assert json.loads(head_start.path().read_text())["runs"][key()]["payload"] == {"path": "/n"}


def test_without_inputs_nothing_is_remembered():
    """A dictation, a run through the full command line or the daemon takes no head starts: nothing is written."""
    head_start.remember("local", {"path": "/m"})
    assert not head_start.path().exists()


def test_the_newest_runs_are_kept():
    for number in range(head_start.KEEP + 5):
        head_start.begin(key(language=f"l{number}"), lambda name: None)
        head_start.remember("local", {"n": number})
    runs = json.loads(head_start.path().read_text())["runs"]
    assert [run["payload"]["n"] for run in runs.values()] == list(range(5, head_start.KEEP + 5))
    head_start.begin(key(language="l7"), lambda name: None)
    head_start.remember("local", {"n": 7})  # unchanged: not rewritten, still in its place
    assert json.loads(head_start.path().read_text())["runs"] == runs


def test_a_head_start_the_run_did_not_remember_again_is_forgotten_at_exit(no_current_run, monkeypatch):
    """E.g. ``backend: [openai, local]`` after one fallback: the local model must not load for nothing on every run."""
    head_start.begin(key(), lambda name: None)
    head_start.remember("local", {"path": "/m"})
    head_start.begin(key(language="fr"), lambda name: None)
    head_start.remember("local", {"path": "/m"})
    assert no_current_run == []  # nothing started yet: nothing to check at exit

    assert head_start.begin(key(), lambda name: lambda payload: None) == "local"
    assert no_current_run == [head_start.forget_unconfirmed]
    head_start.forget_unconfirmed()  # the run ended without preparing the local backend
    runs = json.loads(head_start.path().read_text())["runs"]
    assert list(runs) == [key(language="fr")]

    monkeypatch.setattr(head_start, "_confirmed", False)
    assert head_start.begin(key(language="fr"), lambda name: lambda payload: None) == "local"
    head_start.remember("local", {"path": "/m"})  # prepared (taken or not): remembered again, kept
    head_start.forget_unconfirmed()
    assert list(json.loads(head_start.path().read_text())["runs"]) == [key(language="fr")]
