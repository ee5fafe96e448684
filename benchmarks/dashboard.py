"""Dashboard speed: a real ``heartline hub`` process, its page in headless Chromium.

    python -m benchmarks.dashboard [--runs N] [--quick]

Measured, median of N: the dashboard's first contentful paint and the time until its feed is
filled (the page's own ``heartline-feed-filled`` mark, from navigation start), each on a fresh
browser context; and the live-update latency: a ``POST api/signals`` made in the page to the
moment the new signal's line is in the page's feed (over the hub's server-sent events). Baselines
from the same run: a static blank page's first paint (served from this process on loopback), and
a raw ``EventSource`` on the hub's ``api/events`` in a page that draws nothing, receiving the same
update.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.server
import statistics
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
from playwright.async_api import Browser, Page

from benchmarks.footprint import HUB_RADIO, broker, child, wait_healthy, write_config
from benchmarks.timing import table
from firmware_sim.air.server import AirServer
from hub.demo.broker import free_port
from tests.support.chromium import ChromiumMissingError, headless_chromium

# Signals already in the log when the page opens, so "feed filled" has lines to draw.
SEEDED_SIGNALS: Final = 6
PAGE_TIMEOUT_MS: Final = 30_000
BLANK_PAGE: Final = (
    b"<!doctype html><html><head><title>blank</title></head><body><p>Heartline</p></body></html>"
)

# In the page: the time from a POST to the moment its signal's line is in the feed.
DASHBOARD_LATENCY_JS: Final = """async () => {
  const feed = document.querySelector(".feed");
  const before = new Set([...document.querySelectorAll("li[data-id]")].map((li) => li.dataset.id));
  const shown = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if ([...feed.children].some((li) => !before.has(li.dataset.id))) {
        observer.disconnect();
        resolve(performance.now());
      }
    });
    observer.observe(feed, { childList: true });
  });
  const t0 = performance.now();
  const response = await fetch("api/signals", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ kind: "thinking_of_you" }),
  });
  if (!response.ok) throw new Error(String(response.status));
  return (await shown) - t0;
}"""

# The baseline: a bare EventSource, the same POST, the first event naming a new signal.
RAW_LATENCY_JS: Final = """async (runs) => {
  const source = new EventSource("/api/events");
  await new Promise((resolve) => source.addEventListener("open", resolve, { once: true }));
  const seen = new Set();
  const results = [];
  for (let i = 0; i < runs; i += 1) {
    const arrived = new Promise((resolve) => {
      const onSignal = (event) => {
        const id = JSON.parse(event.data).signal.id;
        if (seen.has(id)) return;
        seen.add(id);
        source.removeEventListener("signal", onSignal);
        resolve(performance.now());
      };
      source.addEventListener("signal", onSignal);
    });
    const t0 = performance.now();
    const response = await fetch("/api/signals", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "thinking_of_you" }),
    });
    if (!response.ok) throw new Error(String(response.status));
    results.push((await arrived) - t0);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the fate updates go by
  }
  source.close();
  return results;
}"""


@contextlib.contextmanager
def blank_page_server() -> Iterator[str]:
    """A static blank page on loopback (stdlib, its own thread), for the paint baseline."""

    class Blank(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(BLANK_PAGE)))
            self.end_headers()
            # The browser may close a connection it no longer needs (a favicon, a reload).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(BLANK_PAGE)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    thread = threading.Thread(target=server.serve_forever, name="blank-page", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def paint_times(browser: Browser, url: str, *, dashboard: bool) -> tuple[float, float | None]:
    """(first contentful paint, feed filled or None) in ms from navigation start, fresh context."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(url)
        if dashboard:
            await page.wait_for_selector('main[data-state="live"]', timeout=PAGE_TIMEOUT_MS)
        await page.wait_for_function(
            "performance.getEntriesByName('first-contentful-paint').length > 0", timeout=PAGE_TIMEOUT_MS
        )
        paint = float(
            await page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
        )
        filled: float | None = None
        if dashboard:
            filled = float(
                await page.evaluate("performance.getEntriesByName('heartline-feed-filled')[0].startTime")
            )
        return paint, filled
    finally:
        await context.close()


async def dashboard_latencies(page: Page, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        samples.append(float(await page.evaluate(DASHBOARD_LATENCY_JS)))
        await asyncio.sleep(0.1)  # let the fate updates go by
    return samples


async def measure(runs: int) -> list[list[object]]:
    with tempfile.TemporaryDirectory(prefix="heartline-dashboard-") as tmp, blank_page_server() as blank:
        workdir = Path(tmp)
        air = AirServer()
        air.place(HUB_RADIO, 0.0, 0.0)
        async with air, broker(workdir) as (broker_url, protocol, _), httpx.AsyncClient() as client:
            web_port = free_port()
            config = workdir / "hub.toml"
            write_config(config, broker_url, protocol, air.port, web_port, workdir / "data")
            url = f"http://127.0.0.1:{web_port}/"
            argv = [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)]
            with child(argv, workdir / "hub.log") as hub:
                await wait_healthy(client, f"{url}api/health", hub)
                for _ in range(SEEDED_SIGNALS):
                    (
                        await client.post(f"{url}api/signals", json={"kind": "thinking_of_you"})
                    ).raise_for_status()
                async with headless_chromium() as browser:
                    await paint_times(browser, url, dashboard=True)  # warm: imports, caches, first stats
                    dashboard = [await paint_times(browser, url, dashboard=True) for _ in range(runs)]
                    baseline = [(await paint_times(browser, blank, dashboard=False))[0] for _ in range(runs)]
                    context = await browser.new_context()
                    page = await context.new_page()
                    await page.goto(url)
                    await page.wait_for_selector('main[data-state="live"]', timeout=PAGE_TIMEOUT_MS)
                    live = await dashboard_latencies(page, runs)
                    await page.goto(f"{url}api/hub")  # same origin, a page that draws nothing
                    raw = [float(v) for v in await page.evaluate(RAW_LATENCY_JS, runs)]
                    await context.close()
    paints = [p for p, _ in dashboard]
    filled = [f for _, f in dashboard if f is not None]
    median = statistics.median
    return [
        ["first contentful paint (ms)", median(paints), median(baseline), "a static blank page"],
        [
            "feed filled, from navigation (ms)",
            median(filled),
            median(baseline),
            "a static blank page's paint",
        ],
        ["POST to the line in the feed (ms)", median(live), median(raw), "a raw EventSource, same update"],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dashboard", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=20, help="repetitions per measure (default 20)")
    parser.add_argument("--quick", action="store_true", help="5 repetitions")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else args.runs
    print(f"dashboard on a real hub, headless Chromium, median of {runs}", flush=True)
    try:
        rows = asyncio.run(measure(runs))
    except ChromiumMissingError as missing:
        raise SystemExit(str(missing)) from None
    print(table(["measure", "dashboard", "baseline", "baseline is"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
