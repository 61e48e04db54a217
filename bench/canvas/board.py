"""
The benchmark board: N mixed elements (strokes, highlighter, shapes, text) packed into one
screen at 100 %, appended through the op log like any client's ops and then snapshotted.

The document model has no images: strokes, rects, ellipses, lines, arrows and text are the mix.
A seeded RNG makes every run draw the same board.
"""

from __future__ import annotations

import math
import random
from typing import Any

from bench import setup

USERNAME = "bench-canvas"
PASSWORD = "bench-canvas-password-17"
#: Where the board lies in world units: inside the canvas of the bench's page at 100 % (the
#: canvas is about 1280 x 630 below the bars), with a margin.
ORIGIN = (30, 30)
WIDTH, HEIGHT = 1200, 540
COLORS = ("#1e1e1e", "#e03131", "#2f9e44", "#1971c2", "#f08c00", "#9c36b5")
#: The mix, as cumulative shares of the elements.
MIX = (("stroke", 0.55), ("highlighter", 0.65), ("rect", 0.74), ("ellipse", 0.82),
       ("line", 0.86), ("arrow", 0.90), ("text", 1.0))  # fmt: skip
WORDS = ("plan", "idea", "todo", "draft", "sketch", "review", "ship", "note", "flow", "api")


def _style(
    rng: random.Random, width: float, *, opacity: float = 1, fill: str | None = None
) -> dict[str, Any]:
    return {"color": rng.choice(COLORS), "width": width, "opacity": opacity, "fill": fill}


def _stroke(rng: random.Random, eid: str, highlighter: bool) -> dict[str, Any]:
    points: list[int] = [0, 0]
    heading = rng.uniform(0, 2 * math.pi)
    x = y = lo_x = lo_y = hi_x = hi_y = 0
    for _ in range(rng.randint(12, 48)):
        heading += rng.uniform(-0.6, 0.6)
        step = rng.uniform(1.5, 3.5)
        dx, dy = round(step * math.cos(heading)), round(step * math.sin(heading))
        points += [dx, dy]
        x, y = x + dx, y + dy
        lo_x, lo_y, hi_x, hi_y = min(lo_x, x), min(lo_y, y), max(hi_x, x), max(hi_y, y)
    # Placed so the whole stroke lies inside the board's box.
    x = ORIGIN[0] - lo_x + rng.randrange(max(1, WIDTH - (hi_x - lo_x)))
    y = ORIGIN[1] - lo_y + rng.randrange(max(1, HEIGHT - (hi_y - lo_y)))
    el: dict[str, Any] = {"id": eid, "type": "stroke", "x": x, "y": y, "p": points}
    if highlighter:
        el["style"] = _style(rng, 12, opacity=0.35)
    else:
        el["style"] = _style(rng, rng.choice((2, 4, 6)))
        if rng.random() < 0.3:
            el["pr"] = [rng.randint(20, 90) for _ in range(len(points) // 2)]
    return el


def element(rng: random.Random, k: int) -> dict[str, Any]:
    """
    The k-th element of the board (an `add` op's `el`).
    """
    eid = f"c{k}"
    roll = rng.random()
    kind = next(name for name, share in MIX if roll <= share)
    if kind in ("stroke", "highlighter"):
        return _stroke(rng, eid, kind == "highlighter")
    if kind == "text":
        # At most ~240 x 25 world units (ops.elementBounds' estimate): inside the box.
        x, y = ORIGIN[0] + rng.randrange(WIDTH - 260), ORIGIN[1] + rng.randrange(HEIGHT - 30)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        return {"id": eid, "type": "text", "x": x, "y": y, "text": text,
                "size": rng.choice((12, 16, 20)), "style": _style(rng, 2)}  # fmt: skip
    # At most 60 x 40 either way from the origin: inside the box.
    x, y = ORIGIN[0] + 60 + rng.randrange(WIDTH - 130), ORIGIN[1] + 40 + rng.randrange(HEIGHT - 90)
    w, h = rng.randint(8, 60), rng.randint(8, 40)
    if kind in ("line", "arrow"):
        w, h = w * rng.choice((1, -1)), h * rng.choice((1, -1))
    fill = rng.choice(COLORS) if kind in ("rect", "ellipse") and rng.random() < 0.25 else None
    return {"id": eid, "type": kind, "x": x, "y": y, "w": w, "h": h,
            "style": _style(rng, rng.choice((1, 2, 4)), fill=fill)}  # fmt: skip


def canvas_user() -> Any:
    """
    The bench's browser user (it signs in through the login page).
    """
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    user.set_password(PASSWORD)
    user.save()
    return user


def reset() -> None:
    """
    Delete the boards earlier canvas runs left behind.
    """
    from board.models import Board

    Board.objects.filter(owner__username=USERNAME).delete()


def seed(n: int, *, rng_seed: int = 17) -> str:
    """
    Create a board of `n` elements owned by the canvas user; return its id.

    The ops go through board.oplog.append_ops (validated and sequenced as a client's would be),
    and a snapshot at the head makes the page load the board the way a real one loads.
    """
    from board.models import Board, Membership, Role
    from board.oplog import append_ops
    from board.snapshots import create_snapshot

    user = canvas_user()
    board = Board.objects.create(owner=user, title=f"Canvas bench {n}")
    Membership.objects.create(board=board, user=user, role=Role.OWNER)
    rng = random.Random(rng_seed)
    for start in range(0, n, setup.SEED_CHUNK_OPS):
        ops = [
            {"i": k + 1, "k": "add", "el": element(rng, k)}
            for k in range(start, min(start + setup.SEED_CHUNK_OPS, n))
        ]
        append_ops(board_id=board.id, author_id=user.pk, client_id="canvasseed", ops=ops)
    create_snapshot(board.id)
    return str(board.id)
