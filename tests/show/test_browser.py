"""The report opens in a real browser: headless Chromium renders it to a PNG,
and the picture is checked for ink, for the red of the violation markers and
for the blue of the right pointers. The stepper is driven with key presses
(dispatched by a script added to a copy of the page, then the page is
screenshot or its DOM dumped): the ring picture changes, the yellow mark moves
down the sequence diagram, and the marked row, arrow and timeline line are
those of the event the keys lead to.

Chromium comes from the distribution's packages. If it is missing, the test
installs it (`apt-get install chromium`) only when running as root with CI or
DHTEA_INSTALL_BROWSER set; otherwise, or if that fails, it is skipped and says
why. The PNG is decoded here with zlib and struct: no imaging library needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from dhtea.search.continuing import continue_to_rest
from dhtea.show.report import write_report
from dhtea.traces.serial import read_trace

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


def chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def screenshot(browser: str, page: Path, png: Path, profile: Path, size: str = "1280,2000") -> None:
    done = chromium(browser, profile, f"--screenshot={png}", f"--window-size={size}", page.resolve().as_uri())
    assert png.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-500:]}"


def dump_dom(browser: str, page: Path, profile: Path) -> str:
    done = chromium(browser, profile, "--dump-dom", page.resolve().as_uri())
    assert "<html" in done.stdout, f"chromium dumped no DOM (exit {done.returncode}): {done.stderr[-500:]}"
    return done.stdout


def pressing(page: Path, keys: list[str], out: Path) -> Path:
    """A copy of `page` that presses `keys` once loaded, as a reader would on the page.
    The verdict and the static pictures are hidden, so the stepper and the diagram
    fit a small (quick to decode) screenshot."""
    press = "".join(f"document.dispatchEvent(new KeyboardEvent('keydown',{{key:'{k}',bubbles:true}}));" for k in keys)
    text = page.read_text(encoding="utf-8").replace("</style>", ".verdict,.rings,.legend,h1,.sub{display:none}</style>")
    out.write_text(text.replace("</body>", f"<script>{press}</script>\n</body>"), encoding="utf-8")
    return out


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


# -- the stepper -------------------------------------------------------------------------


def yellow_rows(rows: list[bytes], bpp: int) -> list[int]:
    """The y of every pixel row where the stepper's yellow mark shows (a wide run of it)."""
    found = []
    for y, row in enumerate(rows):
        n = 0
        for i in range(0, len(row), 2 * bpp):  # every other pixel is enough for a band this wide
            r, g, b = row[i], row[i + 1], row[i + 2]
            if r > 225 and 150 < g < 245 and b < 185 and r - b > 60:
                n += 1
        if n > 150:
            found.append(y)
    return found


# After each key, what the stepper marks: the diagram's band, the arrows, the
# timeline line, the ring state and the step text shown, and the slider.
RECORD = """
function marks(){
 function all(sel,attr){return [].map.call(document.querySelectorAll(sel),function(e){return e.getAttribute(attr);});}
 return {band:all('.cursor.on','data-seq'),line:all('.tl.on','data-seq'),
  arrows:[].map.call(document.querySelectorAll('.message.on'),function(e){return [e.dataset.send,e.dataset.deliver||null];}),
  ring:all('.step-ring:not([hidden])','data-state'),info:all('.step-info:not([hidden])','data-seq'),
  slider:document.querySelector('.step-slider').value};
}
var log=[marks()];
KEYS.forEach(function(k){document.dispatchEvent(new KeyboardEvent('keydown',{key:k,bubbles:true}));log.push(marks());});
var pre=document.createElement('pre');pre.id='steplog';pre.textContent=JSON.stringify(log);document.body.appendChild(pre);
"""


def recorded(browser: str, page: Path, keys: list[str], folder: Path) -> list[dict]:
    copy = folder / "record.html"
    script = RECORD.replace("KEYS", json.dumps(keys))
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", f"<script>{script}</script>\n</body>"), encoding="utf-8")
    dom = dump_dom(browser, copy, folder / "profile")
    found = re.search(r'<pre id="steplog">(.*?)</pre>', dom, re.S)
    assert found, "the recording script did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture(scope="module")
def stepper_page(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("stepper")
    return write_report([CASE], folder / "gap.html", continue_run=continue_to_rest)


def test_arrow_keys_step_the_ring_and_move_the_mark_down(browser, stepper_page, tmp_path):
    shots = {}
    for presses in (0, 3, 8):
        page = pressing(stepper_page, ["ArrowRight"] * presses, tmp_path / f"keys{presses}.html")
        png = tmp_path / f"keys{presses}.png"
        screenshot(browser, page, png, tmp_path / "profile", "1100,1250")
        width, height, bpp, rows = read_png(png.read_bytes())
        shots[presses] = (rows, bpp)
    before, three, eight = (shots[k][0] for k in (0, 3, 8))
    bpp = shots[0][1]
    assert before != three != eight, "pressing → did not change the page"
    assert yellow_rows(before, bpp) == [], "a step is marked before any key was pressed"
    at3, at8 = yellow_rows(three, bpp), yellow_rows(eight, bpp)
    assert at3 and at8, "no yellow mark in the sequence diagram after pressing →"
    assert min(at8) > max(at3), f"the mark did not move down: rows {at3[0]}-{at3[-1]} then {at8[0]}-{at8[-1]}"
    # the ring picture of the stepper (top left of its panel, above the diagram) is redrawn
    top = min(at3) - 40
    assert any(a != b for a, b in zip(before[:top], eight[:top])), "the ring picture did not change"


def test_the_event_the_keys_lead_to_is_the_one_marked(browser, stepper_page, tmp_path):
    tf = read_trace(CASE)
    events = tf.events + continue_to_rest(tf).events
    last = events[-1].seq
    keys = ["ArrowRight"] * 5 + ["ArrowLeft"] + ["ArrowRight"] * 4 + ["End", "ArrowRight", "Home", "ArrowLeft"]
    expected = [-1, 0, 1, 2, 3, 4, 3, 4, 5, 6, 7, last, last, -1, -1]  # the step after each key (clamped at the ends)
    page = stepper_page.read_text(encoding="utf-8")
    states = json.loads(re.search(r'data-states="([^"]*)"', page).group(1).replace("&quot;", '"'))
    log = recorded(browser, stepper_page, keys, tmp_path)
    assert len(log) == len(expected)
    for key, seq, got in zip(["(none)"] + keys, expected, log):
        where = f"after {key}, expecting event #{seq}: {got}"
        assert got["info"] == [str(seq)] and got["slider"] == str(seq), where
        assert got["ring"] == [str(states[seq + 1])], where
        if seq < 0:
            assert got["band"] == got["line"] == got["arrows"] == [], where
            continue
        event = events[seq]
        assert got["band"] == [str(seq)] and got["line"] == [str(seq)], where
        arrows = [tuple(a) for a in got["arrows"]]
        if event.kind == "send":
            assert [a[0] for a in arrows] == [str(seq)], where
        elif event.kind == "deliver":
            assert [a[1] for a in arrows] == [str(seq)], where
        else:
            assert arrows == [], where
    # the violation's step shows the red outline picture, and the end the split ring of the continued run
    assert log[expected.index(7)]["ring"] != log[expected.index(6)]["ring"]


MEASURE = """
var out=[];
document.querySelectorAll('svg text').forEach(function(t){
 if(!t.textContent)return;
 out.push([t.textContent,+t.getAttribute('font-size'),t.getAttribute('font-weight')==='bold',
  (t.getAttribute('class')||'').split(' ').indexOf('note')>=0,t.getComputedTextLength()]);});
var pre=document.createElement('pre');pre.id='widths';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);
"""


def test_text_widths_the_label_layout_assumes_hold_in_the_browser(browser, stepper_page, tmp_path):
    """The boxes that keep labels apart (test_labels.py) are only as good as
    `svg.text_width`: Chromium's own measure of every text must fit in it."""
    from dhtea.show import svg

    copy = tmp_path / "measure.html"
    copy.write_text(stepper_page.read_text(encoding="utf-8").replace("</body>", f"<script>{MEASURE}</script>\n</body>"),
                    encoding="utf-8")
    dom = dump_dom(browser, copy, tmp_path / "profile")
    found = re.search(r'<pre id="widths">(.*?)</pre>', dom, re.S)
    assert found, "the measuring script did not run"
    texts = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert len(texts) > 100
    too_wide = [(words, real, svg.text_width(words, size, mono, bold)) for words, size, bold, mono, real in texts
                if real > svg.text_width(words, size, mono, bold) + 0.5]
    assert not too_wide, f"{len(too_wide)} text(s) wider than assumed, e.g. {too_wide[:3]}"
