"""
One measurement: headless Chromium opens a seeded board and runs the probe's gestures.

The probe (probe.js) times every animation frame in the page; this side signs in, opens the
board at a device pixel ratio, waits for the load figures, runs pan, zoom and ink for a number
of frames each, and reads the page's memory from the DevTools protocol and /proc.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

from bench.canvas import board

CHROMIUM = "/usr/bin/chromium"
#: Software rendering, as on the CI box; CPU throttling is off unless asked for (it is by default).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
]  # fmt: skip
#: Tall enough that the board (board.py) fits the canvas at 100 % below the page's bars, which
#: take two toolbar rows at this width (the canvas is ~1280 x 630 of 1280 x 800).
VIEWPORT = {"width": 1280, "height": 800}
PROBE = (Path(__file__).with_name("probe.js")).read_text()
#: The probe's load figures once the board is drawn and synced (else null).
LOADED_JS = """(() => {
  const load = __canvasProbe.load();
  return load.drawn !== null && load.synced !== null && load;
})()"""
#: The camera once the board is open, and the canvas's size in CSS pixels.
CAMERA_JS = """(() => {
  const r = document.getElementById('board-canvas').getBoundingClientRect();
  return {...inkroom.camera(), width: r.width, height: r.height};
})()"""
#: Longest wait for the board to load or a gesture to finish (seconds).
TIMEOUT_SECS = 180.0
#: Quiet time before each gesture, so work left from the previous one is not counted in it.
SETTLE_SECS = 0.5


async def _wait(page: Page, js: str, timeout: float = TIMEOUT_SECS) -> Any:
    # Polled with evaluate: the page's CSP forbids the eval wait_for_function needs.
    deadline = time.monotonic() + timeout
    while True:
        value = await page.evaluate(js)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout} s: {js}")
        await asyncio.sleep(0.05)


async def _sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/login/?next=/")
    await page.fill("#username", board.USERNAME)
    await page.fill("#password", board.PASSWORD)
    await page.click("#auth-form button[type=submit]")
    await page.wait_for_url(f"{base}/")


async def _settle(page: Page) -> None:
    await _wait(page, "!(window.inkroom.renderPending && window.inkroom.renderPending())")
    await asyncio.sleep(SETTLE_SECS)


def _renderer_memory_mib(pids: list[int]) -> tuple[float, float]:
    """
    (private, resident) memory of the biggest renderer process (the board page's), in MiB.

    Private memory (Private_Clean + Private_Dirty in smaps_rollup) is what Chrome's task manager
    calls the page's memory footprint; the resident set also counts the shared browser code.
    """
    best = (0, 0)
    for pid in pids:
        try:
            fields = {}
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                name, value = line.split(":", 1)
                fields[name] = int(value.split()[0])
        except (OSError, ValueError):
            continue
        private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
        best = max(best, (private, fields.get("Rss", 0)))
    return round(best[0] / 1024, 1), round(best[1] / 1024, 1)


async def _memory(browser: Browser, page: Page) -> dict[str, float]:
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("HeapProfiler.collectGarbage")
    await cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    system = await browser.new_browser_cdp_session()
    info = await system.send("SystemInfo.getProcessInfo")
    renderers = [p["id"] for p in info["processInfo"] if p["type"] == "renderer"]
    private, resident = _renderer_memory_mib(renderers)
    return {
        "js_heap_mib": round(metrics["JSHeapUsedSize"] / 2**20, 1),
        "page_memory_mib": private,
        "renderer_rss_mib": resident,
    }


async def measure(
    base: str, board_id: str, n: int, dpr: float, frames: dict[str, int]
) -> dict[str, Any]:
    """
    Open `board_id` (n elements) at `dpr` and return the figures: the probe's frame records
    per gesture, the load times (ms since navigation start) and memory.
    """
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(viewport=VIEWPORT, device_scale_factor=dpr)  # type: ignore[arg-type]
            page = await context.new_page()
            await _sign_in(page, base)
            await context.add_init_script(f"window.__canvasBenchElements = {n};\n{PROBE}")
            await page.goto(f"{base}/b/{board_id}/")
            load = await _wait(page, LOADED_JS)
            camera = await page.evaluate(CAMERA_JS)
            gestures: dict[str, list[dict[str, float]]] = {}
            for kind in ("pan", "zoom", "ink"):
                await _settle(page)
                gestures[kind] = await page.evaluate(f"__canvasProbe.run('{kind}', {frames[kind]})")
            await _settle(page)
            memory = await _memory(browser, page)
            return {"load": load, "camera": camera, "gestures": gestures, **memory}
        finally:
            await browser.close()
