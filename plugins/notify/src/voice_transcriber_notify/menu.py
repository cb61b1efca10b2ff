"""The launcher menu's rows, built with the standard library only.

``voice-transcriber rofi`` is run by rofi at every step of its menu, so listing the rows must
cost little more than starting Python: :func:`quick_rofi` answers the listing (``rofi`` with no
selection, ``rofi --dmenu``) before the command line, pydantic or the other plugins load
(the core's ``voice_transcriber.quick``). Everything else — a selection, ``--menu``, a config
this module cannot read plainly — goes to the full ``rofi`` command in :mod:`.launcher`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

TYPE_CHECKING = False  # not `typing`: every millisecond counts before rofi can draw
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    class MenuConfig(Protocol):
        """What the menu reads of the ``launcher`` section (``LauncherConfig`` or :class:`PlainConfig`)."""

        history_entries: int
        history_action: str
        settle_delay: float

#: rofi's script-mode separators: ``\\0`` starts the options of a row, ``\\x1f`` separates them.
ROW_OPTIONS, FIELD = "\0", "\x1f"
#: ``ROFI_RETV`` values (rofi-script(5)).
INITIAL, SELECTED, CUSTOM_ENTRY, DELETED, CUSTOM_KEY_1 = 0, 1, 2, 3, 10
LABEL_WIDTH = 80


@dataclass(frozen=True)
class PlainConfig:
    """The ``launcher`` section read without pydantic, by :func:`plain_config`."""

    history_entries: int = 10
    history_action: str = "type"
    settle_delay: float = 0.15


@dataclass(frozen=True)
class Item:
    """One menu row: its label, the ``voice-transcriber`` arguments it runs, and rofi details."""

    label: str
    args: tuple[str, ...]
    info: str
    icon: str
    #: What Alt+1 (rofi's kb-custom-1) runs instead; None: the same as Enter.
    alt_args: tuple[str, ...] | None = None
    meta: str = ""

    def rofi_row(self) -> str:
        options = {"icon": self.icon, "info": self.info, **({"meta": self.meta} if self.meta else {})}
        return self.label + ROW_OPTIONS + FIELD.join(f"{k}{FIELD}{v}" for k, v in options.items())


def one_line(text: str, width: int = LABEL_WIDTH) -> str:
    """A dictation as a menu label: one line, no control characters, at most ``width`` characters."""
    flat = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


DICTATE_ITEMS = (
    Item("Dictate → type", ("toggle", "--output", "typing"), "dictate:typing", "audio-input-microphone"),
    Item("Dictate → clipboard", ("toggle", "--output", "clipboard"), "dictate:clipboard", "edit-paste"),
)
#: While a recorder listens, the menu offers to end it instead of starting another.
RECORDING_ITEMS = (
    Item("Stop dictation → deliver", ("stop",), "stop", "media-playback-stop"),
    Item("Cancel dictation", ("cancel",), "cancel", "process-stop"),
)


def recording_now() -> bool:
    """A recording is listening, in a background recorder or the daemon (``toggle`` would stop it)."""
    from voice_transcriber.daemon import recording_now

    return recording_now()


def menu_items(config: MenuConfig, warn: Callable[[str], None] | None = None) -> list[Item]:
    """The rows: dictate (or stop/cancel while a recording listens), retry, the newest dictations.
    ``warn`` receives what the history has to say about damaged lines (default: stderr)."""
    from voice_transcriber import history

    entries = list(reversed(history.load(config.history_entries, warn=warn))) if config.history_entries else []
    retry_output = _last_sinks(entries)
    items = [*(RECORDING_ITEMS if recording_now() else DICTATE_ITEMS),
             Item("Retry last", ("retry", "last", *(("--output", retry_output) if retry_output else ())),
                  "retry:last", "view-refresh")]
    verbs = {"type": "type-last", "paste": "paste-last"}
    other = {"type": "paste-last", "paste": "type-last"}
    for entry in entries:
        items.append(Item(one_line(entry.text), (verbs[config.history_action], entry.id), f"history:{entry.id}",
                          "document-open-recent", alt_args=(other[config.history_action], entry.id),
                          meta=one_line(entry.text, width=1000)))
    return items


def _last_sinks(entries: list) -> str:
    """Retry delivers where the last dictation went (a detached run has no terminal for stdout)."""
    if not entries:
        return ""
    sinks = [s for s in [*entries[0].sinks_delivered, *entries[0].sinks_failed] if s != "stdout"]
    return ",".join(dict.fromkeys(sinks))


def rofi_header(config: MenuConfig) -> list[str]:
    alternative = "paste" if config.history_action == "type" else "type"
    return [f"{ROW_OPTIONS}prompt{FIELD}voice", f"{ROW_OPTIONS}no-custom{FIELD}true",
            f"{ROW_OPTIONS}use-hot-keys{FIELD}true",
            f"{ROW_OPTIONS}message{FIELD}Enter: run · Alt+1 on a dictation: {alternative} it instead"]


def find(items: list[Item], label: str, info: str | None) -> Item | None:
    """The chosen row, by rofi's ``info`` when it is set, else by its label."""
    for item in items:
        if (info and item.info == info) or (not info and item.label == label):
            return item
    return None


def rofi_step(items: list[Item], config: MenuConfig, retv: int, selection: str | None,
              info: str | None) -> tuple[list[str], tuple[str, ...] | None]:
    """One call of rofi's script mode: the lines to print (none closes rofi) and what to run."""
    item = find(items, selection or "", info) if retv in (SELECTED, CUSTOM_KEY_1) else None
    if item is not None:
        return [], (item.alt_args or item.args) if retv == CUSTOM_KEY_1 else item.args
    header = rofi_header(config)
    if retv in (SELECTED, CUSTOM_ENTRY, CUSTOM_KEY_1) and selection:  # typed text, or a row gone stale
        header[-1] = f"{ROW_OPTIONS}message{FIELD}Not an entry: {one_line(selection, 40)} — choose one below"
    return [*header, *(item.rofi_row() for item in items)], None


def rofi_state(environ: dict[str, str] | os._Environ = os.environ) -> int:
    """``ROFI_RETV`` (0 when unset or not a number: list the menu)."""
    value = environ.get("ROFI_RETV", "")
    return int(value) if value.isdigit() else INITIAL


# --- the quick path ---------------------------------------------------------------------------


def quick_rofi(args: list[str]) -> int | None:
    """``voice-transcriber rofi`` listing the menu, before the command line loads; None: not this case."""
    dmenu = args == ["--dmenu"]
    if args and not dmenu:
        return None  # a selection, --menu, --help …: the full command
    if not dmenu and rofi_state() != INITIAL:
        return None
    config = plain_config()
    if config is None:
        return None
    try:
        items = menu_items(config, warn=_no_warnings)
    except Exception:  # noqa: BLE001 - a damaged history, an unreadable file: the full command says so
        return None
    lines = [item.label for item in items] if dmenu else rofi_step(items, config, INITIAL, None, None)[0]
    os.write(1, "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape"))
    return 0


def _no_warnings(message: str) -> None:
    raise _Unplain(message)  # the full command prints the warning, where it belongs


class _Unplain(Exception):
    """Something the full command reports (a damaged history line): let it run instead."""


def plain_config(environ: os._Environ | dict[str, str] = os.environ) -> PlainConfig | None:
    """The ``launcher`` section from config.json read as plain JSON; None when only the full
    configuration loader can answer (a broken file, a value out of range, an override in the
    environment, ``strictConfig``)."""
    import json

    from voice_transcriber.paths import config_path

    if any(name.startswith("VOICE_TRANSCRIBER_") and name != "VOICE_TRANSCRIBER_CONFIG" for name in environ):
        return None
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None if environ.get("VOICE_TRANSCRIBER_CONFIG") else PlainConfig()
    except (OSError, UnicodeDecodeError):
        return None
    lines = ["" if line.lstrip().startswith("//") else line for line in text.splitlines()]
    try:
        data = json.loads("\n".join(lines)) if any(line.strip() for line in lines) else {}
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or any(_plain(key) == "strictconfig" and value for key, value in data.items()):
        return None
    section = next((value for key, value in data.items() if _plain(key) == "launcher"), {})
    if not isinstance(section, dict):
        return None
    values = {_plain(key): value for key, value in section.items()}
    entries = values.get("historyentries", PlainConfig.history_entries)
    action = values.get("historyaction", PlainConfig.history_action)
    delay = values.get("settledelay", PlainConfig.settle_delay)
    if type(entries) is not int or not 0 <= entries <= 100 or action not in ("type", "paste") \
            or type(delay) not in (int, float) or not 0 <= delay <= 5 or set(values) - {"historyentries", "historyaction", "settledelay"}:
        return None
    return PlainConfig(entries, action, float(delay))


def _plain(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()
