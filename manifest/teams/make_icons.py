"""Draw the Teams app icons without any imaging library: ``python manifest/teams/make_icons.py``.

``color.png`` is 192×192, the accent colour with a white speech bubble; ``outline.png`` is 32×32,
the same bubble in white on a transparent background (what Teams asks of outline icons).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ACCENT = (0x1F, 0x6F, 0xB2, 0xFF)
WHITE = (0xFF, 0xFF, 0xFF, 0xFF)
CLEAR = (0, 0, 0, 0)
HERE = Path(__file__).parent


def _inside_bubble(x: float, y: float) -> bool:
    """A rounded speech bubble with a tail, in a unit square (0..1)."""
    cx, cy, rx, ry = 0.5, 0.44, 0.34, 0.26
    in_body = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1
    in_tail = 0.30 <= x <= 0.46 and 0.62 <= y <= 0.84 and (y - 0.62) <= (0.46 - x) * 1.4
    return in_body or in_tail


def _inside_dots(x: float, y: float) -> bool:
    return any(((x - dx) ** 2 + (y - 0.44) ** 2) <= 0.045**2 for dx in (0.36, 0.5, 0.64))


def _pixels(size: int, background: tuple[int, ...], with_dots: bool) -> list[list[tuple[int, ...]]]:
    rows = []
    for j in range(size):
        row = []
        for i in range(size):
            x, y = (i + 0.5) / size, (j + 0.5) / size
            shape = _inside_bubble(x, y) and not (with_dots and _inside_dots(x, y))
            dot_colour = ACCENT if background != CLEAR else CLEAR
            row.append(WHITE if shape else (dot_colour if _inside_bubble(x, y) else background))
        rows.append(row)
    return rows


def write_png(path: Path, rows: list[list[tuple[int, ...]]]) -> None:
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)


def main() -> None:
    write_png(HERE / "color.png", _pixels(192, ACCENT, with_dots=True))
    write_png(HERE / "outline.png", _pixels(32, CLEAR, with_dots=False))


if __name__ == "__main__":
    main()
