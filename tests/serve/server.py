"""``fase serve`` in a subprocess on a free localhost port, and real HTTP requests to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

# `fase serve` as the lead registers it: serve_command wrapped by reports_errors.
LAUNCH = """
import sys, typer
from fase.cli import reports_errors
from fase.cli.serve import serve_command
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(reports_errors(serve_command))
app(sys.argv[1:])
"""


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Service:
    """One ``fase serve RUN_DIR --db DB`` process; :meth:`start` waits for ``/health``."""

    def __init__(self, run_dir: Path, db: Path, *options: str) -> None:
        self.run_dir, self.db, self.options = run_dir, db, options
        self.log = db.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None
        self.client: httpx.Client | None = None

    def start(self, timeout: float = 300.0) -> Service:
        port = free_port()
        args = [str(self.run_dir), "--port", str(port), "--db", str(self.db), *self.options]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, *args], stdout=log, stderr=log, env=env
            )
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=60.0, trust_env=False
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fase serve exited: {self.log.read_text()[-3000:]}")
            try:
                if self.client.get("/health").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"fase serve did not answer in {timeout} s: {self.log.read_text()}")

    def get(self, path: str, **params: object) -> httpx.Response:
        assert self.client is not None
        return self.client.get(path, params=params)

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        assert self.client is not None
        return self.client.post(path, **kwargs)  # type: ignore[arg-type]

    def kill9(self) -> None:
        """SIGKILL: no shutdown handler runs, nothing is flushed by the service."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()
