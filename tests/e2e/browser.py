"""A real Chromium (Debian's, driven by Playwright) on the running web front.

Every page a test visits through `Visitor.check` is also checked for what the issue asks of
every page: no request to any host but the app's own, no serious or critical axe-core
violation, and a screenshot saved for reviewers under SCREENSHOTS/<test name>/.
"""

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "services" / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / ".qa" / "screenshots"
SERIOUS = {"serious", "critical"}


def launch() -> Iterator[Browser]:
    if not CHROMIUM.exists() or not AXE.exists():
        missing = "Debian's chromium" if not CHROMIUM.exists() else "axe-core (make install)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} is not installed (CI requires the browser tests)")
        pytest.skip(f"{missing} is not installed")
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # this run's screenshots only
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class Visitor:
    """One person's browser: their own context (cookies), every request it made recorded."""

    page: Page
    base_url: str
    shots: Path
    javascript: bool = True
    requests: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    violations: dict[str, list[str]] = field(default_factory=dict)

    def go(self, path: str) -> Page:
        self.page.goto(f"{self.base_url}{path}")
        return self.page

    def sign_in(self, staff_id: str) -> None:
        self.go("/sign-in")
        self.page.check(f"input[name=staff_id][value={staff_id}]")
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def check(self, name: str) -> None:
        """The page now shown: accessibility, requests, screenshot."""
        self.page.wait_for_load_state("networkidle")
        self.shots.mkdir(parents=True, exist_ok=True)
        number = len(list(self.shots.glob("*.png")))  # a test's visitors share its folder
        self.page.screenshot(path=str(self.shots / f"{number:02d}-{name}.png"), full_page=True)
        self.checked.append(name)
        if self.javascript:  # axe runs in the page; with scripts off the same pages are run on
            serious = self._axe()
            self.violations[name] = serious
            assert serious == [], f"{name}: {json.dumps(serious, indent=1)}"
        foreign = [url for url in self.requests if not self._own(url)]
        assert foreign == [], f"{name}: requests to other hosts: {foreign}"

    def _axe(self) -> list[str]:
        """axe-core's serious and critical WCAG 2.2 A/AA violations on the page now shown."""
        if self.page.evaluate("typeof axe === 'undefined'"):
            self.page.evaluate(AXE.read_text())
        result = self.page.evaluate(
            "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']})"
        )
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in SERIOUS
        ]

    def _own(self, url: str) -> bool:
        return (
            url.startswith(("data:", "blob:"))
            or urlsplit(url).netloc == urlsplit(self.base_url).netloc
        )


def visitor(browser: Browser, base_url: str, test_name: str, *, javascript: bool = True) -> Visitor:
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1200, "height": 900}
    )
    page = context.new_page()
    shots = SCREENSHOTS / re.sub(r"[^\w-]", "_", test_name)
    found = Visitor(page, base_url, shots, javascript)
    page.on("request", lambda request: found.requests.append(request.url))
    return found
