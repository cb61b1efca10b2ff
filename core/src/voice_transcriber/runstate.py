"""The state every pipeline process publishes, and the one ``voice-transcriber status`` reports.

Each run writes ``$XDG_RUNTIME_DIR/voice-transcriber/runs/RUN_ID.json`` atomically when its
state changes (the ``tracker`` plugin does it from the event hooks). A run is ``recording``,
then ``transcribing``, and ends ``delivered``, ``failed``, or ``idle`` when cancelled. The newest
ended run is kept, and others that ended in the last :data:`OUTCOME_KEEP` seconds (at most
:data:`OUTCOME_MAX`): a ``stop --wait`` must find its own run's outcome even when another run ended
at the same moment. :func:`current_status` folds these files into one state for a
status bar: a live recorder wins, then a run being transcribed, then the last outcome for
``linger`` seconds, then ``idle``. A run left ``recording``/``transcribing`` by a process that
died (``kill -9``) is reported as failed, with the command that recovers its audio.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .control import is_alive, read_json, read_recorder, start_ticks, write_json_atomic
from .errors import UsageError
from .paths import runtime_dir

ACTIVE = ("recording", "transcribing")
ENDED = ("delivered", "failed", "idle")
STATES = ("idle", *ACTIVE, "delivered", "failed")
DEFAULT_LINGER = 5.0
#: Seconds an ended run's record stays beside a newer outcome, and how many such records at most.
OUTCOME_KEEP = 60.0
OUTCOME_MAX = 16


def runs_dir() -> Path:
    path = runtime_dir() / "runs"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def publish(run_id: str, state: str, **details: Any) -> None:
    """Record that run ``run_id`` (this process) is now in ``state``; keeps earlier details."""
    path = runs_dir() / f"{run_id}.json"
    record = read_json(path) or {"id": run_id, "started": time.time()}
    pid = os.getpid()
    record.update(details, state=state, since=time.time(), pid=pid, ticks=start_ticks(pid))
    write_json_atomic(path, record)
    if state in ENDED:
        _drop_older_outcomes(keep=path)


def read_runs() -> list[dict[str, Any]]:
    """Every published run, oldest first; runs of dead processes are turned into failures."""
    runs = []
    for path in runs_dir().glob("*.json"):
        record = read_json(path)
        if record is None:
            continue
        if record.get("state") in ACTIVE and not is_alive(record.get("pid", 0), record.get("ticks")):
            record = _mark_dead(path, record)
        runs.append(record)
    return sorted(runs, key=lambda r: r.get("since", 0))


def find_run(pid: int, ticks: int | None) -> dict[str, Any] | None:
    """The newest run published by process ``pid`` (started at ``ticks``)."""
    mine = [r for r in read_runs() if r.get("pid") == pid and (ticks is None or r.get("ticks") == ticks)]
    return mine[-1] if mine else None


def current_status(linger: float = DEFAULT_LINGER) -> dict[str, Any]:
    """One record for status bars: ``state`` plus waybar's ``text``/``alt``/``class``/``tooltip``."""
    runs = read_runs()
    live = [r for r in runs if r.get("state") in ACTIVE]
    ended = [r for r in runs if r.get("state") in ENDED]
    recorder = read_recorder()
    if recorder is not None and recorder.alive():
        run = next((r for r in reversed(live) if r.get("pid") == recorder.pid), None)
        current = {**(run or {"started": recorder.started}), "state": "recording", "pid": recorder.pid}
    elif live:  # a (terminal) recording beats a transcription; the newest of them
        current = ([r for r in live if r["state"] == "recording"] or live)[-1]
    elif ended and time.time() - ended[-1].get("since", 0) <= linger:
        current = ended[-1]
    else:
        current = {"state": "idle"}
    return _for_status_bars(current, ended[-1] if ended else None)


class Folder:
    """Turns the pushed event stream into ``status --follow`` records: one per state change of a run.

    Each record is :func:`current_status`'s shape for the run the event is about, plus
    ``event`` (what happened), ``seq``, ``partial`` (text decoded so far) and ``transcript``
    (the delivered text). Events seen twice (the daemon's stream and the journal carry the
    same ones) are dropped by their producer's ``seq``; after an outcome with no run still
    active, :meth:`timeout` says when :meth:`expire` makes the ``idle`` record (``--linger``).
    """

    def __init__(self, linger: float) -> None:
        self.linger = linger
        self._seen: dict[int, int] = {}  # producer pid → highest seq
        self._keys: dict[str | None, tuple[Any, ...]] = {}
        self._details: dict[str | None, dict[str, Any]] = {}
        self._active: dict[str, str] = {}  # run → state, while recording/transcribing
        self._last: dict[str, Any] | None = None
        self._ended: deque[str] = deque(maxlen=256)
        self._deadline: float | None = None

    def start(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["state"] in ENDED and record["state"] != "idle":
            self._deadline = (record.get("since") or time.time()) + self.linger
        return record

    def timeout(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.time())

    def expire(self) -> dict[str, Any] | None:
        if self._deadline is None or time.time() < self._deadline or self._active:
            return None
        self._deadline = None
        return _for_status_bars({"state": "idle"}, self._last)

    def add(self, event: dict[str, Any]) -> dict[str, Any] | None:
        pid, seq, state, run = event.get("pid"), event.get("seq"), event.get("state"), event.get("run")
        if state not in STATES or not isinstance(pid, int) or not isinstance(seq, int):
            return None
        if seq <= self._seen.get(pid, 0):
            return None  # already seen through the other source
        self._seen[pid] = seq
        if run in self._ended:
            return None  # a finished run does not come back
        details = self._details.setdefault(run, {})
        details.update({k: event[k] for k in ("recording", "backend") if event.get(k)})
        key = (state, details.get("backend"))
        if self._keys.get(run) == key and event.get("event") != "partial":
            return None  # not a change of this run's state (a sink delivered, the transcript is ready …)
        self._keys[run] = key
        record = {"id": run, "pid": pid, "state": state, "since": event.get("time"), **details,
                  "error": event.get("error"), "sinks": event.get("sinks"), "cancelled": event.get("cancelled")}
        if state in ACTIVE and run is not None:
            self._active[run] = state
            self._deadline = None
        else:
            self._active.pop(run, None)
            if run is not None:
                self._ended.append(run)
            self._keys.pop(run, None)
            self._details.pop(run, None)
            self._last = record
            if not self._active:
                self._deadline = time.time() + self.linger
        output = _for_status_bars(record, self._last)
        output.update(event=event.get("event"), seq=seq, partial=event.get("partial"),
                      transcript=event.get("text"))
        return output


def _for_status_bars(run: dict[str, Any], last: dict[str, Any] | None) -> dict[str, Any]:
    state = run["state"]
    record = {
        "state": state,
        "text": state,
        "alt": state,
        "class": state,
        "tooltip": _describe(run),
        "id": run.get("id"),
        "pid": run.get("pid") if state in ACTIVE else None,
        "since": run.get("since") or run.get("started"),
        "recording": run.get("recording"),
        "backend": run.get("backend"),
        "error": run.get("error") if state == "failed" else None,
        "last": {k: last.get(k) for k in ("id", "state", "since", "error", "cancelled")} if last else None,
    }
    return record


def _describe(run: dict[str, Any]) -> str:
    state = run["state"]
    when = time.strftime("%H:%M:%S", time.localtime(run.get("since") or run.get("started") or time.time()))
    if state == "recording":
        return f"recording since {when} (pid {run.get('pid')})"
    if state == "transcribing":
        return f"transcribing with {run.get('backend') or 'the backend'} since {when}"
    if state == "delivered":
        return f"delivered to {', '.join(run.get('sinks') or []) or 'the sinks'} at {when}"
    if state == "failed":
        return f"failed at {when}: {run.get('error')}"
    return "idle"


def _mark_dead(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    retry = f"voice-transcriber retry {record['id']}" if record.get("recording") else "voice-transcriber retry last"
    record = {**record, "state": "failed", "since": time.time(),
              "error": f"the process (pid {record.get('pid')}) died while {record['state']}; "
                       f"recover the audio with `{retry}`"}
    write_json_atomic(path, record)
    _drop_older_outcomes(keep=path)
    return record


def _drop_older_outcomes(keep: Path) -> None:
    """Delete ended runs' records but ``keep`` and the newest others that ended within :data:`OUTCOME_KEEP`."""
    now = time.time()
    recent: list[tuple[float, Path]] = []
    for path in runs_dir().glob("*.json"):
        if path == keep:
            continue
        record = read_json(path)
        if record is not None and record.get("state") not in ENDED:
            continue
        since = record.get("since") if record is not None else None
        if isinstance(since, (int, float)) and 0 <= now - since <= OUTCOME_KEEP:
            recent.append((since, path))
        else:
            path.unlink(missing_ok=True)
    recent.sort(reverse=True)
    for _, path in recent[OUTCOME_MAX - 1:]:
        path.unlink(missing_ok=True)


def renderer(as_json: bool, template: str | None) -> Callable[[dict[str, Any]], str]:
    """How ``status`` prints a record: one JSON object (``--json``), ``--format``'s template filled in, or
    the tooltip."""
    if as_json:
        import json

        return lambda record: json.dumps(record, ensure_ascii=False)
    if template:
        return lambda record: template.format_map(_Blank(record))
    return lambda record: record["tooltip"]


class _Blank(dict):
    """Template values: None prints as nothing, an unknown field is an error naming the known ones."""

    def __getitem__(self, key: str) -> Any:
        if key not in self:
            raise UsageError(f"unknown field {{{key}}} in --format; known: {', '.join(sorted(self))}")
        value = super().__getitem__(key)
        return "" if value is None else value
