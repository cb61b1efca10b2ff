"""Head starts: slow preparation begun before the configuration is read, as the same command needed it last time.

``voice-transcriber transcribe FILE`` spends its first ~0.25 s reading the plugins, building the
pydantic schemas and validating the configuration before it knows its backend; the local backend
then loads its model, which takes as long again, mostly in native code that releases the GIL. The
two could overlap on a machine with two cores, if the model were known before the configuration.

It is known when nothing changed since the last run: a component records what it prepared
(:meth:`voice_transcriber.RunContext.remember_head_start`: a name and a JSON payload, e.g. the
model's directory, device and threads), filed under the run's *inputs* (:func:`inputs`: the
options, the config file's path and modification stamp, the environment variables that configure
voice-transcriber or the places it reads from). The next run with the same inputs calls, before it
reads the configuration, the function of that name in the ``voice_transcriber.head_start``
entry-point group with the payload::

    [project.entry-points."voice_transcriber.head_start"]
    local = "voice_transcriber_backends.local_head_start:start"

The function starts the work in a thread and returns. The component, once configured, checks that
what it needs is what the head start prepared and takes it, or prepares as it always does: a head
start never changes what a run does or prints, only when the work begins. A wrong guess costs the
work and nothing else, once: a run that started a head start and did not remember it again (its
component was never prepared: another backend of a fallback chain answered, or the run failed
first) forgets it as it exits. Only ``transcribe`` (:mod:`.dictate`) takes head starts: a dictation
prepares its backend while the user speaks.

Standard library only: it runs before the configuration is read.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .paths import config_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

GROUP = "voice_transcriber.head_start"
#: Version of the file's layout: a file of another version is ignored (and rewritten).
FORMAT = 1
#: Runs remembered (the newest): a user alternates between a few commands at most.
KEEP = 16
#: Environment variables that are part of a run's inputs: voice-transcriber's own, and those that move
#: the files it reads (the config, the model caches).
ENV_PREFIXES = ("VOICE_TRANSCRIBER_", "HF_", "HUGGINGFACE_")
ENV_NAMES = ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")

#: The inputs of the run in this process (:func:`begin`), under which its head starts are remembered.
_current: str | None = None
#: The head start this process started (its entry point's name), and whether the run remembered it again.
_started: str | None = None
_confirmed = False


def path() -> Path:
    """``$XDG_CACHE_HOME/voice-transcriber/head-starts.json`` (as :mod:`.plugin_index` finds the cache)."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    return base / "voice-transcriber" / "head-starts.json"


def inputs(command: str, options: Mapping[str, Any], config_file: str | None) -> str:
    """A digest of what decides a run's configuration: the command and its options, the config file
    (path, modification time, size, inode) and the environment variables above. Secrets in the
    environment stay out of the file: only the digest is written."""
    import hashlib

    config = config_path(config_file)
    try:
        stat = os.stat(config)
        stamp: list[int] | None = [stat.st_mtime_ns, stat.st_size, stat.st_ino]
    except OSError:
        stamp = None
    env = sorted((name, value) for name, value in os.environ.items() if name.startswith(ENV_PREFIXES) or name in ENV_NAMES)
    text = json.dumps([FORMAT, sys.prefix, command, sorted(options.items()), str(config), stamp, env], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def begin(key: str, lookup: Any) -> str | None:
    """Make ``key`` this run's inputs and start the head start remembered for them, if any.

    ``lookup(name)``: the function of that entry point, or None. Returns the name started (for tests
    and ``--debug``), or None. Never raises: a head start only saves time."""
    global _current, _started
    _current = key
    try:
        found = _runs().get(key)
        if not isinstance(found, dict) or not isinstance(found.get("name"), str):
            return None
        function = lookup(found["name"])
        if function is None:
            return None
        _started = found["name"]
        import atexit

        atexit.register(forget_unconfirmed)
        function(found.get("payload"))
    except Exception:  # noqa: BLE001 - the component prepares as always
        return None
    return found["name"]


def remember(name: str, payload: Any) -> None:
    """File ``payload`` for the entry point ``name`` under this run's inputs (nothing when this run has
    none: a dictation, a run through the full command line, the daemon). Never fails the run."""
    global _confirmed
    if _current is None:
        return
    _confirmed = _confirmed or name == _started
    try:
        runs = _runs()
        record = {"name": name, "payload": payload}
        if runs.get(_current) == record:
            return
        runs.pop(_current, None)
        runs[_current] = record
        _write({"format": FORMAT, "runs": dict(list(runs.items())[-KEEP:])})
    except Exception:  # noqa: BLE001 - without the record the next run prepares as always
        return


def forget_unconfirmed() -> None:
    """At exit: forget the head start this run started if the run did not remember it again."""
    if _started is None or _confirmed or _current is None:
        return
    try:
        runs = _runs()
        found = runs.get(_current)
        if isinstance(found, dict) and found.get("name") == _started:
            del runs[_current]
            _write({"format": FORMAT, "runs": runs})
    except Exception:  # noqa: BLE001 - at worst the next run starts it once more
        return


def _runs() -> dict[str, Any]:
    try:
        with open(path(), encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("runs"), dict):
        return {}
    return data["runs"]


def _write(data: dict[str, Any]) -> None:
    from .files import write_private_atomic

    write_private_atomic(path(), json.dumps(data))
