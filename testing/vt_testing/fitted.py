"""A fitted window that hears more than was said: for tests of what the local backend does with a decode in
the window fitted to its audio (``local_decode.fitted_window``) that loops or repeats itself."""

from __future__ import annotations

import dataclasses


def fitted_decodes_ending_with(monkeypatch, words: str) -> list[int]:
    """From now on, every decode in a fitted window ends with ``words`` added to its last segment (a loop such as
    "and, and, and", a sentence said again), whatever this CPU's tiny.en heard; Whisper's 30 s window is left
    alone. Returns the list the number of segments of each such decode is appended to."""
    from voice_transcriber_backends import local_decode, whisper_window

    fitted_window, fitted = local_decode.fitted_window, []

    def adding_window(whisper, margin=whisper_window.WINDOW_MARGIN):
        view = fitted_window(whisper, margin)
        transcribe = view.transcribe

        def adding(*args, **kwargs):
            found, info = transcribe(*args, **kwargs)
            found = list(found)
            fitted.append(len(found))
            if found:
                found[-1] = dataclasses.replace(found[-1], text=f"{found[-1].text} {words}")
            return iter(found), info

        view.transcribe = adding
        return view

    monkeypatch.setattr(local_decode, "fitted_window", adding_window)
    return fitted
