"""The ``commands`` formatter: voice editing inside one dictation, per language.

- "scratch that" / "efface ça": drops the sentence before it (said after a pause);
- "all caps … end caps" / "tout en majuscules … fin des majuscules": upper-cases the words between;
- "new line", "new paragraph" / "à la ligne", "nouveau paragraphe": line breaks.

Commands are deterministic and guarded against real words: "scratch that" counts only after
a pause (which Whisper writes as punctuation), so "I need to scratch that itch" and "can you
scratch that?" stay; "all caps" only when an "end caps" follows; "a new paragraph" stays.
"""

from __future__ import annotations

from functools import lru_cache

from voice_transcriber import Formatter, Transcript, hookimpl

from ._text import (
    PAUSE_PUNCTUATION,
    Token,
    WordContext,
    index_phrases,
    join_tokens,
    language_data,
    language_of,
    phrase_at,
    phrases,
    tokenize,
)

SENTENCE_END = ".!?"
BREAK = Token("", "\n", "")


class CommandRules:
    def __init__(self, language: str) -> None:
        data = language_data("commands", language)
        spoken = data["commands"]
        self.actions: dict[tuple[str, ...], str] = {}
        for action in ("scratch", "capsOn", "capsOff"):
            self.actions.update((phrase, action) for phrase in phrases(spoken[action]))
        for entry in data["punctuation"]:
            if entry["kind"] == "break":
                self.actions.update((phrase, entry["symbol"]) for phrase in phrases(entry["say"]))
        self.phrases = index_phrases(self.actions)
        self.context = WordContext(data)

    def action_at(self, tokens: list[Token], i: int) -> tuple[str, int] | None:
        """The action spoken at ``tokens[i]`` and its length in words, unless the words are real words here."""
        phrase = phrase_at(tokens, i, self.phrases)
        if phrase is None:
            return None
        action, end = self.actions[phrase], i + len(phrase)
        if self.context.is_real_word(tokens, i, end):
            return None
        if action == "scratch" and not _set_apart(tokens, i):
            return None
        if action == "capsOn" and not any(self.actions.get(p) == "capsOff" for j in range(end, len(tokens))
                                          for p in [phrase_at(tokens, j, self.phrases)] if p):
            return None
        return action, len(phrase)


@lru_cache(maxsize=8)
def rules_for(language: str) -> CommandRules:
    return CommandRules(language)


def _set_apart(tokens: list[Token], start: int) -> bool:
    """A pause before the words (punctuation or a line break), or the start of the text: "Can you
    scratch that?" is a question, "I like cats. Scratch that." a command."""
    return start == 0 or tokens[start - 1].is_break or bool(tokens[start - 1].trail.strip(")\"'»”"))


def apply_commands(text: str, rules: CommandRules) -> str:
    tokens = tokenize(text)
    out: list[Token] = []
    caps = False
    i = 0
    while i < len(tokens):
        found = rules.action_at(tokens, i)
        if found is None or (found[0] == "capsOff" and not caps):
            out.append(_upper(tokens[i]) if caps else tokens[i])
            i += 1
            continue
        action, length = found
        last = tokens[i + length - 1]
        if action == "scratch":
            _drop_last_sentence(out)
        elif action in ("capsOn", "capsOff"):
            caps = action == "capsOn"
            if not caps:
                _end_sentence(out, last.trail)
        else:
            out.extend([BREAK] * action.count("\n"))
        i += length
    return join_tokens(out)


def _upper(token: Token) -> Token:
    return Token(token.lead, token.word.upper(), token.trail)


def _drop_last_sentence(out: list[Token]) -> None:
    """Remove the words back to the previous sentence end or line break."""
    if out and not out[-1].is_break:
        out.pop()
    while out and not out[-1].is_break and not out[-1].trail.rstrip(")\"'»”")[-1:] in tuple(SENTENCE_END):
        out.pop()


def _end_sentence(out: list[Token], trail: str) -> None:
    """"… end caps." keeps its sentence end on the last word; pause commas around the command go."""
    if out and not out[-1].is_break and not out[-1].trail.strip(PAUSE_PUNCTUATION):
        end = "".join(c for c in trail if c in SENTENCE_END + "…")
        out[-1] = Token(out[-1].lead, out[-1].word, end or out[-1].trail.rstrip(",;:"))


class CommandsFormatter(Formatter):
    name = "commands"
    description = "Voice editing: 'scratch that', 'all caps … end caps', 'new paragraph' (and French: 'efface ça', 'à la ligne' …)."

    def format(self, transcript: Transcript) -> str:
        return apply_commands(transcript.text, rules_for(language_of(transcript, self.ctx)))


@hookimpl
def vt_register_formatters(register) -> None:
    register(CommandsFormatter)
