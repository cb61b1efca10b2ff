"""Profiles by application: matching, choosing, and precedence (defaults < file < env < profile < flags)."""

from __future__ import annotations

import pytest

from voice_transcriber import ActiveWindow, ConfigError, RunContext, hookimpl
from voice_transcriber.config import load_settings
from voice_transcriber.profiles import Profile, ProfileMatch, apply_profile, choose, load_profiles
from vt_testing.core import ListSink

TERMINAL = {"name": "terminal", "match": {"windowClass": "^(kitty|xterm|foot)$"},
            "formatters": ["fake-upper"], "sinks": ["fake-list"], "pasteChord": "ctrl+shift+v"}
MAIL = {"name": "mail", "match": {"windowClass": "thunderbird", "title": "^Write"},
        "formatters": ["llm"], "formattingPrompt": "Formal e-mail, please.", "language": "de"}


class FakeWindow:
    """A ``vt_active_window`` plugin reporting a fixed window, counting how often it is asked."""

    def __init__(self, window: ActiveWindow | None) -> None:
        self.window = window
        self.calls = 0

    @hookimpl
    def vt_active_window(self, ctx):
        self.calls += 1
        return self.window


@pytest.fixture
def focused(plugin_manager):
    """``focused(ActiveWindow(...))`` makes that window the focused one for this test."""
    registered = []

    def set_window(window: ActiveWindow | None) -> FakeWindow:
        fake = FakeWindow(window)
        plugin_manager.register_plugin(fake, f"fake-window-{len(registered)}")
        registered.append(fake)
        return fake

    yield set_window
    for number in range(len(registered)):
        plugin_manager.unregister(name=f"fake-window-{number}")


def xterm(title: str = "bash") -> ActiveWindow:
    return ActiveWindow(window_class="XTerm", title=title, instance="xterm", source="test")


# --- matching -------------------------------------------------------------------------------


def test_match_is_a_case_insensitive_search_in_class_or_instance():
    assert ProfileMatch(windowClass="^xterm$").matches(xterm())  # instance "xterm" (class is "XTerm")
    assert ProfileMatch(windowClass="term").matches(xterm())
    assert not ProfileMatch(windowClass="^kitty$").matches(xterm())


def test_class_and_title_must_both_match_and_an_empty_match_matches_nothing():
    match = ProfileMatch(windowClass="thunderbird", title="^Write")
    assert match.matches(ActiveWindow("thunderbird", "Write: (no subject)"))
    assert not match.matches(ActiveWindow("thunderbird", "Inbox - Mozilla Thunderbird"))
    assert not ProfileMatch().matches(xterm())


def test_first_matching_profile_wins_and_forced_name_beats_the_window():
    profiles = [Profile(**TERMINAL), Profile(name="any-term", match={"windowClass": "term"}), Profile(**MAIL)]
    assert choose(profiles, xterm()).name == "terminal"
    assert choose(profiles, ActiveWindow("firefox", "x")) is None
    assert choose(profiles, None) is None
    assert choose(profiles, xterm(), forced="mail").name == "mail"


def test_unknown_forced_profile_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown profile 'nope' \(profiles: terminal, mail;"):
        choose([Profile(**TERMINAL), Profile(**MAIL)], None, forced="nope")


def test_overrides_map_profile_keys_to_config_keys():
    assert Profile(**MAIL).overrides() == {"formattingPrompt": "Formal e-mail, please.", "language": "de",
                                           "formatter.chain": ["llm"], "formatterEnabled": True}
    verbatim = Profile(name="v", formatters=[], settings={"output.typing.keyDelay": 20},
                       pasteChord="ctrl+shift+v", backend=["speaches", "local"])
    assert verbatim.overrides() == {"formatter.chain": [], "formatterEnabled": False,
                                    "output.typing.keyDelay": 20, "output.clipboard.pasteChord": "ctrl+shift+v",
                                    "transcription.backend": ["speaches", "local"]}


@pytest.mark.parametrize("profiles, problem", [
    ([{"name": "t", "match": {"windowClass": "(unclosed"}}], "profiles.0.match.windowClass: invalid regular expression"),
    ([{"match": {"windowClass": "x"}}], "profiles.0.name: Field required"),
    ([{"name": "a"}, {"name": "a"}], "profile name 'a' is used twice"),
    ({"name": "a"}, "profiles: must be a list"),
])
def test_bad_profiles_are_one_line_config_errors(write_config, profiles, problem):
    path = write_config({"profiles": profiles})
    with pytest.raises(ConfigError) as info:
        load_profiles(load_settings())
    assert problem in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)


# --- precedence -----------------------------------------------------------------------------


def test_precedence_file_env_profile_flags(write_config, monkeypatch, plugin_manager, focused):
    write_config({"language": "en", "formattingPrompt": "file prompt", "output": {"sinks": ["stdout"]},
                  "profiles": [MAIL]})
    monkeypatch.setenv("VOICE_TRANSCRIBER_LANGUAGE", "fr")  # env beats the file …
    focused(ActiveWindow("thunderbird", "Write: hello"))
    flags = {"output.sinks": ["fake-list"], "language": None}  # … the profile beats env; flags beat the profile
    ctx = RunContext(load_settings(overrides=flags), pm=plugin_manager)
    assert ctx.settings.language == "fr"
    profile = apply_profile(ctx, None, flags, lambda overrides: load_settings(overrides=overrides))
    assert profile.name == "mail" and ctx.info["profile"] == "mail"
    assert ctx.settings.language == "de"
    assert ctx.settings.formatting_prompt == "Formal e-mail, please."
    assert ctx.settings.formatter.chain == ["llm"] and ctx.settings.formatter_enabled
    assert ctx.settings.output.sinks == ["fake-list"]
    flags["language"] = "it"
    apply_profile(ctx, None, flags, lambda overrides: load_settings(overrides=overrides))
    assert ctx.settings.language == "it"


def test_profile_applied_to_a_run_by_the_focused_window(cli, write_config, jfk_path, focused):
    write_config({"output": {"sinks": ["stdout"]}, "profiles": [MAIL, TERMINAL]})
    focused(xterm())
    result = cli("transcribe", str(jfk_path), "--backend", "fake-duration")
    assert ListSink.delivered == ["11.0 SECONDS OF AUDIO"]  # terminal profile: fake-upper → fake-list
    assert result.output == ""  # not the file's stdout sink


def test_flags_beat_the_profile_in_a_run(cli, write_config, jfk_path, focused):
    write_config({"profiles": [TERMINAL]})
    focused(xterm())
    result = cli("transcribe", str(jfk_path), "--backend", "fake-duration", "--no-format", "--output", "stdout")
    assert result.output == "11.0 seconds of audio\n" and ListSink.delivered == []


def test_forced_profile_needs_no_window_and_skips_detection(cli, write_config, jfk_path, focused):
    write_config({"output": {"sinks": ["stdout"]}, "profiles": [TERMINAL]})
    window = focused(ActiveWindow("firefox", "news"))
    cli("transcribe", str(jfk_path), "--backend", "fake-duration", "--profile", "terminal")
    assert ListSink.delivered == ["11.0 SECONDS OF AUDIO"] and window.calls == 0


def test_no_match_keeps_the_config_and_no_profiles_means_no_detection(cli, write_config, jfk_path, focused):
    write_config({"output": {"sinks": ["fake-list"]}, "profiles": [TERMINAL]})
    focused(ActiveWindow("firefox", "news"))
    cli("transcribe", str(jfk_path), "--backend", "fake-duration")
    assert ListSink.delivered == ["11.0 seconds of audio"]
    write_config({"output": {"sinks": ["fake-list"]}, "profiles": [{"name": "manual", "formatters": ["fake-upper"]}]})
    window = focused(xterm())
    cli("transcribe", str(jfk_path), "--backend", "fake-duration")
    assert window.calls == 0


def test_a_failing_window_plugin_does_not_break_the_run(cli, write_config, jfk_path, plugin_manager):
    class Broken:
        @hookimpl
        def vt_active_window(self, ctx):
            raise RuntimeError("compositor went away")

    write_config({"output": {"sinks": ["fake-list"]}, "profiles": [TERMINAL]})
    plugin_manager.register_plugin(Broken(), "broken-window")
    try:
        cli("transcribe", str(jfk_path), "--backend", "fake-duration")
    finally:
        plugin_manager.unregister(name="broken-window")
    assert ListSink.delivered == ["11.0 seconds of audio"]


def test_unknown_profile_flag_exits_2_with_one_line(write_config, jfk_path):
    from vt_testing.core import run_cli

    write_config({"profiles": [TERMINAL]})
    result = run_cli("transcribe", str(jfk_path), "--profile", "mial")
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1
    assert "unknown profile 'mial' (profiles: terminal;" in err
