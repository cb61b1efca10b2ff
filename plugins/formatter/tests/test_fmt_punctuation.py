"""punctuation: spoken commands become symbols, real words stay words (English and French)."""

from __future__ import annotations

import pytest

NNBSP = "\u202f"

ENGLISH = [
    ("hello comma how are you question mark", "Hello, how are you?"),
    # Whisper's own punctuation around the spoken command is not doubled
    ("Hello, comma, how are you? Question mark.", "Hello, how are you?"),
    ("stop exclamation mark", "Stop!"),
    ("it works full stop then it broke period", "It works. Then it broke."),
    ("the list colon apples semicolon pears", "The list: apples; pears"),
    ("he said open quote hi close quote and left", 'He said "hi" and left'),
    ("see open paren below close paren", "See (below)"),
    ("first line new line second line", "First line\nSecond line"),
    ("one period new paragraph two", "One.\n\nTwo"),
    # real words in context
    ("send me a comma-separated list period", "Send me a comma-separated list."),
    ("the period of time was long", "The period of time was long"),
    ("put a question mark at the end", "Put a question mark at the end"),
    ("Colon cancer is treatable", "Colon cancer is treatable"),
    ("this comma is wrong", "This comma is wrong"),
    ("the trial period ends today", "The trial period ends today"),
    ("there is a big question mark over it", "There is a big question mark over it"),
    ("he is a quote unquote expert", "He is a quote unquote expert"),
    # issue 21 row 8: a command before a set phrase or after an adjective of another noun
    ("Send it comma of course period", "Send it, of course."),
    ("It was long comma and boring period", "It was long, and boring."),
    ("after a long period we left", "After a long period we left"),
    ("the word comma is a noun period", "The word comma is a noun."),
    ("put a comma here", "Put a comma here"),
    # abbreviations and ellipses are not sentence ends
    ("use e.g. pytest period", "Use e.g. pytest."),
    ("wait... what question mark", "Wait... what?"),
    ("version 3.5 is out period", "Version 3.5 is out."),
]

FRENCH = [
    ("bonjour virgule comment ça va point d'interrogation", f"Bonjour, comment ça va{NNBSP}?"),
    ("Bonjour, virgule, ça va ? Point d’interrogation.", f"Bonjour, ça va{NNBSP}?"),
    ("la liste deux points pommes point virgule poires point", f"La liste{NNBSP}: pommes{NNBSP}; poires."),
    ("génial point d'exclamation", f"Génial{NNBSP}!"),
    ("Je viens virgule du moins je crois point", "Je viens, du moins je crois."),
    ("oui virgule par exemple demain point", "Oui, par exemple demain."),
    ("le mot virgule est court point", "Le mot virgule est court."),
    ("un point de vue", "Un point de vue"),
    ("ouvrez les guillemets salut fermez les guillemets point", f"«{NNBSP}Salut{NNBSP}»."),
    ("ligne un à la ligne ligne deux", "Ligne un\nLigne deux"),
    ("fin point nouveau paragraphe suite", "Fin.\n\nSuite"),
    ("attendez points de suspension voilà", "Attendez… voilà"),
    # real words in context
    ("du point de vue technique c'est bon", "Du point de vue technique c'est bon"),
    ("c'est un point important", "C'est un point important"),
    ("il a marqué deux points", "Il a marqué deux points"),
    ("je suis revenu à la ligne de départ", "Je suis revenu à la ligne de départ"),
    ("mets une virgule ici", "Mets une virgule ici"),
    ("M. Dupont arrive point", "M. Dupont arrive."),
]


@pytest.mark.parametrize(("spoken", "written"), ENGLISH)
def test_english(run_formatter, spoken, written):
    assert run_formatter("punctuation", spoken, language="en").text == written


@pytest.mark.parametrize(("spoken", "written"), FRENCH)
def test_french(run_formatter, spoken, written):
    assert run_formatter("punctuation", spoken, language="fr").text == written


@pytest.mark.parametrize(("spacing", "expected"), [("nbsp", "Ça va\u00a0?"), ("space", "Ça va ?"), ("none", "Ça va?")])
def test_french_spacing_options(run_formatter, spacing, expected):
    result = run_formatter("punctuation", "ça va point d'interrogation", language="fr", config={"frenchSpacing": spacing})
    assert result.text == expected


def test_capitalisation_can_be_turned_off(run_formatter):
    result = run_formatter("punctuation", "hello period bye", config={"capitalize": False})
    assert result.text == "hello. bye"


def test_language_comes_from_config_when_the_backend_does_not_say(run_formatter):
    result = run_formatter("punctuation", "salut virgule toi", language=None, settings={"language": "fr"})
    assert result.text == "Salut, toi"


def test_unsupported_language_keeps_the_text_and_says_why(run_formatter):
    result = run_formatter("punctuation", "hallo komma welt", language="de")
    assert result.text is None
    assert "no rules for language 'de'" in result.error and "en, fr" in result.error


def test_bad_spacing_value_is_a_config_error(run_formatter):
    from voice_transcriber import ConfigError

    with pytest.raises(ConfigError, match="formatter.punctuation.frenchSpacing"):
        run_formatter("punctuation", "x", config={"frenchSpacing": "wide"})
