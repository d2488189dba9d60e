#!/usr/bin/env python3
"""Writes Fixtures/seal-imprint.png: a small red company-seal imprint (a ring around a five-pointed
star) for `sealsim personalize --feature-image`. The seal's physical-feature hash is the SHA-256 of
this file, so the output is deterministic: same bytes on every run. Standard library only.

    python3 Fixtures/seal-imprint.py            # rewrites Fixtures/seal-imprint.png
"""
import math
import os
import struct
import zlib

SIZE = 96
RED = (200, 16, 32)


def inside_star(x, y, cx, cy, outer, inner):
    """Whether (x, y) lies in a five-pointed star centred at (cx, cy), one point up."""
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    crossings = 0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            crossings += 1
    return crossings % 2 == 1


def pixel(x, y):
    cx = cy = (SIZE - 1) / 2
    distance = math.hypot(x - cx, y - cy)
    if 40 <= distance <= 45 or inside_star(x, y, cx, cy, 22, 9):
        return RED + (255,)
    return (255, 255, 255, 0)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png():
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(SIZE)) for y in range(SIZE))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seal-imprint.png")
    with open(path, "wb") as out:
        out.write(png())
    print(path)
