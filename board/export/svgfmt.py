"""
Numbers, paints and text as SVG attribute and character data, shared by the export's renderers.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

#: Characters XML 1.0 does not allow (its `Char` production): C0 controls but tab, LF and CR,
#: lone surrogates, U+FFFE and U+FFFF. One of them makes the whole SVG malformed.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def num(v: float) -> str:
    """
    Format a coordinate: ints as is, floats to 2 decimals without trailing zeros.
    """
    if type(v) is int:
        return str(v)
    r = round(v, 2)
    # repr is the shortest exact form (38.85, not 38.850000000000001); -0.0 prints as 0.
    return str(int(r)) if r.is_integer() else repr(r)


def qnum(v: float) -> str:
    """
    A number as a quoted XML attribute value (numbers need no escaping).
    """
    return f'"{num(v)}"'


def paint(color: str | None) -> str:
    """
    A colour (or none) as a quoted XML attribute value.
    """
    return quoteattr(color or "none")


def xml_text(text: str) -> str:
    """
    Return `text` without the characters XML 1.0 does not allow.

    Whatever input validation refuses, elements stored before it may still hold them, and an
    export must not fail for everyone until such an element is deleted (issue 15 finding 7).
    Removed rather than replaced by U+FFFD: they have no glyph, so a box would draw what was
    never seen.
    """
    return _NOT_XML_CHAR.sub("", text)
