"""The HTML report in a real browser: headless Chromium, no network.

Driven with Playwright when it is installed (element sizes, requests, console),
otherwise with Chromium's own ``--dump-dom`` and ``--screenshot``.  A full-page
screenshot is kept in ``$HEADFLOW_ARTEFACTS`` (or the test's temporary
directory) with the page printed to PDF, their paths recorded as the test
properties ``screenshot`` and ``print``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_reports import PROVENANCE, _document

from reports.render import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian package chromium)"
)


def _artefacts(tmp_path: Path) -> Path:
    where = Path(os.environ.get("HEADFLOW_ARTEFACTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    render(_document(), "html", out, provenance=PROVENANCE)
    return out / "report.html"


def test_report_renders_in_chromium_without_network(report, tmp_path, request):
    """Math and figures take up space, nothing is fetched, nothing overflows."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed"
    )
    screenshot = _artefacts(tmp_path) / "report-browser.png"
    printed = screenshot.with_name("report-print.pdf")
    requests, problems = [], []

    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 3000})
            page.on("request", lambda r: requests.append(r.url))
            page.on(
                "console",
                lambda m: m.type in ("error", "warning") and problems.append(m.text),
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(report.as_uri(), wait_until="load")

            maths = page.eval_on_selector_all(
                "math", "els => els.map(e => e.getBoundingClientRect().toJSON())"
            )
            plots = page.eval_on_selector_all(
                "figure svg.plot",
                "els => els.map(e => e.getBoundingClientRect().toJSON())",
            )
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.complete, e.naturalWidth, e.src])"
            )
            scripts = page.evaluate("document.scripts.length")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            heading = page.inner_text("#claim-C2-x h2")
            page.screenshot(path=str(screenshot), full_page=True)
            page.emulate_media(media="print")
            pdf = page.pdf(path=str(printed), format="A4")
        finally:
            browser.close()
    artefacts = [("screenshot", str(screenshot)), ("print", str(printed))]
    request.node.user_properties += artefacts
    request.node.add_report_section(
        "call", "artefacts", "\n".join(f"{k}: {v}" for k, v in artefacts)
    )

    assert len(maths) == 2
    assert all(m["width"] > 20 and m["height"] > 10 for m in maths)
    assert len(plots) == 3
    assert all(p["width"] > 300 and p["height"] > 150 for p in plots)
    assert all(
        done and width > 0 and src.startswith("data:") for done, width, src in images
    )
    assert requests == [report.as_uri()]
    assert problems == []
    assert scripts == 0
    assert overflow <= 0
    assert "<script>alert(1)</script>" in heading
    assert screenshot.stat().st_size > 50_000
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000


def test_report_dom_and_screenshot_from_chromium_command_line(report, tmp_path):
    """Chromium's own headless mode parses the page into MathML and SVG."""
    profile = tmp_path / "profile"
    base = [CHROMIUM, "--headless", *FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run(
        [*base, "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    screenshot = tmp_path / "cli.png"
    shot = subprocess.run(
        [
            *base,
            f"--screenshot={screenshot}",
            "--window-size=1200,3000",
            "--hide-scrollbars",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<math") == 2 and dom.stdout.count("<svg") == 3
    assert "<script" not in dom.stdout
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 50_000
