"""replace: the user's literal and regex replacements, with case options."""

from __future__ import annotations

import pytest

from voice_transcriber import ConfigError

CASES = [
    ({"from": "pie test", "to": "pytest"}, "I run pie test and Pie test and PIE  TEST", "I run pytest and Pytest and PYTEST"),
    ({"from": "pie test", "to": "pytest", "keepCase": False}, "Pie test rocks", "pytest rocks"),
    ({"from": "cat", "to": "dog"}, "cat category concat", "dog category concat"),
    ({"from": "cat", "to": "dog", "wholeWord": False}, "cat category", "dog dogegory"),
    ({"from": "Nice", "to": "Nice (06)", "caseSensitive": True}, "nice weather in Nice", "nice weather in Nice (06)"),
    ({"from": r"\bv(\d+)\b", "to": r"version \1", "regex": True}, "use v2 not V3", "use version 2 not version 3"),
    ({"from": r"(?P<n>\d+) euros", "to": r"\g<n> €", "regex": True}, "ça coûte 12 euros", "ça coûte 12 €"),
    ({"from": "virgule point", "to": "virgule-point"}, "une virgule point", "une virgule-point"),
]


@pytest.mark.parametrize(("rule", "heard", "written"), CASES)
def test_rule(run_formatter, rule, heard, written):
    assert run_formatter("replace", heard, config={"rules": [rule]}).text == written


def test_rules_apply_in_order(run_formatter):
    rules = [{"from": "git hub", "to": "GitHub", "keepCase": False}, {"from": "GitHub", "to": "GitLab", "caseSensitive": True}]
    assert run_formatter("replace", "push to git hub", config={"rules": rules}).text == "push to GitLab"


def test_no_rules_changes_nothing(run_formatter):
    assert run_formatter("replace", "as it is").text == "as it is"


def test_bad_regex_is_a_config_error_naming_the_key(run_formatter):
    with pytest.raises(ConfigError, match=r"formatter\.replacements\.rules\.0.*invalid regular expression"):
        run_formatter("replace", "x", config={"rules": [{"from": "(", "regex": True}]})
