"""The built HTML report and trainer summaries in headless Chromium: no console errors, every image loads.

Chromium is driven over the DevTools protocol with tornado's websocket client (already a dependency of the
Jupyter kernel), so the test needs no browser-automation package. Debian's ``chromium`` is installed with
apt-get when missing; the test skips, saying why, only where that is impossible. Screenshots (first screens, the
glance plot and the decision table) go to the test's tmp folder and are copied to ``build/browser/`` for humans.
At 1280 px no page may scroll sideways; the decision page must show every confirmatory verdict.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "browser"
VIEWPORT = {"width": 1280, "height": 900}
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LOAD_TIMEOUT = 90  # seconds; a cold Chromium on a loaded CI machine is slow


def _find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _install_chromium() -> str:
    """Debian's chromium via apt-get, or a skip that says why it cannot be installed here."""
    if shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed and this system has no apt-get to install it "
                    "(install Debian's 'chromium' package to run the browser check)")
    if os.geteuid() != 0:
        pytest.skip("Chromium is not installed and installing it with apt-get needs root "
                    "(run 'sudo apt-get install chromium')")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            pytest.skip(f"Chromium could not be installed ({' '.join(command)} exited {done.returncode}: {tail[0]})")
    browser = _find_browser()
    if browser is None:
        pytest.skip("apt-get installed 'chromium' but no chromium binary is on PATH")
    return browser


@pytest.fixture(scope="module")
def browser() -> str:
    return _find_browser() or _install_chromium()


class Chromium:
    """One headless Chromium with a fresh profile, started and stopped by this test."""

    def __init__(self, binary: str) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="oca-chromium-"))
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={VIEWPORT['width']},{VIEWPORT['height']}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.port = self._wait_for_port()

    def _wait_for_port(self) -> int:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + LOAD_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode} before it was ready")
            if port_file.is_file():
                lines = port_file.read_text(encoding="utf-8").split()
                if lines:
                    return int(lines[0])
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port in time")

    def page_websocket(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=30) as response:
            targets = json.loads(response.read().decode("utf-8"))
        return next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        shutil.rmtree(self.profile, ignore_errors=True)


async def _inspect(websocket_url: str, page: Path, screenshot: Path,
                   clip_selector: str | None = None) -> dict[str, Any]:
    """Open ``page``; return console errors, external requests, the state of every image, whether the page scrolls
    sideways, its text; save a screenshot of the first screen (and of ``clip_selector``'s element, when given)."""
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(websocket_url, max_message_size=256 * 1024 * 1024)
    ids = itertools.count(1)
    events: list[dict[str, Any]] = []

    async def call(method: str, **params: Any) -> dict[str, Any]:
        message_id = next(ids)
        await connection.write_message(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            raw = await asyncio.wait_for(connection.read_message(), timeout=LOAD_TIMEOUT)
            if raw is None:
                raise RuntimeError("chromium closed the DevTools connection")
            message = json.loads(raw)
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            events.append(message)

    async def wait_for(method: str) -> None:
        if any(e.get("method") == method for e in events):
            return
        while True:
            raw = await asyncio.wait_for(connection.read_message(), timeout=LOAD_TIMEOUT)
            if raw is None:
                raise RuntimeError("chromium closed the DevTools connection")
            message = json.loads(raw)
            events.append(message)
            if message.get("method") == method:
                return

    for domain in ("Page", "Runtime", "Log", "Network"):
        await call(f"{domain}.enable")
    await call("Emulation.setDeviceMetricsOverride", width=VIEWPORT["width"], height=VIEWPORT["height"],
               deviceScaleFactor=1, mobile=False)
    await call("Page.navigate", url=page.resolve().as_uri())
    await wait_for("Page.loadEventFired")
    images = (await call("Runtime.evaluate", returnByValue=True, expression=(
        "Array.from(document.images).map(i => ({complete: i.complete, width: i.naturalWidth, "
        "height: i.naturalHeight, alt: i.alt, src: i.currentSrc.slice(0, 40)}))")))["result"]["value"]
    title = (await call("Runtime.evaluate", expression="document.title", returnByValue=True))["result"]["value"]
    layout = (await call("Runtime.evaluate", returnByValue=True, expression=(
        "({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth, "
        "text: document.body.innerText})")))["result"]["value"]
    shot = await call("Page.captureScreenshot", format="png")
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    if clip_selector:
        box = (await call("Runtime.evaluate", returnByValue=True, expression=(
            f"(() => {{const e = document.querySelector({json.dumps(clip_selector)}); if (!e) return null; "
            "e.scrollIntoView(); "
            "const r = e.getBoundingClientRect(); return {x: r.left + window.scrollX, y: r.top + window.scrollY, "
            "width: r.width, height: r.height};})()")))["result"].get("value")
        if box:
            clipped = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                                 clip={**box, "scale": 1})
            screenshot.with_name(screenshot.stem + "-element.png").write_bytes(base64.b64decode(clipped["data"]))
    await call("Runtime.evaluate", expression="0")  # drain events emitted while the screenshot was taken
    connection.close()

    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            errors.append(params.get("exceptionDetails", {}).get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", "error"))
    requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    external = [url for url in requests if not url.startswith(("file:", "data:", "about:"))]
    return {"errors": errors, "images": images, "external": external, "title": title,
            "scroll_width": layout["scroll"], "client_width": layout["client"], "text": layout["text"]}


def _open(browser: str, page: Path, screenshot: Path, clip_selector: str | None = None) -> dict[str, Any]:
    chromium = Chromium(browser)
    try:
        return asyncio.run(_inspect(chromium.page_websocket(), page, screenshot, clip_selector))
    finally:
        chromium.close()


FAST_HYPOTHESES = ("h1_horizontal_trust", "h2_vertical_trust", "h3_knowledge_gain", "h5_hostile_share",
                   "h6_horizontal_trust_by_sex")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's report and summaries, on a copy of the study with its fast hypotheses only (the sampled models
    would take minutes). Set OCA_BROWSER_DEMO=1 to check the whole demo instead."""
    from oca_experiments import run_demo
    from oca_experiments.report import write_summaries

    root = tmp_path_factory.mktemp("browser")
    study = REPO
    if not os.environ.get("OCA_BROWSER_DEMO"):
        study = root / "study"
        study.mkdir()
        shutil.copy(REPO / "study.yaml", study / "study.yaml")
        for folder in ("data_contracts", "analysis", "reports", "locale"):
            shutil.copytree(REPO / folder, study / folder, ignore=shutil.ignore_patterns("__pycache__"))
        (study / "hypotheses").mkdir()
        for hid in FAST_HYPOTHESES:
            shutil.copy(REPO / "hypotheses" / f"{hid}.yaml", study / "hypotheses" / f"{hid}.yaml")
        # the registry lock too: without it every hypothesis is unregistered, hence exploratory
        shutil.copy(REPO / "hypotheses" / "registry.lock.json", study / "hypotheses" / "registry.lock.json")
    out = root / "demo"
    run_demo(out, study_dir=study)
    for lang in ("en", "ru", "ky"):
        write_summaries(out, lang=lang, out_dir=out / "summary" / lang)
    return out


def _keep_for_humans(screenshot: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for shot in (screenshot, screenshot.with_name(screenshot.stem + "-element.png")):
        if shot.is_file():
            shutil.copy(shot, SCREENSHOTS / shot.name)


def _assert_clean(seen: dict[str, Any], screenshot: Path) -> None:
    assert not seen["errors"], f"console errors: {seen['errors']}"
    assert not seen["external"], f"the page fetched external resources: {seen['external']}"
    assert seen["images"], "no images on the page"
    broken = [i for i in seen["images"] if not i["complete"] or i["width"] == 0]
    assert not broken, f"images that did not load: {broken}"
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000  # a real picture of the first screen, not a blank


def _assert_no_sideways_scroll(seen: dict[str, Any]) -> None:
    assert seen["client_width"] <= VIEWPORT["width"]
    assert seen["scroll_width"] <= seen["client_width"], (
        f"the page scrolls sideways at {VIEWPORT['width']} px: {seen['scroll_width']} > {seen['client_width']}")


def test_report_renders_without_errors_and_every_image_loads(browser: str, built: Path, tmp_path: Path) -> None:
    screenshot = tmp_path / "report-glance.png"
    seen = _open(browser, built / "report" / "index.html", screenshot, clip_selector="img[alt^='Estimates at a']")
    _keep_for_humans(screenshot)
    _assert_clean(seen, screenshot)
    _assert_no_sideways_scroll(seen)
    assert "campaign impact report" in seen["title"]
    assert all(image["alt"] for image in seen["images"])
    assert screenshot.with_name("report-glance-element.png").is_file()  # the glance plot, for review
    assert "Decision summary" in seen["text"] and "Contents" in seen["text"]
    results = json.loads((built / "results.json").read_text(encoding="utf-8"))
    bayesian = [h for h in results["hypotheses"] if (h.get("extras") or {}).get("bayesian")
                and h.get("status") == "estimated"]
    densities = [i for i in seen["images"] if i["alt"].startswith("Posterior density")]
    assert len(densities) == len(bayesian)  # one posterior density per Bayesian hypothesis
    assert not re.search(r"\bp = 0(?![.,\d])", seen["text"]), "a p-value printed as p = 0"


def _confirmatory_verdicts(run: Path) -> dict[str, str]:
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    return {str(h.get("title")): str(h.get("verdict")) for h in results["hypotheses"]
            if h.get("type") == "confirmatory" and h.get("status") == "estimated"}


def test_decision_page_shows_every_confirmatory_verdict(browser: str, built: Path, tmp_path: Path) -> None:
    screenshot = tmp_path / "decision-page.png"
    seen = _open(browser, built / "report" / "decision.html", screenshot, clip_selector=".oca-decision table")
    _keep_for_humans(screenshot)
    assert not seen["errors"], f"console errors: {seen['errors']}"
    assert not seen["external"], f"the page fetched external resources: {seen['external']}"
    assert not [i for i in seen["images"] if not i["complete"] or i["width"] == 0]
    _assert_no_sideways_scroll(seen)
    verdicts = _confirmatory_verdicts(built)
    assert verdicts
    for title, verdict in verdicts.items():
        row = next(line for line in seen["text"].splitlines() if line.startswith(title) or title in line)
        assert verdict in seen["text"].split(title, 1)[1][:400], (title, verdict, row)
    assert "We are about" not in seen["text"].split("Exploratory")[0].split("Bayesian")[0]  # frequentist rows
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
def test_trainer_summary_renders_without_errors(browser: str, built: Path, tmp_path: Path, lang: str) -> None:
    screenshot = tmp_path / f"summary-{lang}-h1.png"
    seen = _open(browser, built / "summary" / lang / "h1_horizontal_trust.html", screenshot)
    _keep_for_humans(screenshot)
    _assert_clean(seen, screenshot)
    assert len(seen["images"]) == 1 and seen["images"][0]["width"] > 100
