"""Shaped text on a Pillow image: line breaking, font runs, drawing.

Pillow draws through libraqm (HarfBuzz + FriBiDi), which the Pillow wheels
bundle, so Lao stacked marks and Khmer subscript consonants come out as their
fonts intend. Without libraqm Pillow's basic layout would draw Khmer wrongly
without any error, so we refuse to render at all (`require_raqm`).

Line breaks: after spaces and zero-width spaces, around Chinese ideographs
(not before closing punctuation), and after hyphens. Lao and Khmer are written
without spaces between words; a phrase longer than a line is broken between
syllables (HarfBuzz clusters), never inside one. Authors may put U+200B between
words for nicer breaks.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import uharfbuzz as hb
from PIL import ImageDraw, ImageFont, features

from kiosk.text.fonts import FontChain, FontError, FontFace, _hb_font

NO_BREAK_BEFORE = set("。，、．：；！？）」』】》〉〕,.:;!?)]}%、・ー…")
NO_BREAK_AFTER = set("（「『【《〈〔([{")


def require_raqm() -> None:
    if not features.check("raqm"):
        raise FontError(
            "Pillow was built without libraqm: Lao and Khmer cannot be shaped, "
            "so text is not rendered (install Pillow's wheel, which bundles it)"
        )


@functools.lru_cache(maxsize=128)
def pil_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.RAQM)


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x2E80 <= cp <= 0x9FFF  # radicals, kana, CJK symbols, ideographs
        or 0xF900 <= cp <= 0xFAFF
        or 0xFF00 <= cp <= 0xFFEF  # fullwidth forms
        or 0x20000 <= cp <= 0x3FFFF
    )


def break_units(text: str) -> list[tuple[str, str]]:
    """Split a paragraph into (unit, trailing spaces): a line may end after any unit."""
    units: list[list[str]] = []
    cur = ""
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == " " or ch == "\u200b":
            j = i
            while j < n and text[j] in " \u200b":
                j += 1
            units.append([cur, text[i:j].replace("\u200b", "")])
            cur = ""
            i = j
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        cur += ch
        breakable = bool(nxt) and nxt not in " \u200b" and (
            (_is_cjk(ch) or _is_cjk(nxt)) and nxt not in NO_BREAK_BEFORE and ch not in NO_BREAK_AFTER
            or ch == "-" and len(cur) > 1
        )
        if breakable:
            units.append([cur, ""])
            cur = ""
        i += 1
    if cur:
        units.append([cur, ""])
    return [(u, s) for u, s in units if u or s]


def syllables(text: str, face: FontFace, lang: str) -> list[str]:
    """Split text between HarfBuzz clusters (syllables in Lao and Khmer)."""
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    buf.language = lang
    hb.shape(_hb_font(face.path, face.index), buf, {})
    starts = sorted({info.cluster for info in buf.glyph_infos} | {0})
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)]) if text[a:b]]


@dataclass
class Line:
    runs: list[tuple[str, FontFace]]
    width: float


@dataclass
class Laid:
    """A text block laid out at one size: lines, and the metrics to draw them."""

    chain: FontChain
    size: int
    lines: list[Line] = field(default_factory=list)
    ascent: int = 0
    descent: int = 0

    @property
    def line_height(self) -> int:
        return self.ascent + self.descent

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)

    @property
    def width(self) -> float:
        return max((ln.width for ln in self.lines), default=0.0)


def _runs(chain: FontChain, text: str) -> list[tuple[str, FontFace]]:
    runs = chain.runs(text)
    if any(face is None for _, face in runs):
        chain.check(text)  # raises with the language named
    return runs  # type: ignore[return-value]


def measure(chain: FontChain, text: str, size: int) -> float:
    """The exact advance of `text` at `size` (shaped, hinted)."""
    return sum(pil_font(f.path, f.index, size).getlength(t, language=chain.lang) for t, f in _runs(chain, text))


REFERENCE_SIZE = 100


@functools.lru_cache(maxsize=4096)
def _reference_width(chain: FontChain, text: str) -> float:
    return measure(chain, text, REFERENCE_SIZE)


def estimate(chain: FontChain, text: str, size: int) -> float:
    """Advances scale with the size: measure each piece once and scale it.

    Searching the largest size that fits tries many sizes; shaping every
    word at every size made a slide cost most of a second. Lines are then
    measured exactly (see `layout`), so the estimate only decides breaks.
    """
    return _reference_width(chain, text) * size / REFERENCE_SIZE


def layout(text: str, chain: FontChain, size: int, max_width: float) -> Laid | None:
    """Greedy line filling; None when a single syllable is wider than max_width."""
    laid = Laid(chain, size)
    metrics = [pil_font(f.path, f.index, size).getmetrics() for f in chain.faces]
    laid.ascent = max(m[0] for m in metrics)
    laid.descent = max(m[1] for m in metrics)
    for paragraph in text.split("\n"):
        line, width, pending_space = "", 0.0, ""
        units = break_units(paragraph.strip())
        queue = list(units)
        while queue:
            unit, space = queue.pop(0)
            w = estimate(chain, unit, size)
            sw = estimate(chain, pending_space, size) if pending_space and line else 0.0
            if line and width + sw + w <= max_width:
                line, width = line + pending_space + unit, width + sw + w
                pending_space = space
                continue
            if line:
                laid.lines.append(Line(_runs(chain, line), width))
                line, width = "", 0.0
            if w <= max_width:
                line, width, pending_space = unit, w, space
                continue
            # One unit wider than the line: break it between syllables.
            parts = syllables(unit, chain.primary, chain.lang)
            if len(parts) <= 1:
                return None
            head, hw = "", 0.0
            for k, part in enumerate(parts):
                pw = estimate(chain, part, size)
                if head and hw + pw > max_width:
                    rest = "".join(parts[k:])
                    queue.insert(0, (rest, space))
                    break
                if not head and pw > max_width:
                    return None
                head, hw = head + part, hw + pw
            else:
                line, width, pending_space = head, hw, space
                continue
            laid.lines.append(Line(_runs(chain, head), hw))
        if line or not units:
            laid.lines.append(Line(_runs(chain, line) if line else [], width))
    # Hinting rounds each glyph's advance at small sizes: the exact widths are
    # what gets centred, and a line the estimate let through too long fails
    # this size (the search then tries a smaller one).
    for ln in laid.lines:
        ln.width = sum(pil_font(f.path, f.index, size).getlength(t, language=chain.lang) for t, f in ln.runs)
        if ln.width > max_width:
            return None
    return laid


def draw(image_draw: ImageDraw.ImageDraw, laid: Laid, x: float, y: float, width: float,
         align: str, fill) -> tuple[int, int, int, int]:
    """Draw `laid` in the box starting at (x, y); returns the bounding box of the ink."""
    box = [10**9, 10**9, -1, -1]
    for i, line in enumerate(laid.lines):
        if align == "center":
            lx = x + (width - line.width) / 2
        elif align == "right":
            lx = x + width - line.width
        else:
            lx = x
        baseline = y + i * laid.line_height + laid.ascent
        for text, face in line.runs:
            font = pil_font(face.path, face.index, laid.size)
            # getbbox lays the text out without rendering it a second time.
            gx0, gy0, gx1, gy1 = font.getbbox(text, anchor="ls", language=laid.chain.lang)
            bbox = (lx + gx0, baseline + gy0, lx + gx1, baseline + gy1)
            image_draw.text((lx, baseline), text, font=font, anchor="ls", fill=fill, language=laid.chain.lang)
            if bbox[2] > bbox[0]:
                box = [min(box[0], bbox[0]), min(box[1], bbox[1]), max(box[2], bbox[2]), max(box[3], bbox[3])]
            lx += font.getlength(text, language=laid.chain.lang)
    if box[2] < 0:
        return (0, 0, 0, 0)
    return (math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3]))
