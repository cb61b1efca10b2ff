"""doctor's portal lines against a simulated RemoteDesktop portal: what the test suite verified on a
real desktop (headless GNOME Shell 43, plugins/typing/tests/test_typing_gnome.py) and what only
against the simulation (restore tokens: GNOME 45+, KDE) — said as such, per desktop."""

from __future__ import annotations

import pytest

from voice_transcriber_clipboard import portal


@pytest.mark.parametrize(("version", "desktop", "says"), [
    (2, "KDE", ["KDE Plasma is not run by the test suite", "only against a simulated version-2 portal",
                "not checked on KWin", "verified on a real headless GNOME Shell 43"]),
    (2, "GNOME", ["(version 2, GNOME 45+) is not run by the test suite", "only against a simulated version-2 portal",
                  "verified on a real headless GNOME Shell 43"]),
    (1, "GNOME", ["verified on this kind of desktop", "GNOME Shell 43"]),
])
def test_doctor_says_what_was_verified_for_real_and_what_only_against_a_simulated_portal(fake_portal, monkeypatch,
                                                                                           version, desktop, says):
    from voice_transcriber_typing.method import portal_checks

    fake = fake_portal(version=version)
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", desktop)
    consent, tested = portal_checks("typing")
    assert consent.ok and ("restore token" in consent.detail)
    assert tested.name == "typing tested" and tested.ok
    assert all(part in tested.detail for part in says), tested.detail
    assert fake.consents == 0 and not portal.token_path().exists(), "doctor only asks what the portal offers"
