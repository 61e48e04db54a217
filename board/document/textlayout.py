"""
Text layout shared by the canvas and the exports: character widths, word wrapping, label boxes.

Neither side can measure the real font the other uses (the server has no browser fonts, the
browser's fonts differ per machine), so where a line breaks is decided by a fixed table of
advance widths instead of by measurement. The browser runs the same rules
(frontend/src/canvas/text-layout.ts) and tests/frontend/test_text_layout_parity.py checks that
both give the same lines for the same input: text wraps identically on every canvas and in
every export. Widths are integers (hundredths of an em, then a per-font percentage), so every
comparison is exact on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Distance between baselines in multiples of the font size.
LINE_HEIGHT = 1.25
#: Font families a `style.font` may name; absent = "hand".
FONTS = ("hand", "sans", "serif", "mono")
DEFAULT_FONT = "hand"
#: Element types that carry an optional label (`text`, `size`, `align`), drawn centred inside.
LABELLED_TYPES = frozenset({"rect", "ellipse", "diamond", "note"})
ALIGNS = ("left", "center", "right")
#: Space between a rect's (or note's) border and its label, world units, each side.
LABEL_PAD = 8
#: Label size when a box shape's label has none yet (the text tool's default).
DEFAULT_LABEL_SIZE = 24

#: Per-font scale of the table below, percent (a handwriting face runs wider than a sans).
_FONT_SCALE = {"hand": 110, "sans": 100, "serif": 95, "mono": 100}
#: Advance widths in hundredths of an em, by ASCII character, for the proportional fonts.
_NARROW = dict.fromkeys("ijlI|!.,:;'`", 28)
_SEMI = dict.fromkeys('frt()[]{}/\\-"', 38)
_WIDE = dict.fromkeys("mwMW@%", 88)
_SPACE = 28


def _ascii_units(c: str) -> int:
    if c == " ":
        return _SPACE
    if c in _NARROW:
        return _NARROW[c]
    if c in _SEMI:
        return _SEMI[c]
    if c in _WIDE:
        return _WIDE[c]
    if "A" <= c <= "Z":
        return 68
    if "a" <= c <= "z":
        return 54
    if "0" <= c <= "9":
        return 56
    return 50


_PROPORTIONAL = [_ascii_units(chr(n)) for n in range(128)]

#: Code point ranges drawn a full em wide (CJK, Hangul, full-width forms, emoji).
_WIDE_RANGES = (
    (0x1100, 0x115F),
    (0x2E80, 0xA4CF),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFF60),
    (0xFFE0, 0xFFE6),
    (0x1F300, 0x1FAFF),
    (0x20000, 0x3FFFD),
)


def char_units(code: int, font: str) -> int:
    """
    Advance width of one code point in hundredths of an em, before the font's scale.
    """
    if 0x300 <= code <= 0x36F or 0x200B <= code <= 0x200D or 0xFE00 <= code <= 0xFE0F:
        return 0  # combining marks, zero-width joiners, variation selectors
    wide = code >= 0x1100 and any(lo <= code <= hi for lo, hi in _WIDE_RANGES)
    if font == "mono":
        return 120 if wide else 60
    if code < 128:
        return _PROPORTIONAL[code]
    return 100 if wide else 60


def font_of(el: Mapping[str, Any]) -> str:
    """
    The element's font family name (one of FONTS): `style.font`, or the default.
    """
    font = el["style"].get("font")
    return font if font in _FONT_SCALE else DEFAULT_FONT


def text_units(text: str, font: str) -> int:
    """
    The width of `text` in hundredths of an em times the font's percentage (1e-4 em).
    """
    return sum(char_units(ord(c), font) for c in text) * _FONT_SCALE[font]


def line_width(text: str, size: int, font: str) -> float:
    """
    The estimated width of one line of `text` at font size `size`, world units.
    """
    return text_units(text, font) * size / 10_000


def paragraphs(text: str) -> list[str]:
    """
    Split element text into hard lines (CR, LF or CRLF end a line).
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _break_word(word: str, size: int, limit: int, font: str, out: list[str]) -> str:
    # A word wider than the line is cut between characters, at least one per line.
    while len(word) > 1 and text_units(word, font) * size > limit:
        k, used = 0, 0
        scale = _FONT_SCALE[font]
        while k < len(word):
            step = char_units(ord(word[k]), font) * scale
            if k > 0 and (used + step) * size > limit:
                break
            used += step
            k += 1
        if k >= len(word):
            break
        out.append(word[:k])
        word = word[k:]
    return word


def wrap_paragraph(par: str, size: int, width: int, font: str) -> list[str]:
    """
    Greedy word wrap of one hard line to `width` world units: break at spaces (the space that
    breaks is dropped), cut a word that alone is too wide between characters.
    """
    limit = width * 10_000
    space = char_units(32, font) * _FONT_SCALE[font]
    out: list[str] = []
    cur, cur_units, started = "", 0, False
    for word in par.split(" "):
        units = text_units(word, font)
        if started:
            if (cur_units + space + units) * size <= limit:
                cur += " " + word
                cur_units += space + units
                continue
            out.append(cur)
        started = True
        word = _break_word(word, size, limit, font, out)
        cur, cur_units = word, text_units(word, font)
    out.append(cur)
    return out


def layout_lines(text: str, size: int, width: int | None, font: str) -> list[str]:
    """
    The display lines of `text`: its hard lines, each wrapped to `width` when one is given.
    """
    pars = paragraphs(text)
    if width is None:
        return pars
    return [line for par in pars for line in wrap_paragraph(par, size, width, font)]


def label_width(el: Mapping[str, Any]) -> int:
    """
    The wrap width of a box shape's label: what fits inside the shape, at least 1.
    """
    side = abs(int(el["w"]))
    kind = el["type"]
    if kind == "ellipse":
        inner = side * 70 // 100
    elif kind == "diamond":
        inner = side // 2
    else:
        inner = side - 2 * LABEL_PAD
    return max(1, inner)


def text_box_lines(el: Mapping[str, Any]) -> list[str]:
    """
    The display lines of a text element or of a box shape's label ([] for none).
    """
    text = el.get("text")
    if not text:
        return []
    size = el.get("size", DEFAULT_LABEL_SIZE)
    if el["type"] == "text":
        return layout_lines(text, size, el.get("w"), font_of(el))
    return layout_lines(text, size, label_width(el), font_of(el))


def text_extent(el: Mapping[str, Any]) -> tuple[float, float]:
    """
    (width, height) of a text element's box: its wrap width if set, else its widest line.
    """
    size = el["size"]
    lines = text_box_lines(el) or [""]
    if "w" in el:
        width: float = el["w"]
    else:
        font = font_of(el)
        width = max(line_width(line, size, font) for line in lines)
    return width, len(lines) * size * LINE_HEIGHT
