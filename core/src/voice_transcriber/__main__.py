"""The ``voice-transcriber`` executable (also ``python -m voice_transcriber``).

``--version`` answers here from :mod:`.version` alone: the standard library, nothing else;
so do ``--help`` and ``<core command> --help`` once the plugin index remembers them
(:mod:`.plugin_index`), the hotkey commands that a daemon takes (:mod:`.daemon.client`) or that
only ignore a key's autorepeat, refuse or signal the recorder (:mod:`.hotkey`), and plugin commands
with a quick handler (:mod:`.quick`); so does ``status`` for a status bar (:mod:`.status`), and so do
``daemon status|stop|reload`` and a second ``daemon`` (:mod:`.daemon.admin`).

When the command line records, the microphone opens here, before click, pydantic and
the plugins are imported (about 0.3 s), so speech starting right away is not lost. A
dictation or ``transcribe`` whose options are plainly valid then runs without click
(:mod:`.dictate`).
"""

from __future__ import annotations

import os
import sys


#: Options of the root command that may come before ``--version`` (click's own ``--version`` is eager too).
_GLOBAL_FLAGS = {"--debug", "--quiet", "-q"}


#: numpy's OpenBLAS starts a thread per core when numpy loads, and they spin for a while after any matrix
#: product. Nothing here multiplies big matrices with numpy (the model runs in CTranslate2; numpy handles
#: audio and Whisper's features): with one thread the commands that load numpy take 0.80-0.97 of the CPU they took
#: before (bench/results/31-command-startup.md, paired with the commit before, AMD EPYC, 2026-12-07). A value
#: already set is kept.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    os.environ.setdefault(*BLAS_THREADS)  # read once, when numpy loads: before anything imports it
    try:
        _main(sys.argv[1:])
    except KeyboardInterrupt:  # Ctrl-C (or SIGUSR2 while recording) before a command's own handling began
        sys.stderr.write("voice-transcriber: error: cancelled\n")
        sys.exit(130)
    except SystemExit as end:  # the command is over: a model still loading for it is not waited for at exit
        pipeline = sys.modules.get("voice_transcriber.pipeline")  # (only a run that imported it can be preparing)
        if pipeline is not None and isinstance(end.code, int):
            pipeline.exiting_with(end.code)
        raise


def _main(argv: list[str]) -> None:
    if _printed_without_click(argv):
        return
    if argv[:1] == ["status"]:
        from .status import run as status_run

        status_run(argv)  # `status` for a status bar: the run-state files' record, and this exits here
    if argv[:1] == ["daemon"]:
        from .daemon import admin

        admin.fast_path(argv)  # `daemon status|stop|reload`, or `daemon` while one runs: asked on the socket, exits here
    from .daemon import client

    client.fast_path(argv)  # a hotkey command with a daemon running: it acts, and this exits here
    if client.skip:
        from .hotkey import run as hotkey_run

        hotkey_run(argv)  # no daemon: start/stop/cancel/toggle act from the PID file (a recorder too), and exit here
    from . import quick

    quick.run(argv)  # a plugin's quick handler (the rofi menu's rows): it answers, and this exits here
    if "--help" not in argv and "-h" not in argv:  # a help request records nothing
        from .capture import early

        early.start(argv)
    from .dictate import run

    run(argv)  # a dictation or `transcribe` with plainly valid options runs without click, and exits here
    from .cli import main as cli_main

    cli_main(argv)


def _printed_without_click(argv: list[str]) -> bool:
    """A completion (a TAB, ``completion SHELL``), ``--version`` or ``--help`` printed without click, from the plugin
    index; False when click must answer it."""
    if "_VOICE_TRANSCRIBER_COMPLETE" in os.environ or argv[:1] == ["completion"]:
        from . import shell_completion

        reply = shell_completion.answer() if argv[:1] != ["completion"] else shell_completion.script(argv)
        if reply is not None:  # a TAB, or `completion SHELL`: from the plugin index, without click
            sys.stdout.write(reply if argv[:1] == ["completion"] else reply + "\n")
            return True
    if "--version" in argv and set(argv) - {"--version"} <= _GLOBAL_FLAGS:
        from .version import __version__  # nothing else: no click, pydantic, pluggy or plugin

        sys.stdout.write(f"voice-transcriber, version {__version__}\n")
        return True
    if "--help" in argv or "-h" in argv:
        from .plugin_index import help_text

        text = help_text(argv)  # `--help`, `COMMAND --help` as click printed it when the plugin index was written
        if text is not None:
            sys.stdout.write(text)
            return True
    return False


if __name__ == "__main__":
    main()
