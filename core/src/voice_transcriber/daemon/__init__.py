"""The warm daemon: ``voice-transcriber daemon`` keeps plugins imported and backends ready.

Hotkey commands (``toggle``, ``start``, ``stop``, ``cancel``) reach it through a Unix socket
in the runtime directory and fall back to today's background recorder when no daemon runs.

* :mod:`.protocol` — the socket, the line-delimited JSON messages, the peer-credential check;
* :mod:`.client` — the sending side, stdlib only: it runs before the CLI is imported;
* :mod:`.admin` — ``daemon status|stop|reload`` (and a second ``daemon``), answered before the CLI is imported;
* :mod:`.server` — the listening side: one thread per connection, one recording at a time;
* :mod:`.dictation` — one recording and its pipeline run in a worker thread;
* :mod:`.live_config` — config.json reloaded when it changes (a broken one keeps the last good);
* :mod:`.preroll` — the optional ring buffer that keeps the words spoken just before the hotkey.
"""
