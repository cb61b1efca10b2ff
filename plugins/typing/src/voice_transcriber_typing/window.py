"""Active-window detection for profiles and paste chords.

The implementation lives in the clipboard distribution (the paste chord needs it, and this
package depends on that one); it is re-exported here as the documented place to import it:

    from voice_transcriber_typing.window import WindowInfo, active_window
    window = active_window()          # None when the desktop does not say
    if window and window.matches("kitty"): ...
"""

from voice_transcriber_clipboard.window import WindowInfo, active_window

__all__ = ["WindowInfo", "active_window"]
