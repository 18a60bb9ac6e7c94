"""A real headless browser for the tests: Debian's Chromium driven through its chromedriver with
Selenium. Never a browser downloaded by a Python package; never skipped: a machine without them
fails the test that needs one, saying how to install them (``make test`` does it)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NAVIGATION_SECONDS = 30
NEW_PAGE_LOADED = "return !window.centralitaOldPage && document.readyState === 'complete'"


@dataclass(frozen=True)
class Page:
    status_text: str
    """The page's ``#message`` paragraph, as the person reads it."""
    title: str
    has_confirm: bool
    choices: tuple[str, ...] = ()
    """The names offered by a "who are you?" question (a team mailbox's link)."""


class Browser:
    """Each call runs the blocking WebDriver protocol on a thread, so the server under test (on this
    event loop) keeps answering the browser."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    async def open(self, url: str) -> Page:
        await asyncio.to_thread(self.driver.get, url)
        return await self.page()

    async def confirm(self, as_name: str | None = None) -> Page:
        """Press the page's button (choosing ``as_name`` first when the page asks who you are)."""
        await asyncio.to_thread(self._confirm, as_name)
        return await self.page()

    async def page(self) -> Page:
        return await asyncio.to_thread(self._read)

    def _confirm(self, as_name: str | None) -> None:
        if as_name is not None:
            self.driver.find_element(By.XPATH, f"//label[normalize-space()='{as_name}']").click()
        button = self.driver.find_element(By.CSS_SELECTOR, "form button[type=submit]")
        # A click does not wait for the form's answer, and until the old page is gone, reading it
        # reads the question again (or an element the navigation is tearing down, which Chromium
        # answers with one error or another). So the old page's window is marked, and the answer
        # is the first complete document whose window lacks the mark: no element is touched.
        self.driver.execute_script("window.centralitaOldPage = true")
        button.click()
        self._wait(lambda d: d.execute_script(NEW_PAGE_LOADED))

    def _read(self) -> Page:
        page: Page = self._wait(lambda _: self._read_once())
        return page

    def _wait(self, condition: Any) -> Any:
        """``condition``'s first truthy answer; a WebDriver error (a page going away) is a "not yet"."""
        wait = WebDriverWait(self.driver, NAVIGATION_SECONDS, ignored_exceptions=[WebDriverException])
        return wait.until(condition)

    def _read_once(self) -> Page:
        buttons = self.driver.find_elements(By.CSS_SELECTOR, "form button[type=submit]")
        labels = self.driver.find_elements(By.CSS_SELECTOR, "form label")
        return Page(
            status_text=self.driver.find_element(By.ID, "message").text,
            title=self.driver.title,
            has_confirm=bool(buttons),
            choices=tuple(label.text for label in labels),
        )


@asynccontextmanager
async def headless_browser(tmp_path: Path) -> AsyncIterator[Browser]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f"no headless browser: {', '.join(missing)} missing. `make test` installs them; or run "
            "`sudo apt-get install chromium chromium-driver`",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = await asyncio.to_thread(webdriver.Chrome, options=options, service=service)
    try:
        yield Browser(driver)
    finally:
        await asyncio.to_thread(driver.quit)
