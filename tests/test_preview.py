"""preview.html as a timer sees it: opened in a real (headless) Chromium, the summary and one row per
runner visible, filtering by kind working, a screenshot kept. Skips cleanly without a browser."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tests.conftest import ROOT


def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Chromium and chromedriver not installed (apt-get install -y chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium not installed")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opts)


def plan_folder(client, server, tmp_path):
    from converters.cli import main
    from converters.pull import pull

    out = tmp_path / "runscore.csv"
    pull(client, server.race_id, "runscore", out)
    subprocess.run([sys.executable, str(ROOT / "samples" / "race_day_edit.py"), str(out)], check=True)
    r = CliRunner().invoke(main, ["diff", str(out), "--team-type", "69", "-o", str(tmp_path / "plan")])
    assert r.exit_code == 0, r.output
    return tmp_path / "plan" / "preview.html"


def test_preview_page_is_self_contained(client, server, tmp_path):
    page = plan_folder(client, server, tmp_path).read_text(encoding="utf-8")
    assert "<script src" not in page and "<link" not in page and "http://" not in page.split("<body>")[1]
    assert "1 team to create, 1 add, 1 modify, 1 switch, 0 deletes" in page
    assert 'data-kind="not pushable"' in page and "Late O&#x27;Registrant" in page


def test_preview_in_a_real_browser(client, server, tmp_path):
    page = plan_folder(client, server, tmp_path)
    from selenium.webdriver.common.by import By

    driver = browser()
    try:
        driver.get(page.as_uri())
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "1 team to create, 1 add, 1 modify, 1 switch, 0 deletes" in body
        rows = driver.find_elements(By.CSS_SELECTOR, "#plan tbody tr")
        assert [r.get_attribute("data-kind") for r in rows] == ["new team", "add", "modify", "switch",
                                                                 "not pushable"]
        modify = driver.find_element(By.CSS_SELECTOR, '#plan tr[data-kind="modify"]')
        assert modify.is_displayed() and "Ingrid-Marie" in modify.text and "→" in modify.text
        driver.find_element(By.CSS_SELECTOR, '#filters input[data-kind="modify"]').click()
        assert not modify.is_displayed()  # filtered out by kind
        assert driver.find_element(By.CSS_SELECTOR, '#plan tr[data-kind="switch"]').is_displayed()
        shot = tmp_path / "preview.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        driver.quit()
