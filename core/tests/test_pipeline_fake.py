from voice_transcriber.cli import make_cli  # noqa: F401  (import check)


def test_fake_backend_through_cli(cli, jfk_path, fake_plugin):
    result = cli("--input", str(jfk_path), "--backend", "fake-duration", "--output", "fake-list,stdout",
                 "--format", "fake-upper")
    assert result.exit_code in (0, None)
    assert "11.0 SECONDS OF AUDIO" in result.output
    from vt_testing.core import ListSink

    assert ListSink.delivered == ["11.0 SECONDS OF AUDIO"]
    assert ("partial", "decoding") in fake_plugin.events
    assert ("delivered", "fake-list") in fake_plugin.events
