"""The report opens in a real browser: headless Chromium renders it to a PNG,
and the picture is checked for ink, for the red of the violation markers and
for the blue of the right pointers.

Chromium comes from the distribution's packages. If it is missing, the test
installs it (`apt-get install chromium`) only when running as root with CI or
DHTEA_INSTALL_BROWSER set; otherwise, or if that fails, it is skipped and says
why. The PNG is decoded here with zlib and struct: no imaging library needed.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from dhtea.show.report import write_report

CASE = Path(__file__).parents[1] / "counterexamples" / "classic-3-gap-exclusive.trace.json"
BROWSERS = ("chromium", "chromium-browser")
INSTALL_TIMEOUT = 300  # seconds, for apt-get update and install together


def find_browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def install_browser() -> str:
    """Try to install chromium; return why it is still missing ('' if it is there now)."""
    if os.environ.get("CI") is None and os.environ.get("DHTEA_INSTALL_BROWSER") is None:
        return "set CI=1 or DHTEA_INSTALL_BROWSER=1 to let the test install it with apt-get"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "installing it needs root (apt-get install -y chromium)"
    if shutil.which("apt-get") is None:
        return "there is no apt-get to install it with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):  # recommends: fonts
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                return f"`{' '.join(cmd)}` failed: {last}"
    except subprocess.TimeoutExpired:
        return f"installing it took longer than {INSTALL_TIMEOUT} s"
    return "" if find_browser() else "apt-get installed no chromium binary"


@pytest.fixture(scope="module")
def browser() -> str:
    found = find_browser()
    if found is None:
        why = install_browser()
        found = find_browser()
        if found is None:
            pytest.skip(f"no headless Chromium to open the report in ({why})")
    return found


def screenshot(browser: str, page: Path, png: Path, profile: Path) -> None:
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1280,2000", page.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert png.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-500:]}"


# -- a tiny PNG reader ------------------------------------------------------------


def read_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG kind {header}"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = rows[-1]
    return width, height, bpp, rows


def pixel_counts(rows: list[bytes], bpp: int) -> dict[str, int]:
    """How many pixels are ink (clearly darker than the paper), red, and blue."""
    counts = {"all": 0, "ink": 0, "red": 0, "blue": 0}
    for row in rows:
        for i in range(0, len(row), bpp):
            r, g, b = row[i], row[i + 1], row[i + 2]
            counts["all"] += 1
            if min(r, g, b) < 200:
                counts["ink"] += 1
            if r > 180 and g < 90 and b < 90:
                counts["red"] += 1
            if b > 180 and r < 90 and g < 150:
                counts["blue"] += 1
    return counts


def test_png_reader_reads_what_it_is_given():
    rows = [bytes([255, 0, 0, 10, 20, 30]), bytes([0, 0, 255, 200, 200, 200])]
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw))
    assert read_png(png) == (2, 2, 3, rows)
    assert pixel_counts(rows, 3) == {"all": 4, "ink": 3, "red": 1, "blue": 1}


def test_report_renders_in_headless_chromium(browser, tmp_path):
    page = write_report([CASE], tmp_path / "gap.html")
    png = tmp_path / "gap.png"
    screenshot(browser, page, png, tmp_path / "profile")
    width, height, bpp, rows = read_png(png.read_bytes())
    assert (width, height) == (1280, 2000)
    counts = pixel_counts(rows, bpp)
    ink = counts["ink"] / counts["all"]
    assert ink > 0.02, f"the page looks blank: only {ink:.2%} of it has ink"
    assert counts["red"] > 500, "no red: the violation markers (red pointers, band, outline) did not render"
    assert counts["blue"] > 200, "no blue: the right pointers of the ring pictures did not render"
