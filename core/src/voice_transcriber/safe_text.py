"""Text that is safe to type: what was dictated, and no key the user did not say.

A transcript comes from a server, a formatter (an LLM, an external command) or a plugin;
any of them can hand back bytes that press keys when a typing tool replays them: ESC
leaves vim's insert mode, BS deletes, CR submits a line in a terminal, and a terminal
escape sequence inside a paste can end bracketed-paste mode early. :func:`clean_text`
keeps letters, punctuation, spaces, newlines (``\\n``) and tabs (``\\t``) and drops the rest
of the control characters; the sinks decide how a newline or a tab is delivered.

What is dropped, and what becomes of it:

* terminal escape sequences as a whole (``ESC [ 31 m``, OSC ``ESC ] … BEL``, C1 ``CSI``);
* every other C0/C1 control character except ``\\n`` and ``\\t``: NUL, BS, ESC, DEL, lone CR …
  (``\\r\\n`` is one line break: it becomes ``\\n``);
* lone surrogates (text that is not valid Unicode and cannot be encoded as UTF-8);
* invisible bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make
  text display differently from what it is, and the byte-order mark U+FEFF;
* the Unicode line and paragraph separators U+2028/U+2029 become ``\\n`` (a line break the
  settings then govern, like any other).

The pipeline applies this to the backend's transcript, to every formatter's result, to
partial text and to the text every sink receives; sinks that inject keys apply it again
(:func:`safe_text` is cheap on clean text), so no path around the pipeline can type ESC.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Cleaned", "clean_text", "safe_text"]

#: Whole terminal escape sequences: CSI (ESC [ or C1 0x9b), OSC/DCS/SOS/PM/APC strings with their
#: terminator (an unterminated one loses only its introducer: the words after it are kept), and
#: two-character ESC sequences.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,512}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
#: One character that needs attention (the fast path: a clean text has none).
_SUSPECT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff\ud800-\udfff]")
_LINE_SEPARATORS = {"\u2028": "\n", "\u2029": "\n"}
_NAMES = {"\x00": "NUL", "\x08": "BS", "\x1b": "ESC", "\r": "CR", "\x7f": "DEL", "\x0b": "VT", "\x0c": "FF",
          "\x07": "BEL", "\x03": "ETX", "\x04": "EOT", "\x15": "NAK", "\x17": "ETB", "\ufeff": "BOM"}


@dataclass(frozen=True)
class Cleaned:
    """The safe text and what was taken out of it (``{"ESC": 2, "escape sequence": 2}``)."""

    text: str
    dropped: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """``"2 escape sequences, 1 BS, 1 CR"`` (empty when nothing was dropped)."""
        return ", ".join(f"{count} {name}{'s' if count > 1 and name.endswith('sequence') else ''}"
                         for name, count in self.dropped.items())


def clean_text(text: str) -> Cleaned:
    """``text`` without control characters other than ``\\n`` and ``\\t`` (see the module's doc)."""
    if not isinstance(text, str):
        raise TypeError(f"expected text (str), got {type(text).__name__}")
    if _SUSPECT.search(text) is None:
        return Cleaned(text)
    dropped: Counter[str] = Counter()

    def escape(match: re.Match[str]) -> str:
        dropped["escape sequence"] += 1
        return ""

    text = _ESCAPES.sub(escape, text.replace("\r\n", "\n"))
    kept: list[str] = []
    for char in text:
        if char in _LINE_SEPARATORS:
            kept.append(_LINE_SEPARATORS[char])
        elif _SUSPECT.match(char) is None or char in "\n\t":
            kept.append(char)
        else:
            dropped[_name(char)] += 1
    return Cleaned("".join(kept), dict(dropped))


def safe_text(text: str, log: Callable[[str], None] | None = None, source: str = "the text") -> str:
    """:func:`clean_text`'s text; ``log`` gets one line saying what was dropped from ``source``."""
    cleaned = clean_text(text)
    if cleaned.dropped and log is not None:
        log(f"dropped from {source} (never typed): {cleaned.describe()}")
    return cleaned.text


def _name(char: str) -> str:
    if char in _NAMES:
        return _NAMES[char]
    if "\ud800" <= char <= "\udfff":
        return "invalid character (lone surrogate)"
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")
