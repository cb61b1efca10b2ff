"""fillers: hesitations and stutters go, real words (and real repetitions) stay."""

from __future__ import annotations

import pytest

ENGLISH = [
    ("Um, so we went to the, uh, store.", "So we went to the store."),
    ("I think, erm, that's fine", "I think that's fine"),
    ("Ummm hello", "Hello"),
    ("and then uh.", "and then."),
    ("Hmm, what is it?", "What is it?"),
    ("I I think so", "I think so"),
    ("I, I think so", "I think so"),
    ("The the cat sat on the th- the mat", "The cat sat on the mat"),
    # real words and real repetitions
    ("She took her umbrella to the umpire", "She took her umbrella to the umpire"),
    ("I know that that is true", "I know that that is true"),
    ("What it is is a bug", "What it is is a bug"),
    ("No, no, no, very very good", "No, no, no, very very good"),
    ("Uh-huh, she said", "Uh-huh, she said"),
    ("The e-mail arrived", "The e-mail arrived"),
    ("To err is human, er, they say", "To err is human they say"),
]

FRENCH = [
    ("Euh, je pense que, euh, c'est bon.", "Je pense que c'est bon."),
    ("Bah, le le chat dort", "Le chat dort"),
    ("Heu non", "Non"),
    ("c'est euhhh compliqué", "c'est compliqué"),
    # real words and real repetitions
    ("Nous nous sommes vus", "Nous nous sommes vus"),
    ("Vous vous trompez", "Vous vous trompez"),
    ("j'ai eu peur", "j'ai eu peur"),
    ("il a bu une bière", "il a bu une bière"),
    ("si si, je te jure", "si si, je te jure"),
]


@pytest.mark.parametrize(("heard", "written"), ENGLISH)
def test_english(run_formatter, heard, written):
    assert run_formatter("fillers", heard, language="en").text == written


@pytest.mark.parametrize(("heard", "written"), FRENCH)
def test_french(run_formatter, heard, written):
    assert run_formatter("fillers", heard, language="fr").text == written


def test_extra_words_and_stutters_option(run_formatter):
    result = run_formatter("fillers", "so hein the the end", config={"extraWords": ["hein"], "stutters": False})
    assert result.text == "so the the end"
