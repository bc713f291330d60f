"""The HTML report of `leanify bulk` in a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium): it renders from the file alone, its charts are there, a
click on a header sorts the table, and a screenshot is saved (the pytest tmp dir, and
build/bulk-report.png for a person to look at)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from corpus_paths import ROOT
from test_bulk import bulk, copy_corpus

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CHROMIUM UNAVAILABLE under CI=true (scripts/test.sh installs it): {reason}", pytrace=False)
    pytest.skip(f"!!! HTML REPORT TEST SKIPPED: {reason}")


@pytest.fixture
def browser(tmp_path):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        _unavailable(f"selenium is not installed ({exc})")
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK):
            _unavailable(f"{exe} missing: apt-get install chromium chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _column(driver, index: int) -> list[str]:
    return [td.text for td in driver.find_elements("css selector", f"#files tbody tr td:nth-child({index})")]


def test_report_renders_sorts_and_is_screenshotted(browser, tmp_path):
    copy_corpus(tmp_path / "repos", 30)
    bad = tmp_path / "repos" / "zz-bad"
    bad.mkdir()
    (bad / "Dockerfile").write_text("FROM debian\nNOPE x\n")
    page = tmp_path / "report.html"
    proc = bulk(tmp_path / "repos", "--report", page, "--jobs", "2")
    assert proc.returncode == 4 and page.exists(), proc.stderr
    bulk(tmp_path / "repos", "--report", tmp_path / "report.json", "--jobs", "2")
    data = json.loads((tmp_path / "report.json").read_text())
    recs, summary = data["files"], data["summary"]

    browser.get(page.as_uri())
    assert browser.title == f"leanify bulk report — {len(recs)} files"
    rows = browser.find_elements("css selector", "#files tbody tr")
    assert len(rows) == len(recs) == 31
    assert browser.find_element("css selector", "#count-changed b").text == str(summary["changed"])
    assert browser.find_element("css selector", "#count-error b").text == "1"
    bars = browser.find_elements("css selector", "#chart-rules rect.bar")
    assert len(bars) == len(summary["changes_per_rule"]) > 0
    widths = [float(b.get_attribute("width")) for b in bars]
    top_rule = max(summary["changes_per_rule"], key=summary["changes_per_rule"].get)
    assert widths[list(summary["changes_per_rule"]).index(top_rule)] == max(widths)  # the longest bar is the top rule
    assert browser.find_element("css selector", "#no-sizes").is_displayed()  # no --verify, no sizes invented

    repos = _column(browser, 1)
    assert repos == sorted(repos)  # the report's own order (by repository, then path)
    browser.find_element("xpath", "//th[text()='changes']").click()
    changes = [int(x) for x in _column(browser, 5)]
    assert changes == sorted(changes) and changes != [int(x) for x in sorted(changes, reverse=True)]
    browser.find_element("xpath", "//th[text()='changes']").click()
    assert [int(x) for x in _column(browser, 5)] == sorted(changes, reverse=True)
    assert browser.find_element("xpath", "//th[text()='changes']").get_attribute("aria-sort") == "descending"
    browser.find_element("xpath", "//th[text()='status']").click()
    statuses = _column(browser, 3)
    assert statuses == sorted(statuses) and statuses[0] == "changed" and "error" in statuses
    browser.find_element("xpath", "//th[text()='repository']").click()
    browser.find_element("xpath", "//th[text()='repository']").click()
    assert _column(browser, 1) == sorted(repos, key=str.lower, reverse=True)

    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], severe  # no script error, no blocked request (the page needs no network)

    browser.find_element("xpath", "//th[text()='changes']").click()  # the screenshot: most changes last
    browser.find_element("xpath", "//th[text()='changes']").click()  # ... first
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(max(height, 800), 4000))
    shot = tmp_path / "bulk-report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    keep = ROOT / "build" / "bulk-report.png"
    keep.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, keep)


def test_size_chart_from_verification_figures(browser, tmp_path):
    """The per-repository size chart, from records carrying the figures --verify measures."""
    from leanify.bulk_report import write_report

    def rec(repo, path, before, after):
        return {"path": path, "repo": repo, "repo_root": f"/src/{repo}", "status": "changed", "rules": ["LEAN010"],
                "changes": [{"rule": "LEAN010", "lines": [2, 3], "reason": "merged"}], "suggestions": [],
                "reasons": ["LEAN010: merged"], "files": [], "error": None, "written": False,
                "verification": {"verdict": "pass", "passed": True, "reasons": [], "warnings": [],
                                 "before": {"image_bytes": before, "layers": 9}, "after": {"image_bytes": after, "layers": 7},
                                 "rebuild": None}}

    records = [rec("api", "Dockerfile", 900_000_000, 300_000_000), rec("api", "worker.Dockerfile", 100_000_000, 100_000_000),
               rec("web", "Dockerfile", 400_000_000, 380_000_000)]
    page = tmp_path / "sizes.html"
    write_report(page, records, {"verify": True})
    browser.get(page.as_uri())
    bars = browser.find_elements("css selector", "#chart-sizes rect.bar")
    assert len(bars) == 4  # two repositories, before and after each
    w = [float(b.get_attribute("width")) for b in bars]
    assert w[0] == max(w) and w[1] == pytest.approx(w[0] * 0.4, abs=1)  # api: 1.0 GB -> 0.4 GB
    text = browser.find_element("id", "chart-sizes").text
    assert "1.0 GB" in text and "400.0 MB (-60.0%)" in text and "(-5.0%)" in text
    browser.find_element("xpath", "//th[text()='size change']").click()
    assert _column(browser, 8) == ["-66.7%", "-5.0%", "+0.0%"]
    assert browser.save_screenshot(str(tmp_path / "bulk-report-sizes.png"))
