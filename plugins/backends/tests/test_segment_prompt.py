"""The prompt of a streamed phrase: the user's prompt in front, then the decided text, trimmed to fit."""

from __future__ import annotations

from voice_transcriber.config import load_settings
from voice_transcriber_backends.prompts import PROMPT_CHARS, segment_prompt


def test_the_user_prompt_stays_in_front_and_the_oldest_decided_words_go_first():
    settings = load_settings(overrides={"transcriptionPrompt": "Dictation about Kubernetes.", "vocabulary": ["Anaïs"]})
    decided = " ".join(f"word{n}" for n in range(400))
    prompt = segment_prompt(settings, decided)

    assert prompt.startswith("Dictation about Kubernetes. Vocabulary: Anaïs. ")
    assert prompt.endswith("word398 word399"), "the most recent text is kept"
    assert len(prompt) <= PROMPT_CHARS and "word0 " not in prompt
    assert prompt.split(". ", 2)[-1].split()[0].startswith("word"), "cut at a word boundary"


def test_a_token_counter_decides_what_fits():
    settings = load_settings(overrides={"transcriptionPrompt": "Names: Zoë."})
    prompt = segment_prompt(settings, "one two three four five six", fits=lambda text: len(text.split()) <= 5)
    assert prompt == "Names: Zoë. four five six"


def test_no_context_and_no_user_prompt_is_no_prompt():
    settings = load_settings()
    assert segment_prompt(settings, "") is None
    assert segment_prompt(settings, "Earlier text.") == "Earlier text."
