"""
Stroke outlines exactly as the canvas draws them: a port of perfect-freehand's `getStroke`
(MIT, Steve Ruiz; the version in frontend/package.json) with the options of
frontend/src/canvas/draw.ts `buildOutline`.

The canvas fills the outline through quadratic curves between the midpoints of its points
(draw.ts `outlinePath`); `outline_path` writes the same path as SVG path data, so an exported
stroke has the canvas's shape: its thinning with speed, its streamlining and its round caps.
Kept as a close port (names and order follow the original) so that it can be compared with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Vec = tuple[float, float]

RATE_OF_PRESSURE_CHANGE = 0.275
FIXED_PI = math.pi + 0.0001
START_CAP_SEGMENTS = 13
END_CAP_SEGMENTS = 29
CORNER_CAP_SEGMENTS = 13
END_NOISE_THRESHOLD = 3
MIN_STREAMLINE_T = 0.15
STREAMLINE_T_RANGE = 0.85
MIN_RADIUS = 0.01
DEFAULT_FIRST_PRESSURE = 0.25
DEFAULT_PRESSURE = 0.5

#: draw.ts buildOutline's options: smoothing, streamline, and thinning by kind of ink.
SMOOTHING = 0.5
STREAMLINE = 0.4
THINNING_PEN = 0.6
THINNING_SIMULATED = 0.25
#: Opacity at or below which a stroke is highlighter ink: no thinning (draw.ts).
HIGHLIGHTER_MAX_OPACITY = 0.5


@dataclass(slots=True)
class _Point:
    point: Vec
    pressure: float
    vector: Vec
    distance: float
    running: float


def _rot(a: Vec, c: Vec, r: float) -> Vec:
    s, co = math.sin(r), math.cos(r)
    px, py = a[0] - c[0], a[1] - c[1]
    return (px * co - py * s + c[0], px * s + py * co + c[1])


def _uni(a: Vec) -> Vec:
    n = math.hypot(a[0], a[1])
    return (a[0] / n, a[1] / n) if n else (math.nan, math.nan)


def _lrp(a: Vec, b: Vec, t: float) -> Vec:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _simulate(prev: float, distance: float, size: float) -> float:
    sp = min(1.0, distance / size)
    rp = min(1.0, 1 - sp)
    return min(1.0, prev + (rp - prev) * (sp * RATE_OF_PRESSURE_CHANGE))


def _radius(size: float, thinning: float, pressure: float) -> float:
    return size * (0.5 - thinning * (0.5 - pressure))


def stroke_points(pts: Sequence[tuple[float, float, float]], size: float) -> list[_Point]:
    """
    perfect-freehand getStrokePoints with streamline STREAMLINE and `last`.
    """
    if not pts:
        return []
    t = MIN_STREAMLINE_T + (1 - STREAMLINE) * STREAMLINE_T_RANGE
    work: list[tuple[float, float, float]] = list(pts)
    if len(work) == 2:
        a, b = work
        # As the original: the points put in between carry no pressure (so the default).
        work = [a] + [(*_lrp(a[:2], b[:2], i / 4), DEFAULT_PRESSURE) for i in range(1, 5)]
    if len(work) == 1:
        work = [work[0], (work[0][0] + 1, work[0][1] + 1, work[0][2])]
    out = [_Point((work[0][0], work[0][1]), work[0][2], (1.0, 1.0), 0.0, 0.0)]
    reached = False
    running = 0.0
    prev = out[0]
    last = len(work) - 1
    for i in range(1, len(work)):
        point = (work[i][0], work[i][1]) if i == last else _lrp(prev.point, work[i][:2], t)
        if point == prev.point:
            continue
        distance = math.hypot(point[1] - prev.point[1], point[0] - prev.point[0])
        running += distance
        if i < last and not reached:
            if running < size:
                continue
            reached = True
        vector = _uni((prev.point[0] - point[0], prev.point[1] - point[1]))
        prev = _Point(point, work[i][2], vector, distance, running)
        out.append(prev)
    out[0].vector = out[1].vector if len(out) > 1 else (0.0, 0.0)
    return out


def _dpr(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1]


def outline(points: list[_Point], size: float, thinning: float, simulate: bool) -> list[Vec]:
    """
    perfect-freehand getStrokeOutlinePoints with round caps, no taper, `last`.
    """
    if not points or size <= 0:
        return []
    total = points[-1].running
    min_distance = (size * SMOOTHING) ** 2
    left: list[Vec] = []
    right: list[Vec] = []
    prev_pressure = points[0].pressure
    for p in points[:10]:
        pressure = _simulate(prev_pressure, p.distance, size) if simulate else p.pressure
        prev_pressure = (prev_pressure + pressure) / 2
    radius = _radius(size, thinning, points[-1].pressure)
    first_radius: float | None = None
    prev_vector = points[0].vector
    prev_left = prev_right = points[0].point
    temp_left, temp_right = prev_left, prev_right
    prev_sharp = False
    n = len(points)
    for i, p in enumerate(points):
        pressure = p.pressure
        is_last = i == n - 1
        if not is_last and total - p.running < END_NOISE_THRESHOLD:
            continue
        if thinning:
            if simulate:
                pressure = _simulate(prev_pressure, p.distance, size)
            radius = _radius(size, thinning, pressure)
        else:
            radius = size / 2
        if first_radius is None:
            first_radius = radius
        radius = max(MIN_RADIUS, radius)
        next_vector = (points[i + 1] if not is_last else p).vector
        next_dpr = _dpr(p.vector, next_vector) if not is_last else 1.0
        prev_dpr = _dpr(p.vector, prev_vector)
        sharp = prev_dpr < 0 and not prev_sharp
        next_sharp = next_dpr < 0
        if sharp or next_sharp:
            off = (prev_vector[1] * radius, -prev_vector[0] * radius)
            for t in [0.0, *_steps(CORNER_CAP_SEGMENTS, True)]:
                temp_left = _rot((p.point[0] - off[0], p.point[1] - off[1]), p.point, FIXED_PI * t)
                left.append(temp_left)
                temp_right = _rot(
                    (p.point[0] + off[0], p.point[1] + off[1]), p.point, FIXED_PI * -t
                )
                right.append(temp_right)
            prev_left, prev_right = temp_left, temp_right
            if next_sharp:
                prev_sharp = True
            continue
        prev_sharp = False
        if is_last:
            off = (p.vector[1] * radius, -p.vector[0] * radius)
            left.append((p.point[0] - off[0], p.point[1] - off[1]))
            right.append((p.point[0] + off[0], p.point[1] + off[1]))
            continue
        mix = _lrp(next_vector, p.vector, next_dpr)
        off = (mix[1] * radius, -mix[0] * radius)
        temp_left = (p.point[0] - off[0], p.point[1] - off[1])
        if i <= 1 or _dist2(prev_left, temp_left) > min_distance:
            left.append(temp_left)
            prev_left = temp_left
        temp_right = (p.point[0] + off[0], p.point[1] + off[1])
        if i <= 1 or _dist2(prev_right, temp_right) > min_distance:
            right.append(temp_right)
            prev_right = temp_right
        prev_pressure = pressure
        prev_vector = p.vector
    first = points[0].point
    if n == 1:
        return _dot(first, first_radius or radius)
    last_point = points[-1].point
    start_cap = [_rot(right[0], first, FIXED_PI * t) for t in _steps(START_CAP_SEGMENTS, True)]
    lv = points[-1].vector
    direction = (-lv[1], lv[0])
    start = (last_point[0] + direction[0] * radius, last_point[1] + direction[1] * radius)
    end_cap = [_rot(start, last_point, FIXED_PI * 3 * t) for t in _steps(END_CAP_SEGMENTS, False)]
    return left + end_cap + right[::-1] + start_cap


def _steps(segments: int, inclusive: bool) -> list[float]:
    """
    The JS loop `for (t = step; t <= 1 (or < 1); t += step)`, with its float accumulation.
    """
    step = 1 / segments
    out: list[float] = []
    t = step
    while t <= 1 if inclusive else t < 1:
        out.append(t)
        t += step
    return out


def _dot(center: Vec, radius: float) -> list[Vec]:
    off = _uni((-1.0, 1.0))
    start = (center[0] - off[0] * radius, center[1] - off[1] * radius)
    return [_rot(start, center, FIXED_PI * 2 * t) for t in _steps(START_CAP_SEGMENTS, True)]


def _dist2(a: Vec, b: Vec) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def stroke_outline(
    pts: Sequence[Vec], pressures: Sequence[int] | None, width: float, opacity: float
) -> list[Vec]:
    """
    The outline the canvas fills for a stroke through `pts` (pressures 0..100 or None).
    """
    highlighter = opacity <= HIGHLIGHTER_MAX_OPACITY
    thinning = 0.0 if highlighter else THINNING_PEN if pressures else THINNING_SIMULATED
    inputs = [
        (x, y, pressures[k] / 100 if pressures else DEFAULT_PRESSURE)
        for k, (x, y) in enumerate(pts)
    ]
    return outline(stroke_points(inputs, width), width, thinning, simulate=not pressures)


def outline_path(poly: Sequence[Vec]) -> str:
    """
    SVG path data of draw.ts outlinePath: quadratic curves through the midpoints, closed.

    Coordinates to 0.1 unit: an outline has a few hundred points, and writing them is most of a
    big board's export.
    """
    if not poly:
        return ""
    count = len(poly)
    parts = [f"M{poly[0][0]:.1f} {poly[0][1]:.1f}"]
    for k in range(count):
        x0, y0 = poly[k]
        x1, y1 = poly[k + 1 if k + 1 < count else 0]
        parts.append(f"Q{x0:.1f} {y0:.1f} {(x0 + x1) / 2:.1f} {(y0 + y1) / 2:.1f}")
    parts.append("Z")
    return "".join(parts)
