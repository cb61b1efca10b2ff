"""Process-wide state of the product that a test can change, fresh for every test.

A test must not depend on which tests ran before it in its process: xdist hands each worker a different
sequence every run, and CI once failed on a value one test left on a class (the portal's restore-token
problem) that a later test in the same worker read. Every such value is reset here, per test, whatever
the test: module and class attributes the product fills as it runs (remembered secrets, the fake sink's
list, the portal's last token problem), and the process's signal handlers, current directory and umask,
which a command run in-process may change.

What stays for the whole process on purpose, because it only saves time and means the same for every test:
the TLS context (``http._tls_context``, per SSL_CERT_* values), the installed entry points, the loaded local
models (per model path and settings), the portal's event-loop thread, the formatters' compiled rules.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator

import pytest

#: The handlers a command run in-process may install (the recorder's stop signals, the daemon's) and restore.
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import importlib

    from voice_transcriber.testing.fakes import ListSink

    redact = importlib.import_module("voice_transcriber.redact")  # the module (the package exports its function)
    monkeypatch.setattr(redact, "_secrets", set())  # secrets a config of another test named
    monkeypatch.setattr(ListSink, "delivered", [])
    portal = sys.modules.get("voice_transcriber_clipboard.portal")  # not imported for tests that never use it
    if portal is not None:
        monkeypatch.setattr(portal._Shared, "token_problem", None)
    handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}
    cwd = os.getcwd()
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        yield
    finally:
        os.umask(umask)
        os.chdir(cwd)
        for sig, handler in handlers.items():
            if handler is not None and signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)
