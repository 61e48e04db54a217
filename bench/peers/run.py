"""
Inkroom and the peers side by side: scenarios A, B, C, D on every target in one invocation, the
B- and C-shape saturation sweeps, durability, and one summary table.

Targets: Inkroom (`python -m realtime.server.serve`), the two reference servers of bench/reference
(Channels tutorial design, websockets relay) and the peers of bench/peers (Hocuspocus with
SQLite, tldraw sync with its SQLite storage and with the older 2-s JSON snapshot, the
excalidraw-room-style Socket.IO relay). Every target gets the same layouts, stroke shape and
rate from the same load generator; each row is also appended to bench/results/<date>.jsonl with
`"variant": "peers"`.

Saturation, as issue 18 defines it:
* B shape (1 board, 200 clients, 20 drawing): op-deliveries/s of the highest drawing rate
  with p99 <= 1 s and < 1 % loss. Rates double from 30 Hz while steps pass; a target that fails
  at 30 Hz is stepped down (15, 8, 4, 2 Hz) to find what it does sustain.
* C shape (boards x 4 clients, all drawing at 30 Hz): the most boards with p99 <= 100 ms and
  < 1 % loss; boards grow by about x1.4 from 50, or shrink from 50 for a target that fails there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench import load, report
from bench.peers import durability
from bench.peers.load import PEER_TARGETS, client_specs, data_dir, run_peer_load, started
from bench.scenarios import D_CLIENTS_PER_BOARD, D_CONNECTIONS, measure, record, verdict
from bench.sweeps import UNLIMITED
from bench.targets import CHANNELS_REF, INKROOM, WS_RELAY, Bench, Layout, mode_of
from bench.targets import client_specs as bench_specs
from bench.targets import started as bench_started

VARIANT = "peers"
TARGETS = (INKROOM, CHANNELS_REF, WS_RELAY, *PEER_TARGETS)
B_UP_HZ = (30, 60, 120, 240, 480)
B_DOWN_HZ = (15, 8, 4, 2)
#: Steps of about x1.4: doubling from 50 put Inkroom and the websockets relay on the same step
#: (both passed 50 and failed 100), which could not show a 1.5x lead.
C_UP_BOARDS = (50, 70, 100, 140, 200, 280, 400, 560, 800)
C_DOWN_BOARDS = (35, 25, 18, 12, 6, 3)
B_MAX_P99_MS, C_MAX_P99_MS, MAX_LOSS_PCT = 1000.0, 100.0, 1.0
#: Stated, not probed: see bench.peers.durability.
DURABILITY_STATED = {
    INKROOM: (
        "committed to PostgreSQL before it is acked or sent to other processes; sockets that opt "
        "in (the browser, this bench) see it a commit sooner as a tentative, withdrawn if the "
        "commit fails (protocol §2.6)"
    ),
    CHANNELS_REF: "nothing stored",
    WS_RELAY: "nothing stored",
    "socketio": "nothing stored (scenes live in the browsers)",
}


def layouts(bench: Bench) -> dict[str, Layout]:
    n = bench.n
    per_board = min(D_CLIENTS_PER_BOARD, n(D_CONNECTIONS))
    return {
        "A": [(n(50), n(10))],
        "B": [(n(200), n(20))],
        "C": [(4, 4)] * n(50),
        "D": [(per_board, 0)] * max(1, n(D_CONNECTIONS) // per_board),
    }


def measure_target(
    bench: Bench,
    scenario: str,
    target: str,
    layout: Layout,
    *,
    rate_hz: float = 30.0,
    duration: float | None = None,
    variant: str = VARIANT,
    sweep: bool = False,
) -> dict[str, Any]:
    """
    One load run of `layout` on `target` (a peer or one of bench.targets'), as a result row.
    """
    if target not in PEER_TARGETS:
        env = UNLIMITED if sweep and target == INKROOM else None
        return measure(bench, scenario, target, layout, rate_hz=rate_hz, duration=duration,
                       variant=variant, env_extra=env)  # fmt: skip
    with started(bench, target) as procs:
        plan = load.LoadPlan(
            specs=client_specs(layout, [p.port for p in procs]),
            mode=PEER_TARGETS[target].mode,
            rate_hz=rate_hz,
            points_per_op=bench.points_per_op,
            duration=duration or bench.duration,
            drain=bench.drain,
            workers=bench.workers,
            pointer_hz=bench.pointer_hz,
        )
        result = run_peer_load(plan, procs)
    return {"scenario": scenario, "target": target, "variant": variant, **result}


def measure_idle(bench: Bench, target: str, layout: Layout) -> dict[str, Any]:
    """
    Scenario D on any target: server RSS per idle connection, after a 2-client warm-up.
    """
    peer = target in PEER_TARGETS
    proto = bench.protocols[0]
    with started(bench, target) if peer else bench_started(bench, target) as procs:
        ports = [p.port for p in procs]
        mode = PEER_TARGETS[target].mode if peer else mode_of(target)
        run: Callable[[load.LoadPlan], dict[str, Any]] = (
            (lambda plan: run_peer_load(plan, procs))
            if peer
            else (lambda plan: load.run_load(plan, procs))
        )

        def specs(lay: Layout) -> list[Any]:
            return (
                client_specs(lay, ports)
                if peer
                else bench_specs(target, lay, ports, protocol=proto)
            )

        run(load.LoadPlan(specs([(2, 0)]), mode, 0, 4, 0.5, 0.2, protocol=proto))
        time.sleep(0.5)
        before = sum(p.rss_bytes() for p in procs)
        plan = load.LoadPlan(specs(layout), mode, rate_hz=0, duration=min(bench.duration, 5.0),
                             drain=0.5, workers=bench.workers, protocol=proto)  # fmt: skip
        result = run(plan)
    per_conn = (result["server_rss_mib"] * 2**20 - before) / max(1, result["connected"]) / 1024
    row = {"scenario": "D", "target": target, "variant": VARIANT, **result}
    row["rss_before_mib"] = round(before / 2**20, 1)
    row["rss_per_connection_kib"] = round(per_conn, 1)
    row["note"] = f"{result['connected']} idle sockets: {per_conn:.1f} KiB each"
    return row


def side_by_side(bench: Bench, scenarios: str = "ABCD", targets: tuple[str, ...] = TARGETS) -> None:
    """
    Every scenario on every target, in that order (a scenario's targets back to back).
    """
    lay = layouts(bench)
    for scenario in scenarios:
        for target in targets:
            if scenario == "D":
                row = measure_idle(bench, target, lay["D"])
            else:
                row = measure_target(bench, scenario, target, lay[scenario])
                if target == INKROOM:
                    verdict(row, p99_ms={"A": 30, "B": 50, "C": 50}[scenario])
            record(bench, row)


def _passes(row: dict[str, Any], p99_ms: float) -> bool:
    return (
        row["connect_failures"] == 0
        and row["loss_pct"] < MAX_LOSS_PCT
        and bool(row["latency_ms"].get("p50"))
        and row["latency_ms"]["p99"] <= p99_ms
    )


def _sweep(
    bench: Bench,
    target: str,
    name: str,
    steps_up: tuple[int, ...],
    steps_down: tuple[int, ...],
    run_step: Callable[[int], dict[str, Any]],
    p99_ms: float,
) -> dict[str, Any] | None:
    """
    Steps up from steps_up[0] while they pass; if the first fails, down through steps_down
    until one passes. Returns the best passing row (None: no step passed).
    """
    best: dict[str, Any] | None = None
    for step in steps_up:
        row = record(bench, run_step(step))
        if not _passes(row, p99_ms):
            break
        best = row
    if best is None:
        for step in steps_down:
            row = record(bench, run_step(step))
            if _passes(row, p99_ms):
                best = row
                break
    summary = {
        "scenario": name, "target": target, "variant": f"{VARIANT} saturation",
        "saturation_step": best and best["variant"],
        "deliveries_per_s": best and best["deliveries_per_s"],
        "boards": best and best["boards"],
        "latency_ms": best["latency_ms"] if best else {},
        "loss_pct": best and best["loss_pct"],
        "server_us_per_delivery": best and best["server_us_per_delivery"],
    }  # fmt: skip
    report.append(summary)
    return best


def sweeps(bench: Bench, targets: tuple[str, ...] = TARGETS) -> dict[str, dict[str, Any]]:
    """
    The B-shape and C-shape saturation sweeps of every target.
    """
    lay = layouts(bench)
    out: dict[str, dict[str, Any]] = {}
    for target in targets:

        def b_step(hz: int, target: str = target) -> dict[str, Any]:
            return measure_target(bench, "B-sat", target, lay["B"], rate_hz=hz,
                                  duration=bench.sweep_duration, variant=f"B-sat {hz}Hz",
                                  sweep=True)  # fmt: skip

        def c_step(boards: int, target: str = target) -> dict[str, Any]:
            n = bench.n(boards)
            return measure_target(bench, "C-sat", target, [(4, 4)] * n, variant=f"C-sat {n} boards",
                                  duration=bench.sweep_duration, sweep=True)  # fmt: skip

        out[target] = {
            "B": _sweep(bench, target, "B-sat", B_UP_HZ, B_DOWN_HZ, b_step, B_MAX_P99_MS),
            "C": _sweep(bench, target, "C-sat", C_UP_BOARDS, C_DOWN_BOARDS, c_step, C_MAX_P99_MS),
        }
    return out


def durabilities(bench: Bench, targets: tuple[str, ...] = TARGETS) -> dict[str, str]:
    """
    What is on disk when a delivery is seen, per target: probed for the peers that store.
    """
    out: dict[str, str] = {}
    for target in targets:
        if target not in durability.PROBES:
            out[target] = DURABILITY_STATED[target]
            continue
        with started(bench, target) as procs:
            got = durability.run_probe(target, procs[0].port, data_dir(target, procs[0].port))
        report.append({"scenario": "durability", "target": target, "variant": VARIANT, **got})
        out[target] = durability_text(got)
    return out


def durability_text(got: dict[str, Any]) -> str:
    return (
        f"{got['on_disk_when_seen_pct']:g} % of {got['ops_seen']} ops on disk when seen; "
        f"on disk {got['lag_p50_s']:g} s (median) / {got['lag_max_s']:g} s (max) after"
    )


def from_results(
    rows: list[dict[str, Any]], targets: tuple[str, ...]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]] | None, dict[str, str] | None]:
    """
    The rows, saturation and durability of one stored invocation (bench/results lines), for
    summary_table: the last A-D row of each target, the sweeps' best steps, the probes.
    """
    steps = {(r["target"], r["variant"]): r for r in rows if r["scenario"] in ("B-sat", "C-sat")}
    sat: dict[str, dict[str, Any]] = {}
    durable: dict[str, str] = {}
    for r in rows:
        if r.get("variant") == f"{VARIANT} saturation":
            best = steps.get((r["target"], r["saturation_step"])) if r["saturation_step"] else None
            sat.setdefault(r["target"], {})[r["scenario"][0]] = best
        elif r["scenario"] == "durability":
            durable[r["target"]] = durability_text(r)
    if durable:
        durable.update({t: DURABILITY_STATED[t] for t in targets if t in DURABILITY_STATED})
    return rows, sat or None, durable or None


# --- the table ---------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _lost(pct: float) -> str:
    if not pct:
        return "0 lost"
    return (
        f"{pct:.2g} % lost"
        if pct < 10
        else f"{pct:.0f} % lost"
        if pct < 99.5
        else f"{pct:.1f} % lost"
    )


def _cell(row: dict[str, Any] | None) -> str:
    if not row:
        return ""
    lat = row["latency_ms"]
    if not lat.get("p50"):
        return f"nothing delivered, {_lost(row['loss_pct'])}"
    return f"{row['deliveries_per_s']:,}/s, p99 {_ms(lat['p99'])} ms, {_lost(row['loss_pct'])}"


def _us(row: dict[str, Any] | None) -> str:
    value = row and row.get("server_us_per_delivery")
    return "" if not value else f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _saturation(kind: str, best: dict[str, Any] | None) -> str:
    if best is None:
        low = f"{B_DOWN_HZ[-1]} Hz" if kind == "B" else f"{C_DOWN_BOARDS[-1]} boards"
        return f"none (not even {low})"
    p99 = _ms(best["latency_ms"]["p99"])
    if kind == "B":
        return f"{best['deliveries_per_s']:,}/s ({best['variant'].split()[-1]}, p99 {p99} ms)"
    return f"{best['boards']} boards (p99 {p99} ms)"


def summary_table(
    rows: list[dict[str, Any]],
    targets: tuple[str, ...],
    sat: dict[str, dict[str, Any]] | None = None,
    durable: dict[str, str] | None = None,
) -> str:
    """
    One Markdown line per target: A, B, C, D, CPU per op-delivery, saturation, durability.
    """
    by = {(r["scenario"], r["target"]): r for r in rows if r.get("variant") == VARIANT}
    head = ["target", "A (1x50, 10 drawing)", "B (1x200, 20 drawing)", "C (50x4, all drawing)",
            "D KiB/idle socket", "server µs per op-delivery (A / B / C)"]  # fmt: skip
    if sat:
        head += [
            "B-shape saturation (p99 <= 1 s, < 1 % lost)",
            "C-shape saturation (p99 <= 100 ms)",
        ]
    if durable:
        head.append("on disk when a delivery is seen")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in targets:
        d = by.get(("D", t))
        cells = [
            t, _cell(by.get(("A", t))), _cell(by.get(("B", t))), _cell(by.get(("C", t))),
            f"{d['rss_per_connection_kib']:g}" if d else "",
            " / ".join(_us(by.get((s, t))) for s in "ABC"),
        ]  # fmt: skip
        if sat:
            cells += [
                _saturation("B", sat.get(t, {}).get("B")),
                _saturation("C", sat.get(t, {}).get("C")),
            ]
        if durable:
            cells.append(durable.get(t, ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
