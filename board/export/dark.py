"""
Dark mode colours: the one rule the dark canvas and dark exports share.

The browser shows the board dark by drawing it as always and putting the CSS filter
`invert(93%) hue-rotate(180deg)` over the canvas (frontend/src/ui/theme.ts, Excalidraw's way):
dark ink on white becomes light ink on near-black while hues stay recognisable, and stored
colours never change. An export with `dark=1` applies the same filter to each colour here rather
than as an SVG filter: both maps are affine per channel, so mapping each colour and then blending
by opacity gives what blending and then filtering gives, and the SVG stays readable by programs
without filter support.
"""

from __future__ import annotations

import re
from typing import Any

#: Share of the inversion: white becomes #121212 rather than black, as in Excalidraw.
INVERT = 0.93
#: hue-rotate(180deg) of the Filter Effects spec (cos = -1, sin = 0), rows R, G, B.
HUE_ROTATE_180 = (
    (-0.574, 1.43, 0.144),
    (0.426, 0.43, 0.144),
    (0.426, 1.43, -0.856),
)

_is_color = re.compile(r"#[0-9a-fA-F]{6}").fullmatch


def dark_color(color: str) -> str:
    """
    `#rrggbb` as the dark canvas shows it (anything else, e.g. a missing fill, unchanged).
    """
    if not _is_color(color):
        return color
    inverted = [
        (1 - c) * INVERT + c * (1 - INVERT)
        for c in (int(color[k : k + 2], 16) / 255 for k in (1, 3, 5))
    ]
    out = []
    for row in HUE_ROTATE_180:
        v = sum(m * c for m, c in zip(row, inverted, strict=True))
        out.append(round(min(1.0, max(0.0, v)) * 255))
    return "#{:02x}{:02x}{:02x}".format(*out)


def dark_element(el: dict[str, Any]) -> dict[str, Any]:
    """
    A copy of `el` whose style colours are dark_color's (the stored element is not touched).
    """
    style = {k: dark_color(v) if isinstance(v, str) else v for k, v in el["style"].items()}
    return {**el, "style": style}
