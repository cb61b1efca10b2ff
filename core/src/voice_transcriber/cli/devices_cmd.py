"""``voice-transcriber devices``: the microphones PortAudio sees."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (index, name, hostapi, default_samplerate, …).")
def devices(as_json: bool) -> None:
    """List input devices: index, name, host API, default sample rate (* = system default).

    Select one with --device INDEX|NAME or "input": {"device": ...} in the config.
    """
    from ..capture.microphone import input_devices

    found = input_devices()
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("no input devices (connect a microphone; check that PulseAudio/PipeWire runs)", err=True)
        return
    for device in found:
        mark = "*" if device["default"] else " "
        click.echo(f"{mark}{device['index']:>3}  {device['name']}  ({device['hostapi']}, "
                   f"{device['default_samplerate']} Hz, {device['max_input_channels']} ch)")
