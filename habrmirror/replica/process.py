"""Run the replica for tests and the demo: in a subprocess (:class:`ReplicaProcess`) or a thread
(:class:`ReplicaThread`), each a context manager exposing ``origin``, ``log_path``, ``control()`` and
``sent_log()``. Crawls in tests point their origin setting at ``replica.origin``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode

_Runner = TypeVar("_Runner", bound="_ReplicaClient")


class _ReplicaClient:
    """What both runners share: the control-endpoint client and the sent-log reader."""

    origin: str
    log_path: Path

    def __init__(
        self,
        synthetic: int = 0,
        disallow: list[str] | None = None,
        log_path: Path | str | None = None,
        host: str = "127.0.0.1",
        latency_ms: float = 0.0,
        faults: str | None = None,
        seed: int = 0,
    ) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="habr-replica-")
        self.log_path = Path(log_path) if log_path else Path(self._workdir.name) / "sent.jsonl"
        self.synthetic = synthetic
        self.disallow = list(disallow or [])
        self.host = host
        self.latency_ms = latency_ms  # every response waits this long before its first byte
        self.faults = faults  # a --faults SPEC (habrmirror.replica.faults), with its seed
        self.seed = seed
        self.origin = ""

    def start(self: _Runner) -> _Runner:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Runner) -> _Runner:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self._workdir.cleanup()

    def control(self, action: str, **params: Any) -> dict[str, Any]:
        """Call ``/_replica/<action>`` (add, edit, delete, fail, stats) and return its JSON answer."""
        query = urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{self.origin}/_replica/{action}" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, method="POST", data=b"")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return dict(json.loads(answer.read()))
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"replica control {action} failed: {error.read().decode()}") from error

    def sent_log(self) -> list[dict[str, Any]]:
        """Every response logged so far, oldest first."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def url(self, path: str) -> str:
        """``origin + path``."""
        return self.origin + path


def most_in_window(times: list[float], seconds: float) -> int:
    """The most of ``times`` (sorted, in seconds) inside any window of ``seconds`` starting at one of them: how
    the tests and ``bench/workers.py`` read a shared rate limit off the sent log's times."""
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


class ReplicaProcess(_ReplicaClient):
    """The replica in a child process on a free port; stopped (SIGTERM, then kill) on exit."""

    def __init__(self, *args: Any, startup_timeout: float = 20.0, **kwargs: Any) -> None:
        """The runner's arguments (synthetic, disallow, log_path, host, latency_ms, faults,
        seed), and how long the child may take."""
        super().__init__(*args, **kwargs)
        host = self.host
        self._port_file = Path(self._workdir.name) / "port"
        self._args = [sys.executable, "-m", "habrmirror.replica", "--host", host, "--port", "0"]
        self._args += ["--log", str(self.log_path), "--synthetic", str(self.synthetic)]
        self._args += ["--port-file", str(self._port_file)]
        for path in self.disallow:
            self._args += ["--disallow", path]
        if self.latency_ms:
            self._args += ["--latency", str(self.latency_ms)]
        if self.faults:
            self._args += ["--faults", self.faults, "--seed", str(self.seed)]
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ReplicaProcess:
        """Spawn the child and wait until it has written its port."""
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
        self.process = subprocess.Popen(
            self._args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self.startup_timeout
        while not self._port_file.exists():
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"replica exited with {self.process.returncode}: {error.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("replica did not start in time")
            time.sleep(0.02)
        self.origin = f"http://{self.host}:{int(self._port_file.read_text())}"
        return self

    def stop(self) -> None:
        """SIGTERM, wait, kill if needed."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None


class ReplicaThread(_ReplicaClient):
    """The replica on an asyncio loop in a daemon thread of this process (cheaper than a subprocess)."""

    replica: Any = None  # the running server's Replica, once started
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def start(self) -> ReplicaThread:
        """Start the loop thread and wait until the server is bound."""
        from habrmirror.replica.catalog import Catalog
        from habrmirror.replica.faults import FaultPlan
        from habrmirror.replica.server import Replica, start_server

        ready = threading.Event()
        failure: list[BaseException] = []
        catalog = Catalog.load(self.synthetic)
        faults = FaultPlan.parse(self.faults, self.seed) if self.faults else None

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                server, replica = loop.run_until_complete(
                    start_server(
                        lambda origin: Replica(
                            catalog,
                            origin,
                            self.log_path,
                            self.disallow,
                            latency=self.latency_ms / 1000,
                            faults=faults,
                        ),
                        self.host,
                        0,
                    )
                )
            except BaseException as error:  # surfaced in start()
                failure.append(error)
                ready.set()
                return
            self.replica, self.origin = replica, replica.origin
            ready.set()
            loop.run_forever()
            server.close()
            loop.run_until_complete(server.wait_closed())
            replica.close()
            loop.close()

        self._thread = threading.Thread(target=run, name="habr-replica", daemon=True)
        self._thread.start()
        ready.wait(20)
        if failure:
            raise RuntimeError(f"replica failed to start: {failure[0]!r}")
        return self

    def stop(self) -> None:
        """Stop the loop and join the thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None
