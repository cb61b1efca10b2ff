"""The state every pipeline process publishes, and the one ``voice-transcriber status`` reports.

Each run writes ``$XDG_RUNTIME_DIR/voice-transcriber/runs/RUN_ID.json`` atomically when its
state changes (the ``tracker`` plugin does it from the event hooks). A run is ``recording``,
then ``transcribing``, and ends ``delivered``, ``failed``, or ``idle`` when cancelled. Only
the newest ended run is kept. :func:`current_status` folds these files into one state for a
status bar: a live recorder wins, then a run being transcribed, then the last outcome for
``linger`` seconds, then ``idle``. A run left ``recording``/``transcribing`` by a process that
died (``kill -9``) is reported as failed, with the command that recovers its audio.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .control import is_alive, read_json, read_recorder, runtime_dir, start_ticks, write_json_atomic

ACTIVE = ("recording", "transcribing")
ENDED = ("delivered", "failed", "idle")
STATES = ("idle", *ACTIVE, "delivered", "failed")
DEFAULT_LINGER = 5.0


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
    for path in runs_dir().glob("*.json"):
        if path != keep:
            record = read_json(path)
            if record is None or record.get("state") in ENDED:
                path.unlink(missing_ok=True)
