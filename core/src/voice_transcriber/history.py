"""The transcript history: ``$XDG_STATE_HOME/voice-transcriber/history.jsonl`` (one JSON object a line, 0600).

Public API for plugins and tools (e.g. a rofi "paste last" script)::

    from voice_transcriber import history
    entry = history.get("last")          # or an id, a unique prefix or suffix of one
    print(entry.text)                    # the delivered (formatted) text
    for entry in history.load(limit=10): # oldest first
        ...

The ``tracker`` plugin appends an entry when a run ends with a transcript, even when a
sink failed (``sinks_failed`` says which).
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import ConfigError, UsageError, VoiceTranscriberError
from .redact import redact

TYPE_CHECKING = False  # not `typing`: the launcher menu reads the history before rofi can draw
if TYPE_CHECKING:
    from typing import Any

    from .types import Transcript

    from .context import RunContext

__all__ = ["HistoryEntry", "get", "load"]


@dataclass(frozen=True)
class HistoryEntry:
    """One transcript. ``text`` is what the sinks received; ``raw_text`` what the backend said."""

    id: str
    timestamp: str  #: ISO 8601, UTC
    text: str
    raw_text: str
    backend: str | None = None
    model: str | None = None
    language: str | None = None
    audio_duration: float | None = None  #: seconds of audio
    durations: dict[str, float] = field(default_factory=dict)  #: seconds per stage (transcribe, format, deliver…)
    recording: str | None = None  #: the stored recording's path (``retry`` uses it)
    sinks_delivered: list[str] = field(default_factory=list)
    sinks_failed: list[str] = field(default_factory=list)
    error: str | None = None  #: why a sink failed
    #: ``"delivered partly"`` / ``"delivered to the clipboard instead"`` when the focus left the window the
    #: text was dictated for (the rest, or all of it, went to the clipboard); None otherwise.
    outcome: str | None = None
    #: A ``--continuous`` utterance: where it lies in ``recording`` (seconds) and the session's text
    #: it was prompted with, so that ``retry`` transcribes it as it was transcribed live
    start: float | None = None
    end: float | None = None
    context: str | None = None
    #: … and the utterance before it, heard again before it (``input.continuousOverlap``): where it lies
    #: in ``recording`` (seconds) and its text, held fixed (the end of ``context``)
    before_start: float | None = None
    before_end: float | None = None
    before_text: str | None = None
    #: The rolling commits of a streamed recording (``input.streamingCommit``: where the phrase being
    #: spoken was cut after words two re-decodes agreed on), so that ``retry`` cuts it the same
    commits: list[list[int]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        """Build from a JSON record; keys written by newer versions are ignored.

        Raises ``ValueError`` naming the first field that is missing or of the wrong type.
        """
        if not isinstance(data, dict):
            raise ValueError(f"not a JSON object but {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name, expected in _FIELD_TYPES.items():
            if name not in values:
                if name in _REQUIRED:
                    raise ValueError(f"'{name}' is missing")
            elif not _is_a(values[name], expected):
                raise ValueError(f"'{name}' is not {expected}")
        return cls(**values)

    def transcript(self) -> Transcript:
        """The entry as the pipeline's value, e.g. to deliver it again."""
        from .types import Transcript  # here: `history` and the launcher's menu need no Audio/Transcript classes

        return Transcript(text=self.text, backend=self.backend or "history", language=self.language,
                          model=self.model, audio_duration=self.audio_duration, raw_text=self.raw_text)


_REQUIRED = ("id", "timestamp", "text", "raw_text")
_FIELD_TYPES = {"id": "text", "timestamp": "text", "text": "text", "raw_text": "text", "backend": "text or null",
                "model": "text or null", "language": "text or null", "audio_duration": "a number or null",
                "durations": "an object of numbers", "recording": "text or null", "sinks_delivered": "a list of text",
                "sinks_failed": "a list of text", "error": "text or null",
                "start": "a number or null", "end": "a number or null", "context": "text or null",
                "before_start": "a number or null", "before_end": "a number or null", "before_text": "text or null",
                "commits": "a list of number triples or null"}


def _is_a(value: Any, expected: str) -> bool:
    if value is None:
        return expected.endswith("or null")
    if expected.startswith("text"):
        return isinstance(value, str)
    if expected.startswith("a number"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "a list of text":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if expected.startswith("a list of number triples"):
        return isinstance(value, list) and all(
            isinstance(item, list) and len(item) == 3 and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
            for item in value)
    return isinstance(value, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values())


def history_path() -> Path:
    from xdg_base_dirs import xdg_state_home

    return xdg_state_home() / "voice-transcriber" / "history.jsonl"


def append(entry: HistoryEntry) -> None:
    """Add ``entry`` as one line; concurrent writers are serialised with ``flock``.

    Raises :class:`OSError` when it cannot be written (:class:`~voice_transcriber.files.UnsafePathError`
    when the file is a symlink or not the user's).
    """
    from .files import open_private, private_dir

    path = history_path()
    private_dir(path.parent, follow_symlink=True)
    line = (json.dumps(entry.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # 0600; refuses a planted symlink
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        os.close(fd)


def load(limit: int | None = None, warn: Callable[[str], None] | None = None) -> list[HistoryEntry]:
    """Entries oldest first; with ``limit``, only the newest ``limit``.

    Damaged lines (cut short by a crash, not UTF-8, not an entry) are skipped: a bad line
    must not hide the others. One warning names the file and the lines skipped; it goes to
    ``warn`` (default: stderr).
    """
    path = history_path()
    try:
        data = _read_regular(path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not the history file (move it away)") from None
    except OSError as exc:
        raise UsageError(f"cannot read the history {path}: {exc.strerror} (check its permissions)") from None
    entries, damaged = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            entries.append(HistoryEntry.from_dict(json.loads(line.decode("utf-8"))))
        except UnicodeDecodeError:
            damaged.append((number, "not UTF-8"))
        except RecursionError:
            damaged.append((number, "nested too deeply"))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            damaged.append((number, "not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)))
    if damaged:
        _warn_damaged(path, damaged, warn)
    return entries[-limit:] if limit else entries


def _read_regular(path: Path) -> bytes:
    """The file's bytes; a FIFO or a device in its place is an error, not a read that never ends."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as stream:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", str(path))
        if not stat.S_ISREG(mode):
            raise OSError(0, "not a regular file (move it away)", str(path))
        os.set_blocking(fd, True)
        return stream.read()


def _warn_damaged(path: Path, damaged: list[tuple[int, str]], warn: Callable[[str], None] | None) -> None:
    listed = ", ".join(f"{number} ({why})" for number, why in damaged[:5])
    more = f" and {len(damaged) - 5} more" if len(damaged) > 5 else ""
    lines = "line" if len(damaged) == 1 else "lines"
    message = (f"warning: {path}: skipped damaged {lines} {listed}{more}; "
               "the other entries are read (delete those lines to silence this)")
    if warn is not None:
        warn(message)
    else:
        print(redact(f"voice-transcriber: {message}"), file=sys.stderr, flush=True)


def get(ref: str = "last") -> HistoryEntry:
    """The entry named ``ref``: ``last``, an id, or a unique prefix or suffix of an id.

    Raises :class:`~voice_transcriber.UsageError` (one line, with the fix) when none matches.
    """
    entries = load()
    if not entries:
        raise UsageError(f"the history is empty ({history_path()}); dictate something first")
    if ref == "last":
        return entries[-1]
    exact = [e for e in entries if e.id == ref]
    matches = exact or [e for e in entries if e.id.startswith(ref) or e.id.endswith(ref)]
    if len({e.id for e in matches}) == 1:
        return matches[-1]
    problem = "matches several entries" if matches else "is not in the history"
    raise UsageError(f"'{ref}' {problem}; see `voice-transcriber history` for the ids")


def commits_of(recording: Path) -> list[list[int]] | None:
    """The rolling commits kept by the newest entry made from ``recording`` that kept any (a retry
    with a backend that gives no word timings keeps none; the live run's still count). None: none."""
    try:
        wanted = recording.resolve()
        entries = load()
    except (OSError, VoiceTranscriberError):
        return None
    return next((entry.commits for entry in reversed(entries)
                 if entry.commits and entry.recording and Path(entry.recording).resolve() == wanted), None)


def add_recovery_hint(error: BaseException, ctx: RunContext) -> None:
    """Extend a failed run's one-line error with what was kept and the command that recovers it."""
    if not isinstance(error, VoiceTranscriberError) or isinstance(error, (ConfigError, UsageError)):
        return
    recording = ctx.info.get("recording")
    if ctx.transcript is not None and ctx.transcript.text.strip():
        hint = f"the text is in the history: `voice-transcriber history show {ctx.run_id} --output NAME` delivers it again"
    elif recording:
        kept = "" if recording in str(error) else f"the recording is kept: {recording}; "
        hint = f"{kept}`voice-transcriber retry {Path(recording).stem}` transcribes it again"
    else:
        return
    error.args = (f"{error} ({hint})", *error.args[1:])
