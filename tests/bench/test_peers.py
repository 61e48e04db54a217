"""
The peers of `make bench-peers`: their adapters' encodings, and a few strokes through each peer.

The codec tests are pure Python. The ones that need Node and the peers' pinned packages
(`npm ci` in bench/peers, which `make bench-peers` runs and `make test` does not, to keep CI
short) are skipped when bench/peers/node_modules is absent: they check the hand-written Yjs
updates against the real `yjs`, and push strokes through every peer's server with the bench's
load generator. Like tests/bench/test_smoke.py they assert that ops flowed, never how fast.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
from typing import Any

import pytest

from bench import load, servers
from bench.client import STROKE_APPS
from bench.peers import yjs
from bench.peers.clients import tldraw_path, tldraw_points_of
from bench.peers.load import PEER_TARGETS, client_specs, run_peer_load, started
from bench.targets import Bench

needs_peers = pytest.mark.skipif(
    not servers.peers_installed(), reason="bench/peers/node_modules absent (npm ci in bench/peers)"
)
#: Clear of test_smoke's ports (the top 50 of INKROOM_TEST_PORTS, or 18450-18499).
DEFAULT_PORT_BASE = 19160


def _port_base() -> int:
    lo, _, hi = os.environ.get("INKROOM_TEST_PORTS", "").partition("-")
    if lo.isdigit() and hi.isdigit() and int(hi) - int(lo) >= 100:
        return int(hi) - 100
    return DEFAULT_PORT_BASE


def test_stroke_clocks_round_trip() -> None:
    clocks = yjs.StrokeClock(STROKE_APPS, 4)
    ops = range(1, 3 * (STROKE_APPS + 1) + 2)
    starts = [clocks.clock_of(i) for i in ops]
    assert starts == sorted(set(starts))
    # Each op's clock range names exactly that op; a range spanning several names them all.
    for i, (a, b) in enumerate(zip(starts, [*starts[1:], starts[-1] + 1], strict=True), start=1):
        assert list(clocks.ops_in(a, b)) == [(i, 1 if (i - 1) % (STROKE_APPS + 1) == 0 else 4)]
    assert [i for i, _ in clocks.ops_in(starts[5], starts[70])] == list(range(6, 71))


def test_tldraw_path_lengths_give_points() -> None:
    path = struct.pack("<ff", 0.0, 0.0)
    for k in range(STROKE_APPS + 1):
        text = tldraw_path(path)
        assert tldraw_points_of(len(text), len(text) - len(text.rstrip("="))) == 1 + 4 * k
        path += struct.pack("<8e", *range(8))


def test_lib0_varints() -> None:
    for n in (0, 1, 63, 64, 127, 128, 300, -1, -63, -64, -200, 2**31 - 1, -(2**31) + 1):
        assert yjs.Reader(yjs.var_int(n)).int_() == n
    for n in (0, 127, 128, 2**28 + 5):
        assert yjs.Reader(yjs.var_uint(n)).uint() == n


_YJS_CHECK = """
import * as Y from "yjs";
const updates = JSON.parse(process.argv[1]).map((s) => Buffer.from(s, "base64"));
const doc = new Y.Doc();
let integrated = 0;
doc.on("update", () => integrated++);
for (const u of updates) Y.applyUpdate(doc, u);
console.log(JSON.stringify({
  integrated,
  pending: doc.store.pendingStructs !== null,
  strokes: doc.getMap("strokes").toJSON(),
  merged: Buffer.from(Y.mergeUpdates(updates)).toString("base64"),
}));
"""


@needs_peers
def test_yjs_updates_are_what_yjs_integrates() -> None:
    clocks = yjs.StrokeClock(3, 2)
    style = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}
    updates: list[bytes] = []
    for slot in (0, 7):
        client = yjs.client_of(slot)
        updates.append(yjs.encode_add(client, 0, f"s{slot}-1", -300, 4096, style))
        updates += [
            yjs.encode_app(client, clocks.clock_of(i), [i, -i, 70, -9000]) for i in (2, 3, 4)
        ]
    out = subprocess.run(
        ["node", "--input-type=module", "-e", _YJS_CHECK,
         json.dumps([base64.b64encode(u).decode() for u in updates])],
        cwd=servers.PEERS_DIR, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    got: dict[str, Any] = json.loads(out.stdout)
    assert got["integrated"] == len(updates) and not got["pending"]
    assert got["strokes"]["s7-1"] == {
        "x": -300, "y": 4096, "style": style,
        "points": [0, 0, 2, -2, 70, -9000, 3, -3, 70, -9000, 4, -4, 70, -9000],
    }  # fmt: skip
    # What a receiver reads back from a merged broadcast: every op of both authors, in order.
    merged = base64.b64decode(got["merged"])
    seen = {
        yjs.slot_of(c): [i for i, _ in clocks.ops_in(a, b)] for c, a, b in yjs.client_ranges(merged)
    }
    assert seen == {0: [1, 2, 3, 4], 7: [1, 2, 3, 4]}


@needs_peers
@pytest.mark.slow
@pytest.mark.multiprocess
@pytest.mark.parametrize("name", sorted(PEER_TARGETS))
def test_strokes_reach_every_client_of_each_peer(name: str) -> None:
    bench = Bench(port_base=_port_base())
    with started(bench, name) as procs:
        specs = client_specs([(3, 2), (2, 1)], [p.port for p in procs])
        plan = load.LoadPlan(specs, PEER_TARGETS[name].mode, rate_hz=30, points_per_op=4,
                             duration=1.0, drain=1.0, workers=2)  # fmt: skip
        row = run_peer_load(plan, procs)
    assert row["connected"] == 5 and row["connect_failures"] == 0
    assert row["ops_sent"] > 30
    assert row["delivered"] == row["expected_deliveries"] > 0, row
    assert row["duplicates"] == row["foreign_entries"] == 0
    assert row["errors"] == {}
    if name != "socketio":  # the relay acknowledges nothing
        assert row["ops_acked"] == row["ops_sent"]
    assert row["server_cpu_pct"] >= 0 and row["server_rss_mib"] > 0
