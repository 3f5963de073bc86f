#!/usr/bin/env python3
"""Print the share of non-white pixels of a PNG and fail (exit 1) below a threshold.

Usage: png_ink.py FILE.png [MIN_SHARE]   (default 0.005)

Python 3 standard library only: zlib inflates the IDAT stream and the five PNG row filters
(None, Sub, Up, Average, Paeth; PNG spec, W3C 2003, section 9) are undone by hand. Handles 8-bit
greyscale, RGB, grey+alpha and RGBA, non-interlaced — what Chromium's screenshots are.
"""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise SystemExit(f"{path}: unsupported PNG (depth {depth}, colour {colour}, interlace {interlace})")
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    rows = []
    i = 0
    for _ in range(height):
        f = raw[i]
        line = bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def main():
    path = sys.argv[1]
    minimum = float(sys.argv[2]) if len(sys.argv) > 2 else 0.005
    width, height, channels, rows = pixels(path)
    colour = min(channels, 3) if channels != 2 else 1
    ink = 0
    for row in rows:
        for x in range(0, len(row), channels):
            if any(v < 245 for v in row[x : x + colour]):
                ink += 1
    share = ink / (width * height)
    print(f"{path}: {width}x{height}, non-white share {share:.4f}")
    if share < minimum:
        print(f"{path}: blank (non-white share {share:.4f} < {minimum})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
