"""End to end: the app's server on localhost, opened in headless Chromium (Debian's; .ci/run
installs it). The page must render its title and a Plotly chart with no exception shown."""

import os
import signal
import socket
import subprocess
import time

import pytest

from tests.browser import Chromium, chromium_path

pytestmark = pytest.mark.slow

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing in CI: .ci/run installs it with apt-get")
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from bayes.app.cli import server_command, server_env, wait_for_server

    port = _free_port()
    root = tmp_path_factory.mktemp("browser")
    env = server_env(root / "app-data")
    env.update(BAYES_NO_TRACK="1", BAYES_CORES="1", BAYES_NO_PROGRESS="1")
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        server_command(port, address="127.0.0.1"),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_for_server(url, proc, timeout=120):
            raise RuntimeError((root / "server.log").read_text(errors="replace")[-3000:])
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_video_page_renders_in_chromium(server, tmp_path):
    shots = os.environ.get("BAYES_SCREENSHOTS")  # e.g. docs/figures, to refresh the docs
    with Chromium(width=1280, height=1700) as browser:
        browser.goto(server + "/video")
        title = browser.wait_for(
            "Array.from(document.querySelectorAll('h1')).map(h => h.textContent)"
            ".find(t => t.includes('integrated feed or standalone'))",
            timeout=180,
        )
        assert title.startswith("Video: integrated feed or standalone app?")
        charts = browser.wait_for(
            "document.querySelectorAll('.js-plotly-plot .main-svg').length", timeout=180
        )
        assert charts >= 2  # the decision histogram and the sensitivity map
        assert browser.evaluate("document.title").startswith("Video decision")
        time.sleep(1.0)  # let the last chart finish drawing
        assert (
            browser.evaluate("document.querySelectorAll('[data-testid=stException]').length") == 0
        )
        metrics = browser.evaluate(
            "Array.from(document.querySelectorAll('[data-testid=stMetricLabel]'))"
            ".map(e => e.textContent)"
        )
        assert "P(standalone better)" in metrics
        shot = browser.screenshot(tmp_path / "app_video.png")
        assert shot.stat().st_size > 30_000
        if shots:
            browser.screenshot(os.path.join(shots, "app_video.png"))
