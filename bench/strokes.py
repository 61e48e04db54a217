"""
Freehand strokes as a pen or mouse draws them: the points the load generator and wire_micro send.

Why a model at all: uniform random deltas are neither what users draw nor what a stroke codec
sees. Protocol v2 codes each point as its residual from the previous delta (constant velocity
within an op), so what matters to the wire is how smooth consecutive deltas are; random deltas
make every residual large, real strokes make most of them 0 or ±1.

The model, one step per pointer sample (default 120 Hz: a mouse or pen whose events the browser
coalesces; it sends an `app` every 33 ms, so ~4 points per op):

* **Path.** The pen moves along a curve whose curvature drifts between targets drawn every
  80-500 ms: nearly straight (radius 300-3000 px), curves (40-300 px) and tight turns or loops
  (8-40 px), left or right. The curvature relaxes towards its target (time constant 60 ms), so
  the heading turns smoothly: no corners, like a hand.
* **Speed.** Hand movement follows the two-thirds power law: speed ~ gain * radius^(1/3), slow in
  tight turns, fast on straight sweeps. The gain is drawn per stroke (log-uniform 25-200: from
  careful handwriting to quick sketching) and jittered per segment; the resulting target speed
  is clamped to 50-1500 px/s (median about 450). A stroke starts at rest (pen down) and the speed
  follows its target with a 80 ms time constant.
* **Bounded acceleration.** Tangential acceleration is capped at max_accel/2 and centripetal
  acceleration (speed^2 * curvature) at max_accel*sqrt(3)/2, so |a| <= max_accel (default
  20,000 px/s^2, about 5 m/s^2 at 96 dpi): at speed the pen turns wider instead of jerking.
* **Integers.** The position integrates in floats (midpoint heading per step) and is rounded to
  world units; the deltas are differences of rounded positions, so they never drift from the
  float path. Deltas are the protocol's flat [dx0, dy0, dx1, dy1, ...].
* **Pressure** (optional, 0-100): ramps from a light touch to a per-stroke level in ~100 ms,
  then wanders slowly and eases off a little at speed.

Consequences a reader can check: the second difference of positions is at most
max_accel * dt^2 (1.4 px at 120 Hz) plus rounding (±1 per axis), and a delta is at most
1500 px/s * dt + 1 (13.5 px at 120 Hz). Everything is drawn from random.Random(seed): the same
seed gives the same stroke in any process.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: Curvature targets: (probability, smallest radius px, largest radius px).
_SEGMENT_KINDS = ((0.45, 300.0, 3000.0), (0.40, 40.0, 300.0), (0.15, 8.0, 40.0))
_SEGMENT_SECS = (0.08, 0.5)
#: Two-thirds power law gain per stroke (px^(2/3)/s), log-uniform, and its per-segment jitter.
_GAIN = (25.0, 200.0)
_GAIN_JITTER = (0.75, 1.33)
_CURVATURE_TAU_SECS = 0.06
_SPEED_TAU_SECS = 0.08
_PRESSURE_TAU_SECS = 0.05


@dataclass(frozen=True, slots=True)
class PenModel:
    """
    The pointer: its sampling rate and the limits of the hand moving it.
    """

    rate_hz: float = 120.0
    min_speed: float = 50.0
    max_speed: float = 1500.0
    max_accel: float = 20_000.0
    pressure: bool = False


class Stroke:
    """
    One freehand stroke in progress; `take(n)` continues it by n pointer samples.

    The stroke starts at (0, 0) relative to its element's origin: that first point is the `add`
    op's `p: [0, 0]` (and `pr: [first_pressure]`); every later point comes from `take`.
    """

    def __init__(self, seed: int, model: PenModel | None = None) -> None:
        self.model = model or PenModel()
        self.rng = random.Random(seed)
        rng = self.rng
        self.dt = 1.0 / self.model.rate_hz
        self.x = self.y = 0.0
        self.ix = self.iy = 0
        self.heading = rng.uniform(-math.pi, math.pi)
        self.speed = 0.0
        self.curvature = 0.0
        self.target_curvature = 0.0
        self.gain = math.exp(rng.uniform(math.log(_GAIN[0]), math.log(_GAIN[1])))
        self.segment_gain = self.gain
        self.segment_left = 0.0
        self.pressure_level = rng.uniform(35.0, 70.0)
        self.pressure = rng.uniform(10.0, 25.0)
        self.first_pressure = round(self.pressure)

    def take(self, n: int) -> tuple[list[int], list[int] | None]:
        """
        Return the next n points as flat deltas, and their pressures if the model has them.
        """
        p: list[int] = []
        pr: list[int] | None = [] if self.model.pressure else None
        for _ in range(n):
            self._step()
            ix, iy = round(self.x), round(self.y)
            p.append(ix - self.ix)
            p.append(iy - self.iy)
            self.ix, self.iy = ix, iy
            if pr is not None:
                pr.append(self._pressure_step())
        return p, pr

    def _new_segment(self) -> None:
        rng = self.rng
        roll = rng.random()
        kind = _SEGMENT_KINDS[-1]
        for kind in _SEGMENT_KINDS:
            if roll < kind[0]:
                break
            roll -= kind[0]
        radius = math.exp(rng.uniform(math.log(kind[1]), math.log(kind[2])))
        self.target_curvature = (1.0 if rng.random() < 0.5 else -1.0) / radius
        self.segment_gain = self.gain * rng.uniform(*_GAIN_JITTER)
        self.segment_left = rng.uniform(*_SEGMENT_SECS)

    def _step(self) -> None:
        model, dt = self.model, self.dt
        self.segment_left -= dt
        if self.segment_left <= 0:
            self._new_segment()
        curvature = self.curvature
        curvature += (self.target_curvature - curvature) * min(1.0, dt / _CURVATURE_TAU_SECS)
        self.curvature = curvature
        k = abs(curvature)
        # Two-thirds power law: v = gain * radius^(1/3) = gain * k^(-1/3).
        wanted = self.segment_gain / k ** (1 / 3) if k > 0 else model.max_speed
        if wanted > model.max_speed:
            wanted = model.max_speed
        elif wanted < model.min_speed:
            wanted = model.min_speed
        v = self.speed
        dv = (wanted - v) * min(1.0, dt / _SPEED_TAU_SECS)
        limit = 0.5 * model.max_accel * dt
        v += limit if dv > limit else -limit if dv < -limit else dv
        self.speed = v
        # Centripetal acceleration v^2 * k within its share of the bound: turn wider at speed.
        if v * v * k > 0.866 * model.max_accel:
            curvature = math.copysign(0.866 * model.max_accel / (v * v), curvature)
        step = v * dt
        turn = step * curvature
        mid = self.heading + 0.5 * turn
        self.x += step * math.cos(mid)
        self.y += step * math.sin(mid)
        self.heading += turn

    def _pressure_step(self) -> int:
        # Lighter at speed: up to 25 % off the stroke's level at max speed.
        target = self.pressure_level * (1.0 - 0.25 * self.speed / self.model.max_speed)
        self.pressure += (target - self.pressure) * min(1.0, self.dt / _PRESSURE_TAU_SECS)
        self.pressure += self.rng.uniform(-0.6, 0.6)
        return max(0, min(100, round(self.pressure)))


class UniformStroke:
    """
    The old load generator's points, for contrast: every delta uniform in ±span per axis.
    """

    def __init__(self, seed: int, span: int = 7, pressure: bool = False) -> None:
        self.rng = random.Random(seed)
        self.span = span
        self.with_pressure = pressure
        self.first_pressure = 50

    def take(self, n: int) -> tuple[list[int], list[int] | None]:
        randint, span = self.rng.randint, self.span
        p = [randint(-span, span) for _ in range(2 * n)]
        pr = [randint(0, 100) for _ in range(n)] if self.with_pressure else None
        return p, pr


class StrokePool:
    """
    Strokes drawn ahead for the load generator, so drawing costs a slice during the run.

    Generating a point costs a few microseconds; a drawer needs them at the rate it sends, on
    the same cores as the server under test. The pool draws `size` strokes of `points` points
    (after the first) once per process, and a stroke's seed picks one: strokes repeat across
    drawers, which the server cannot tell and does not care about.
    """

    def __init__(self, model: PenModel, points: int, size: int = 256) -> None:
        self.model = model
        self.points = points
        self.size = size
        self._strokes: list[tuple[list[int], list[int] | None, int] | None] = [None] * size

    def get(self, seed: int) -> tuple[list[int], list[int] | None, int]:
        """
        Return (deltas after the first point, pressures or None, first pressure) of a stroke.
        """
        index = seed % self.size
        got = self._strokes[index]
        if got is None:
            stroke = Stroke(index, self.model)
            p, pr = stroke.take(self.points)
            got = self._strokes[index] = (p, pr, stroke.first_pressure)
        return got

    def warm(self) -> None:
        """
        Draw every stroke now (before the measured window).
        """
        for seed in range(self.size):
            self.get(seed)
