"""
Text wraps at the same words on the canvas and in the exports: the browser's layout
(frontend/src/canvas/text-layout.ts) and the server's (board.document.textlayout) give the same
lines and the same box for seeded random texts (ASCII words, long words, CJK, emoji, combining
marks, runs of spaces, CR/LF), sizes, wrap widths, fonts and box shapes.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from board.document.textlayout import FONTS, text_box_lines, text_extent

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
STYLE = {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None}
WORDS = [
    "a", "I", "wrap", "mmmmWWW", "illicit", "Hello,", "(x)", "42", "supercalifragilistic",
    "日本語のテキスト", "한국어", "🙂🙂", "e\u0301te\u0301", "naïve", "—", "\t", "",
]  # fmt: skip


def _text(rnd: random.Random) -> str:
    out = []
    for _ in range(rnd.randrange(0, 14)):
        out.append(rnd.choice(WORDS))
        out.append(rnd.choice([" ", " ", " ", "  ", "\n", "\r\n", "\r"]))
    return "".join(out)


def _element(rnd: random.Random, n: int) -> dict[str, Any]:
    style = dict(STYLE)
    if rnd.random() < 0.8:
        style["font"] = rnd.choice(FONTS)
    text = _text(rnd)
    size = rnd.choice([4, 12, 16, 24, 37, 64, 512])
    if rnd.random() < 0.6:
        el: dict[str, Any] = {"type": "text", "text": text, "size": size}
        if rnd.random() < 0.7:
            el["w"] = rnd.choice([1, 5, 30, 80, 150, 400, 20_000])
    else:
        el = {"type": rnd.choice(["rect", "ellipse", "diamond", "note"]), "text": text}
        el.update(w=rnd.randrange(-400, 400), h=rnd.randrange(-200, 200))
        if rnd.random() < 0.7:
            el["size"] = size
    return {"id": f"e{n}", "x": 3, "y": -7, "style": style, **el}


def _server(el: dict[str, Any]) -> list[Any]:
    extent = list(text_extent(el)) if el["type"] == "text" else [None, None]
    return [text_box_lines(el), *extent]


@pytest.mark.timeout(60)
def test_client_and_server_lay_out_text_alike(tmp_path: Path) -> None:
    node = shutil.which("node")
    esbuild = FRONTEND / "node_modules" / ".bin" / "esbuild"
    if node is None or not esbuild.exists():
        pytest.skip("needs node and the frontend's node_modules")
    bundle = tmp_path / "layout.mjs"
    subprocess.run(
        [
            str(esbuild),
            "src/cli/text-layout.ts",
            "--bundle",
            "--platform=node",
            "--format=esm",
            f"--outfile={bundle}",
            "--log-level=warning",
        ],
        cwd=FRONTEND,
        check=True,
        timeout=30,
    )
    rnd = random.Random(16)
    els = [_element(rnd, n) for n in range(600)]
    result = subprocess.run(
        [node, str(bundle)], input=json.dumps(els), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    client = json.loads(result.stdout)
    wrapped = 0
    for el, got in zip(els, client, strict=True):
        want = _server(el)
        assert got[0] == want[0], f"lines differ for {el!r}"
        if want[1] is not None:
            assert got[1] == pytest.approx(want[1]) and got[2] == pytest.approx(want[2]), el
        wrapped += len(want[0]) > len(el["text"].splitlines() or [""])
    assert wrapped > 100  # the cases do wrap, at words and inside long ones
