"""A real admin server on the live test database, and a real headless Chromium.

CI must provide Debian's ``chromium`` package and the ``playwright`` Python package
(the ``test`` extra). Playwright's own browser download is never used.
"""

from __future__ import annotations

import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests import procs

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = procs.ROOT / "test-artifacts" / "screenshots"

T = TypeVar("T")


def off_loop(fn: Callable[[], T]) -> T:
    """Run database code in a thread of its own.

    Playwright's sync API keeps an event loop running in the test's thread, and
    Django refuses synchronous queries in a thread with a running loop.
    """

    def run() -> T:
        from django.db import connections

        try:
            return fn()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_http(url: str, server: procs.Process, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.popen.poll() is not None:
            raise RuntimeError(f"the admin server exited:\n{server.log()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout}s:\n{server.log()[-3000:]}")


@pytest.fixture(scope="session")
def admin_server(worker_env) -> Iterator[str]:
    """``manage.py runserver`` in a process of its own, on the test database workers use."""
    port = _free_port()
    server = procs.Process(
        "admin-server",
        [
            sys.executable,
            "manage.py",
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
            "--insecure",  # serve the admin's static files whatever DEBUG is
        ],
        worker_env,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_http(f"{base_url}/admin/login/", server)
        yield base_url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module: while it runs, this thread has an event loop (see off_loop)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's browser with `apt-get install chromium`."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Playwright is missing: `pip install -e '.[test]'` (or `pip install playwright`)."
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request) -> Iterator[Any]:
    """A fresh browser tab; on failure its last state is saved as a screenshot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    failed_shot = SCREENSHOTS / f"FAILED-{request.node.name}.png"
    failed_shot.unlink(missing_ok=True)
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        tab.screenshot(path=str(failed_shot), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
