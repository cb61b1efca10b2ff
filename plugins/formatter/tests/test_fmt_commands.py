"""commands: voice editing inside one dictation (English and French), guarded against real words."""

from __future__ import annotations

import pytest

ENGLISH = [
    ("I like cats. Scratch that. I like dogs.", "I like dogs."),
    ("Hello. I like cats, scratch that, I like dogs", "Hello. I like dogs"),
    ("First line.\nSecond line. Delete that.", "First line.\n"),
    ("Make it all caps hello world end caps now", "Make it HELLO WORLD now"),
    ("Make it, all caps, hello world, end caps.", "Make it, HELLO WORLD."),
    ("First point new paragraph second point", "First point\n\nsecond point"),
    ("one new line two", "one\ntwo"),
    # real words in context
    ("I need to scratch that itch", "I need to scratch that itch"),
    ("Can you scratch that?", "Can you scratch that?"),
    ("I like cats scratch that I like dogs", "I like cats scratch that I like dogs"),
    ("Written in all caps.", "Written in all caps."),
    ("Start a new paragraph please", "Start a new paragraph please"),
    ("We drew a new line in the sand", "We drew a new line in the sand"),
]

FRENCH = [
    ("J'aime les chats. Efface ça. J'aime les chiens.", "J'aime les chiens."),
    ("Titre tout en majuscules bonjour fin des majuscules suite", "Titre BONJOUR suite"),
    ("Ligne un à la ligne ligne deux", "Ligne un\nligne deux"),
    ("Fin nouveau paragraphe suite", "Fin\n\nsuite"),
    # real words in context
    ("Je suis revenu à la ligne de départ", "Je suis revenu à la ligne de départ"),
    ("C'est écrit tout en majuscules", "C'est écrit tout en majuscules"),
    ("Un nouveau paragraphe commence", "Un nouveau paragraphe commence"),
]


@pytest.mark.parametrize(("heard", "written"), ENGLISH)
def test_english(run_formatter, heard, written):
    assert run_formatter("commands", heard, language="en").text == written


@pytest.mark.parametrize(("heard", "written"), FRENCH)
def test_french(run_formatter, heard, written):
    assert run_formatter("commands", heard, language="fr").text == written
