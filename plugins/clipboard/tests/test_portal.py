"""The RemoteDesktop portal client against a fake version-2 portal (GNOME 45+, KDE): the consent is
asked once, the restore token is kept 0600 and spent once, keys go out as keysyms in order.

The real GNOME 43 portal (version 1) is driven in plugins/typing/tests/test_typing_gnome.py."""

from __future__ import annotations

import os
import stat

import pytest

from voice_transcriber_clipboard import active_layout, portal
from voice_transcriber_clipboard.portal import PortalError, PortalKeys

SHIFT_TAP = [(0xFFE1, 1), (0xFFE1, 0)]  # sent first: after a dialog, the first key only refocuses


def test_consent_once_then_restored_by_the_kept_token(fake_portal):
    fake = fake_portal(version=2)
    PortalKeys(0).type("aö")
    assert fake.consents == 1
    first = fake.calls("SelectDevices")[0]["options"]
    assert first == {"types": 1, "persist_mode": 2}  # keyboard only, persistent until revoked
    path = portal.token_path()
    token = path.read_text()
    assert token == fake.calls("Start")[0]["token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert fake.keys() == [*SHIFT_TAP, (0x61, 1), (0x61, 0), (0xF6, 1), (0xF6, 0)]

    portal.end_session()  # a new process, as the next one-shot run or a restarted daemon would be
    PortalKeys(0).press("ctrl+v")
    assert fake.calls("SelectDevices")[1]["options"]["restore_token"] == token
    assert fake.consents == 1 and fake.calls("Start")[1]["restored"]
    assert path.read_text() == fake.calls("Start")[1]["token"] != token  # tokens are single-use: the new one kept
    assert fake.keys()[-6:] == [*SHIFT_TAP, (0xFFE3, 1), (0x76, 1), (0x76, 0), (0xFFE3, 0)]


def test_the_process_keeps_its_session(fake_portal):
    fake = fake_portal(version=2)
    PortalKeys(0).type("a")
    PortalKeys(0).backspace(2)
    assert len(fake.calls("Start")) == 1
    assert fake.keys()[-4:] == [(0xFF08, 1), (0xFF08, 0)] * 2


def test_version_1_asks_each_session_and_keeps_no_token(fake_portal):
    fake = fake_portal(version=1)
    PortalKeys(0).type("x")
    assert fake.calls("SelectDevices")[0]["options"] == {"types": 1}  # version 1 knows no persist_mode
    assert not portal.token_path().exists()
    portal.end_session()
    PortalKeys(0).type("y")
    assert fake.consents == 2


def test_a_spent_or_revoked_token_asks_again(fake_portal):
    fake = fake_portal(version=2)
    portal.save_token("revoked-long-ago")
    PortalKeys(0).type("z")
    assert fake.calls("SelectDevices")[0]["options"]["restore_token"] == "revoked-long-ago"
    assert fake.consents == 1
    assert portal.token_path().read_text() == fake.calls("Start")[0]["token"]


def test_refused_consent_is_one_clear_error(fake_portal):
    fake_portal(version=2, refuse=True)
    with pytest.raises(PortalError, match=r"^remote keyboard access was refused in the desktop's consent dialog$"):
        PortalKeys(0).type("secret")
    assert not portal.token_path().exists()


def test_no_portal_on_the_bus(fake_portal, monkeypatch, tmp_path):
    from vt_testing.fake_portal import private_bus

    bus = private_bus(tmp_path)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    try:
        with pytest.raises(PortalError, match=r"^no RemoteDesktop portal on the session bus"):
            portal.probe()
    finally:
        bus.proc.terminate()
        bus.proc.wait()


def test_token_file_is_never_written_through_a_symlink(fake_portal, tmp_path):
    fake_portal(version=2)
    path = portal.token_path()
    path.parent.mkdir(parents=True, mode=0o700)
    os.symlink(tmp_path / "elsewhere", path.with_name(f".{path.name}.{os.getpid()}.tmp"))
    PortalKeys(0).type("q")  # typing goes on; the token could not be kept
    assert not (tmp_path / "elsewhere").exists()
    assert portal._Shared.token_problem and "symlink" in portal._Shared.token_problem


def test_a_portal_gone_mid_session_is_one_line_and_a_new_session_is_tried(fake_portal):
    from vt_testing.desktop import stop

    fake = fake_portal(version=2)
    PortalKeys(0).type("a")
    stop(fake.proc)  # the portal process dies (a crash, a session logout)
    with pytest.raises(PortalError, match=r"^the portal refused a key \(org\.freedesktop\.DBus\.Error\.\w+"):
        PortalKeys(0).type("b")
    with pytest.raises(PortalError, match=r"^no RemoteDesktop portal on the session bus"):
        PortalKeys(0).type("c")  # the dead session is not used again: a new one is asked for


def test_typing_sink_through_the_portal_refuses_what_it_cannot_type_before_any_key(
        fake_portal, fake_wayland, stub_tool, run_sink, capsys):
    from voice_transcriber import SinkError
    from voice_transcriber_typing.sink import TypingSink

    fake = fake_portal(version=2)
    stub_tool("wl-copy", read_stdin=True)
    stub_tool("wl-paste", stdout="hi 😀")
    with pytest.raises(SinkError, match=r"^typing: portal cannot type '😀'"):
        run_sink(TypingSink, "hi 😀", {"output.typing": {"tool": "portal", "unsupported": "fail", "startDelay": 0}})
    assert fake.keys() == SHIFT_TAP  # the session started (to read the layout), and no character went out
    assert "hi 😀" in capsys.readouterr().err  # the text is kept


def test_typing_sink_types_through_the_portal(fake_portal, fake_wayland, run_sink):
    from voice_transcriber_typing.sink import TypingSink

    fake = fake_portal(version=2)
    run_sink(TypingSink, "ok\nyes", {"output.typing": {"tool": "portal", "startDelay": 0, "keyDelayMs": 0}})
    assert fake.keys() == [*SHIFT_TAP, (0x6F, 1), (0x6F, 0), (0x6B, 1), (0x6B, 0), (0xFF0D, 1), (0xFF0D, 0),
                           (0x79, 1), (0x79, 0), (0x65, 1), (0x65, 0), (0x73, 1), (0x73, 0)]



@pytest.mark.parametrize(("sources", "recent", "active"), [
    ("[('xkb', 'us'), ('xkb', 'de')]", "[('xkb', 'de'), ('xkb', 'us')]", 1),  # switched to de: the shell's MRU
    ("[('xkb', 'de'), ('xkb', 'us')]", "@a(ss) []", 0),  # never switched: the first source
    ("[('xkb', 'us'), ('xkb', 'fr+oss')]", "[('xkb', 'fr+oss'), ('xkb', 'us')]", 1),  # a variant
    ("[('xkb', 'us'), ('xkb', 'de')]", "[('xkb', 'ru'), ('xkb', 'de')]", 1),  # a removed source is skipped
    ("[('xkb', 'us'), ('ibus', 'anthy')]", "[('xkb', 'us')]", None),  # an input method: cannot tell
    ("[('xkb', 'us'), ('xkb', 'de'), ('xkb', 'fr')]", "[('xkb', 'fr')]", None),  # not the keymap's 2 layouts
])
def test_gnome_active_input_source_from_its_mru_list(stub_tool, sources, recent, active):
    gsettings = stub_tool("gsettings", stdout=[sources + "\n", recent + "\n"])
    assert active_layout.gnome_active_layout(os.environ, 2) == active
    assert gsettings.argvs()[0][1:] == ["get", "org.gnome.desktop.input-sources", "sources"]


def test_no_gsettings_means_the_layouts_shared_characters(stub_tool):
    stub_tool("gsettings", exit_code=1, stderr="No such schema")
    assert active_layout.gnome_active_layout(os.environ, 2) is None
