"""voice-transcriber's desktop plugins, one entry point each.

- ``notify`` (:mod:`.notifications`): one notification bubble per run, updated in place.
- ``launcher`` (:mod:`.launcher`): ``voice-transcriber rofi`` for rofi, dmenu, wofi, fuzzel.
"""
