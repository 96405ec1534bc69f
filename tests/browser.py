"""Headless Chromium driven over the DevTools protocol (no extra package: ``websockets`` comes
with Streamlit). Used by the browser test and to take the docs' screenshots::

    python -m tests.browser http://localhost:8501/video docs/figures/app_video.png
    python -m tests.browser file://$PWD/reports/demo/index.html docs/figures/report.png
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

#: the flags of the brief: no sandbox (root in CI), no GPU, no network but the page's
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)


def chromium_path() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )


def _stop_group(pgid: int, timeout: float = 10) -> None:
    """Wait for the processes of the group ``pgid`` (Chromium's, started in a session of its
    own) to exit: asked with SIGTERM, killed after ``timeout`` seconds, given up on two
    seconds later (a zombie nobody reaps stays in its group)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout + 2:
        late = time.monotonic() - start > timeout
        try:
            os.killpg(pgid, signal.SIGKILL if late else signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return  # (no process left in the group)
        time.sleep(0.05)


class Chromium:
    """One headless Chromium with a fresh profile, and one page driven through CDP."""

    def __init__(self, width: int = 1280, height: int = 1600, timeout: float = 60):
        self.width, self.height, self.timeout = width, height, timeout
        self._ids = itertools.count(1)

    def __enter__(self) -> Chromium:
        from websockets.sync.client import connect

        exe = chromium_path()
        if exe is None:
            raise RuntimeError("chromium not found (apt-get install -y chromium)")
        self._profile = tempfile.TemporaryDirectory(prefix="bayes-chromium-")
        profile = Path(self._profile.name)
        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={profile}",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.loads(r.read())
        page = next(t for t in targets if t.get("type") == "page")
        self._conn = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        self.ws = self._conn.__enter__()
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=self.width < 600)  # fmt: skip
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.__exit__(None, None, None)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _stop_group(self.proc.pid)  # (its renderers may still write into the profile)
        self._profile.cleanup()

    def send(self, method: str, **params):
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=self.timeout))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str):
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return res.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 120, poll: float = 0.5):
        """Evaluate ``expression`` until it is truthy; return its value (or raise)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for: {expression}")
            time.sleep(poll)

    def screenshot(self, path: str | os.PathLike, *, full_page: bool = False) -> Path:
        params = {"format": "png"}
        if full_page:
            h = self.evaluate("document.documentElement.scrollHeight")
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": h, "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", **params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


def main(argv: list[str]) -> int:
    url, out = argv[0], argv[1]
    width = int(argv[2]) if len(argv) > 2 else 1280
    with Chromium(width=width, height=1000) as c:
        c.goto(url)
        c.wait_for("document.readyState === 'complete'")
        time.sleep(float(os.environ.get("SETTLE", "8")))
        c.screenshot(out, full_page=os.environ.get("FULL", "") == "1")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
