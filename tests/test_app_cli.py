"""`bayes app` on a machine that never ran Streamlit: the server starts headless (no first-run
e-mail prompt waiting on stdin), answers on localhost, and the browser is opened by us once it
answers; nothing is written in the user's ~/.streamlit."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("streamlit")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_server_is_always_headless():
    from bayes.app.cli import server_command, server_url

    cmd = server_command(8600, address="127.0.0.1")
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert (flags["--server.port"], flags["--server.address"]) == ("8600", "127.0.0.1")
    assert server_url(8600, "0.0.0.0") == "http://localhost:8600"
    assert server_url(8600, "::1") == "http://[::1]:8600"


def test_bayes_app_starts_without_streamlit_credentials(tmp_path):
    """`bayes app` (browser wanted) with HOME an empty folder and stdin an open pipe nobody
    writes to: the server answers HTTP, $BROWSER is called with its URL after that, and HOME
    is still empty."""
    home = tmp_path / "home"
    home.mkdir()
    opened = tmp_path / "opened.txt"
    opener = tmp_path / "opener"  # the "browser": records the URL it is asked to open
    opener.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    opener.chmod(0o755)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, HOME=str(home), BROWSER=f"{opener} %s", BAYES_NO_TRACK="1")
    env.pop("STREAMLIT_SERVER_HEADLESS", None)
    argv = [sys.executable, "-m", "bayes.cli", "app", "--port", str(port)]
    argv += ["--address", "127.0.0.1", "--data", str(tmp_path / "data")]
    proc = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not (opened.is_file() and opened.read_text().strip()):
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the browser was not opened within 90 s"
            time.sleep(0.2)
        assert opened.read_text().strip() == url
        with urllib.request.urlopen(url + "/_stcore/health", timeout=10) as r:
            assert r.read().strip() == b"ok"
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: `bayes app` and the server stop
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    output = proc.stdout.read().decode(errors="replace")
    assert code == 0, output
    assert "Email" not in output and "Welcome to Streamlit" not in output
    assert list(home.iterdir()) == []  # no ~/.streamlit (credentials, config) written
