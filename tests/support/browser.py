"""Chromium through Playwright, using Debian's /usr/bin/chromium (never a downloaded build)."""

from __future__ import annotations

import os
import re
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Locator, expect, sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or None


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Yield a browser, or skip loudly when none is installed (fail when E2E_REQUIRED=1)."""
    path = chromium_path()
    if path is None:
        message = "Chromium not found (apt-get install chromium): browser tests NOT RUN"
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(message + " and E2E_REQUIRED=1")
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def pick_option(select: Locator, option: str | re.Pattern[str], chip: str) -> None:
    """Pick `option` in a Streamlit multiselect and wait for its `chip` to show.

    The chip's text is typed into the box first, so the list holds just the wanted option
    (a long list redrawn under the pointer lost clicks); the dropdown can still swallow a
    click (it is still opening, or a rerun redraws it), so the pick is tried again, up to
    four times, before the test fails."""
    page = select.page
    box = select.get_by_role("combobox")
    for attempt in range(4):
        if attempt and chip in select.inner_text():
            return  # the last try's pick showed after all
        box.click()
        box.fill(chip)
        page.get_by_role("option", name=option).first.click()
        page.keyboard.press("Escape")
        try:
            expect(select).to_contain_text(chip, timeout=7_000)
            return
        except AssertionError:
            if attempt == 3:
                raise
