#!/usr/bin/python3
"""qr_decode.py FILE: turn the half-block QR code that `pcp send --qr`
drew into FILE back into an image (each module 8x8 pixels) and print what
zbarimg, an independent decoder, reads in it."""
import re
import subprocess
import sys
import tempfile

text = open(sys.argv[1], encoding="utf-8").read()
rows = []
for line in text.splitlines():
    if "\x1b[30;107m" not in line:
        continue
    cells = re.sub(r"\x1b\[[0-9;]*m", "", line)
    top = [c in "\u2588\u2580" for c in cells]
    bot = [c in "\u2588\u2584" for c in cells]
    rows += [top, bot]
if not rows:
    sys.exit("no QR code in " + sys.argv[1])
scale, width = 8, max(len(r) for r in rows)
pixels = bytearray()
for r in rows:
    line = bytearray()
    for x in range(width):
        line += bytes([0 if x < len(r) and r[x] else 255]) * scale
    pixels += bytes(line) * scale
with tempfile.NamedTemporaryFile(suffix=".pgm") as f:
    f.write(b"P5 %d %d 255\n" % (width * scale, len(rows) * scale) + bytes(pixels))
    f.flush()
    out = subprocess.run(["zbarimg", "--quiet", "--raw", f.name], capture_output=True, text=True)
    sys.stdout.write(out.stdout)
    sys.exit(out.returncode)
