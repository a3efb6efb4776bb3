"""A live portal on loopback and Debian's Chromium driven by Playwright, for the browser tests."""

import os
import shutil
import threading
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium tries to reach Google's services at start-up; this machine has no network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run must install it (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")


@contextmanager
def running(server):
    """SERVER (werkzeug's or http.server's, bound to a loopback port) answering on a thread of its
    own while the block runs, its address given; afterwards its port is closed: nothing listens."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextmanager
def live_server(app):
    from werkzeug.serving import make_server

    with running(make_server("127.0.0.1", 0, app, threaded=True)) as base:
        yield base


@contextmanager
def chromium(java_script: bool = True, **options):
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(java_script_enabled=java_script, accept_downloads=True, **options)
        try:
            yield context
        finally:
            context.close()
            browser.close()
