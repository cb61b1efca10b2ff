"""The tray's icons, drawn in code: a coloured disc per state with a white glyph, as SNI pixmaps.

StatusNotifierItem pixmaps are ``a(iiay)``: width, height and ARGB32 pixels in network byte
order (A, R, G, B per pixel, row after row). Shapes are anti-aliased by supersampling; each
(state, size) is drawn once, on first use. Themed icon names are offered too
(:data:`THEMED`), for hosts and users who prefer their icon theme (``tray.themeIcons``).
"""

from __future__ import annotations

import math
from functools import cache

#: State → disc colour (R, G, B) and glyph.
STYLES: dict[str, tuple[tuple[int, int, int], str]] = {
    "idle": ((0x5f, 0x63, 0x68), "mic"),
    "recording": ((0xe0, 0x1b, 0x24), "mic"),
    "transcribing": ((0xe5, 0xa5, 0x0a), "dots"),
    "delivered": ((0x26, 0xa2, 0x69), "check"),
    "error": ((0x8b, 0x0e, 0x0e), "bang"),
}
#: Freedesktop icon-naming-spec names for the same states.
THEMED = {"idle": "audio-input-microphone", "recording": "media-record", "transcribing": "view-refresh",
          "delivered": "emblem-ok", "error": "dialog-error"}
SIZES = (16, 24, 32, 48)
SAMPLES = 3  # per axis, per pixel


def _in_capsule(x: float, y: float, cx: float, top: float, bottom: float, radius: float) -> bool:
    """A vertical stadium: a segment from (cx, top) to (cx, bottom) thickened by ``radius``."""
    ny = min(max(y, top), bottom)
    return (x - cx) ** 2 + (y - ny) ** 2 <= radius * radius


def _in_segment(x: float, y: float, a: tuple[float, float], b: tuple[float, float], width: float) -> bool:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    px, py = ax + t * dx, ay + t * dy
    return (x - px) ** 2 + (y - py) ** 2 <= (width / 2) ** 2


def _glyph(kind: str, x: float, y: float) -> bool:
    """Whether the point (unit square, y down) is inside the white glyph."""
    if kind == "mic":
        if _in_capsule(x, y, 0.5, 0.30, 0.46, 0.11):  # the head
            return True
        r = math.hypot(x - 0.5, y - 0.47)  # the cradle: lower half ring
        if y >= 0.47 and 0.17 <= r <= 0.22:
            return True
        return _in_segment(x, y, (0.5, 0.67), (0.5, 0.76), 0.05) or _in_segment(x, y, (0.40, 0.77), (0.60, 0.77), 0.05)
    if kind == "dots":
        return any((x - cx) ** 2 + (y - 0.5) ** 2 <= 0.075 ** 2 for cx in (0.29, 0.5, 0.71))
    if kind == "check":
        return _in_segment(x, y, (0.28, 0.52), (0.43, 0.67), 0.1) or _in_segment(x, y, (0.43, 0.67), (0.73, 0.35), 0.1)
    if kind == "bang":
        return _in_segment(x, y, (0.5, 0.25), (0.5, 0.57), 0.12) or (x - 0.5) ** 2 + (y - 0.72) ** 2 <= 0.07 ** 2
    return False


@cache
def pixmap(state: str, size: int) -> bytes:
    """``size``×``size`` ARGB32 (network byte order) pixels of the icon for ``state``."""
    (red, green, blue), kind = STYLES[state]
    out = bytearray()
    step = 1.0 / (size * SAMPLES)
    for row in range(size):
        for col in range(size):
            disc = glyph = 0
            for sy in range(SAMPLES):
                y = (row * SAMPLES + sy + 0.5) * step
                for sx in range(SAMPLES):
                    x = (col * SAMPLES + sx + 0.5) * step
                    if (x - 0.5) ** 2 + (y - 0.5) ** 2 <= 0.47 ** 2:
                        disc += 1
                        glyph += _glyph(kind, x, y)
            total = SAMPLES * SAMPLES
            alpha = disc / total
            if not disc:
                out += b"\0\0\0\0"
                continue
            white = glyph / disc  # the glyph's share of the covered samples
            pixel = [round(channel + (255 - channel) * white) for channel in (red, green, blue)]
            out += bytes([round(alpha * 255), *pixel])
    return bytes(out)


def pixmaps(state: str) -> list[list]:
    """Every size of ``state``'s icon, as the ``a(iiay)`` value of IconPixmap."""
    return [[size, size, pixmap(state, size)] for size in SIZES]


def png(state: str, size: int) -> bytes:
    """The icon as a PNG (for the docs and the autostart entry), written with zlib only."""
    import struct
    import zlib

    raw = pixmap(state, size)
    rows = b"".join(b"\0" + b"".join(raw[i + 1:i + 4] + raw[i:i + 1] for i in range(r * size * 4, (r + 1) * size * 4, 4))
                    for r in range(size))  # ARGB → RGBA, filter byte 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
