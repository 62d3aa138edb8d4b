#!/usr/bin/env python3
"""Reads a picture of `sparta show --png` and prints, for each head's panel,
how many of its pixels are dark (luminance below 160: the allowed pairs) and
how many pixels of text its label above it holds. Decodes the PNG itself
(zlib and the five row filters), so it needs nothing beyond Python.

    png_panels.py FILE.png PANELS
"""
import struct
import sys
import zlib

# The layout of ShowCommand.cpp's picture.
MARGIN, GAP, BORDER, LABEL_HEIGHT = 8, 16, 1, 20
LABEL_INK = (40, 40, 40)


def read_rgb(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color == 2, "expected 8-bit RGB"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride, rows, prev = width * 3, [], bytearray(width * 3)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, rows


def main():
    path, panels = sys.argv[1], int(sys.argv[2])
    width, height, rows = read_rgb(path)
    size = (width - 2 * MARGIN - (panels - 1) * GAP) // panels - 2 * BORDER
    print(f"size {size}")
    for k in range(panels):
        x0 = MARGIN + k * (size + 2 * BORDER + GAP)
        y0 = MARGIN + LABEL_HEIGHT
        label = sum(1 for y in range(MARGIN, y0) for x in range(x0, x0 + size)
                    if tuple(rows[y][3 * x:3 * x + 3]) == LABEL_INK)
        dark = 0
        for y in range(y0 + BORDER, y0 + BORDER + size):
            row = rows[y]
            for x in range(x0 + BORDER, x0 + BORDER + size):
                r, g, b = row[3 * x], row[3 * x + 1], row[3 * x + 2]
                if 0.299 * r + 0.587 * g + 0.114 * b < 160:
                    dark += 1
        print(f"panel {k}: label {label} dark {dark}")


if __name__ == "__main__":
    main()
