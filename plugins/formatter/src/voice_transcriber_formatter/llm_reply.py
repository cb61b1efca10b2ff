"""Reading a chat-completions reply, and the guard rails that decide whether to trust it.

The user must always get their words: every reply that is not the dictation, corrected,
raises :class:`FormatterError` with the reason, and the pipeline keeps the raw text. A
model can fail in ways no HTTP status shows: it answers the question that was dictated,
follows an instruction in it, translates it, comments on it, or rambles on.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from voice_transcriber import FormatterError

from ._text import data_file

if TYPE_CHECKING:
    import httpx

SERVICE = "llm"
_FINISH_PROBLEMS = {
    "length": "the reply was cut off (finish_reason \"length\"): the model's output limit is too small for this dictation",
    "content_filter": "the provider's content filter withheld the reply (finish_reason \"content_filter\")",
    "tool_calls": "the model called a tool instead of replying with text (finish_reason \"tool_calls\")",
    "function_call": "the model called a function instead of replying with text",
}
_TAGS = re.compile(r"</?transcript>", re.IGNORECASE)
#: Reasoning models served locally (DeepSeek-R1, Qwen3 …) put their thoughts before the answer.
_THINKING = re.compile(r"^\s*<think>.*?</think>", re.IGNORECASE | re.DOTALL)
_LANGUAGES_WITH_STOPWORDS = ("en", "fr")


def reply_content(response: httpx.Response, url: str) -> str:
    """``choices[0].message.content`` of a chat completion, or FormatterError saying what was wrong."""
    try:
        body: Any = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise FormatterError(f"{SERVICE} ({url}): the server did not answer with JSON ({kind}) — fix: set "
                             "formatter.llm.baseUrl to an OpenAI-compatible /v1 URL, e.g. http://localhost:11434/v1") from None
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        error = body.get("error") if isinstance(body, dict) else None  # some servers report errors with 200
        detail = error.get("message") if isinstance(error, dict) else error
        if isinstance(detail, str) and detail.strip():
            raise FormatterError(f"{SERVICE} ({url}): the server reported an error: {' '.join(detail.split())[:160]}")
        raise FormatterError(f"{SERVICE} ({url}): the reply has no choices (not a chat completion?)")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    problem = _FINISH_PROBLEMS.get(str(choice.get("finish_reason")))
    if problem:
        raise FormatterError(f"{SERVICE}: {problem}")
    content = message.get("content")
    if not isinstance(content, str):
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal.strip():
            raise FormatterError(f"{SERVICE}: the model refused: {' '.join(refusal.split())[:120]}")
        raise FormatterError(f"{SERVICE}: the reply has no text (message.content is {json.dumps(content)})")
    return content


def clean_reply(reply: str, original: str) -> str:
    """Remove what the model added around the text: a <think> block, our transcript tags,
    quotes around the whole text, and a one-line preamble such as "Here is the corrected text:"."""
    text = _TAGS.sub("", _THINKING.sub("", reply)).strip()
    lines = text.splitlines()
    if len(lines) > 1 and lines[0].rstrip().endswith(":") and not original.rstrip().splitlines()[0].endswith(":"):
        text = "\n".join(lines[1:]).strip()
    for left, right in ('""', "“”", "«»", "''"):
        if len(text) > 1 and text[0] == left and text[-1] == right and not original.strip().startswith(left):
            text = text[1:-1].strip()
    return text


@dataclass(frozen=True)
class GuardRails:
    """Limits a reply must respect to be delivered instead of the raw text."""

    max_length_ratio: float = 1.6
    min_similarity: float = 0.5

    def check(self, original: str, reply: str, language: str | None) -> str:
        """Return ``reply`` when it is the dictation corrected; else raise FormatterError saying why."""
        if not reply.strip():
            raise FormatterError(f"{SERVICE}: the model returned an empty reply")
        if len(reply) > self.max_length_ratio * len(original) + 20:
            raise FormatterError(f"{SERVICE}: the reply is {len(reply) / max(1, len(original)):.1f}× as long as the dictation "
                                 "(an answer or a comment, not the corrected text)")
        expected = language if language in _LANGUAGES_WITH_STOPWORDS else guess_language(original)
        written = guess_language(reply)
        if expected and written and written != expected:
            raise FormatterError(f"{SERVICE}: the reply is in {_name(written)}, the dictation in {_name(expected)} "
                                 "(the model translated it)")
        if "?" in original and not any(mark in reply for mark in "?？¿"):
            raise FormatterError(f"{SERVICE}: the model answered the dictated question instead of correcting it")
        similarity = word_similarity(original, reply)
        if similarity < self.min_similarity:
            raise FormatterError(f"{SERVICE}: the reply is not the dictation (only {similarity:.0%} of its words match; "
                                 f"formatter.llm.minSimilarity is {self.min_similarity:.0%})")
        return reply


def words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text.lower())
    return re.findall(r"\w+", "".join(ch for ch in plain if not unicodedata.combining(ch)))


def word_similarity(a: str, b: str) -> float:
    """How much of the word sequence two texts share (0..1); punctuation and case do not count."""
    return difflib.SequenceMatcher(None, words(a), words(b), autojunk=False).ratio()


def guess_language(text: str) -> str | None:
    """English or French by their most common words, or None when the text does not say clearly."""
    found = words(text)
    counts = {code: sum(w in _stopwords(code) for w in found) for code in _LANGUAGES_WITH_STOPWORDS}
    best = max(counts, key=counts.__getitem__)
    others = max(n for code, n in counts.items() if code != best)
    return best if counts[best] >= 3 and counts[best] >= 2 * others + 1 else None


@lru_cache(maxsize=None)
def _stopwords(code: str) -> frozenset[str]:
    return frozenset(words(" ".join(data_file(code)["stopwords"])))


def _name(code: str) -> str:
    return data_file(code)["name"] if code in _LANGUAGES_WITH_STOPWORDS else code
