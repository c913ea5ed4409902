"""Headless Chromium for the browser tests, the screenshots and the review benchmark (Selenium + chromedriver).

Uses Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); no
browser or driver is ever downloaded.
"""

from __future__ import annotations

import os
import shutil

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


def browser_paths() -> tuple[str | None, str | None]:
    """``(chromium, chromedriver)`` executables, or None where missing."""
    chromium = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and os.path.exists(p)), None)
    driver = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver") if p and os.path.exists(p)),
                  None)
    return chromium, driver


def missing_reason() -> str | None:
    """Why a headless browser cannot run here (None when it can)."""
    chromium, driver = browser_paths()
    if chromium is None:
        return "Debian's chromium is not installed (.ci/run installs it: apt-get install chromium chromium-driver)"
    if driver is None:
        return "chromedriver is not installed (apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'twitchsense[test]')"
    return None


def chromium(width: int = 1200, height: int = 900):
    """A headless Chromium driven by Selenium, at ``width`` x ``height`` CSS pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach out
    browser, driver = browser_paths()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(executable_path=driver), options=opts)
