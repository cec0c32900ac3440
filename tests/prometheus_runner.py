"""A real Prometheus for tests: started on 127.0.0.1 in a temporary directory, queried over
its HTTP API, always stopped.

    with PrometheusRunner(tmp_path, scrape_targets=["127.0.0.1:9100"]) as prom:
        prom.wait_until(lambda: prom.query('up == 1'))
        prom.query("rate(x_total[1m])")

Any config Prometheus accepts can be passed as a dict (written as JSON, which YAML reads);
``extra_args`` reach the binary unchanged (e.g. feature flags, or an existing TSDB path for
PromQL parity tests that load blocks made with ``promtool tsdb create-blocks-from``).
Every wait is bounded by a deadline; on a failure the error carries Prometheus's log tail.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from peers import free_port, require_binary

T = TypeVar("T")


class PrometheusError(RuntimeError):
    """Prometheus did not start, answered with an error, or a wait ran out of time."""


class PrometheusRunner:
    """One Prometheus process owned by a test."""

    def __init__(
        self,
        workdir: Path,
        scrape_targets: Sequence[str] = (),
        *,
        config: dict[str, Any] | None = None,
        scrape_interval: str = "1s",
        storage_path: Path | None = None,
        extra_args: Sequence[str] = (),
        binary: str | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.binary = binary or require_binary("prometheus")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.storage_path = storage_path or self.workdir / "prometheus-data"
        self.config = config if config is not None else self.scrape_config(
            scrape_targets, scrape_interval)
        self.extra_args = list(extra_args)
        self.log_path = self.workdir / "prometheus.log"
        self._proc: subprocess.Popen | None = None

    @staticmethod
    def scrape_config(targets: Sequence[str], interval: str = "1s",
                      job: str = "watchkeeper") -> dict[str, Any]:
        """The smallest config that scrapes ``targets`` every ``interval``."""
        config: dict[str, Any] = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval}}
        if targets:
            config["scrape_configs"] = [
                {"job_name": job, "static_configs": [{"targets": list(targets)}]}]
        return config

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> PrometheusRunner:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(json.dumps(self.config, indent=1))
        args = [
            self.binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={self.storage_path}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=info",
            *self.extra_args,
        ]
        log = self.log_path.open("wb")
        try:
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                          cwd=self.workdir)
        finally:
            log.close()
        try:
            self.wait_until(self._ready, timeout=timeout, what="Prometheus to become ready")
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise PrometheusError(f"Prometheus exited with {self._proc.returncode}\n"
                                  + self.log_tail())
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as resp:
                return resp.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def stop(self, timeout: float = 20.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)

    def __enter__(self) -> PrometheusRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- HTTP API -------------------------------------------------------------------------

    def api(self, path: str, **params: Any) -> Any:
        """GET ``/api/v1/<path>`` and return its ``data``, or raise PrometheusError."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{self.url}/api/v1/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
            raise PrometheusError(f"{path}: {body.get('error', e)}") from None
        if body.get("status") != "success":
            raise PrometheusError(f"{path}: {body}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant vector (or scalar) result of ``expr``, now or at unix time ``at``."""
        data = self.api("query", query=expr, time=at)
        return data["result"] if data["resultType"] in ("vector", "matrix") else [data]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        return self.api("query_range", query=expr, start=start, end=end, step=step)["result"]

    def targets(self) -> list[dict[str, Any]]:
        return self.api("targets")["activeTargets"]

    def wait_until(self, probe: Callable[[], T], timeout: float = 60.0,
                   interval: float = 0.25, what: str | None = None) -> T:
        """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                result = probe()
                if result:
                    return result
            except PrometheusError:
                raise
            except (OSError, ValueError, KeyError) as e:
                last_error = e
            if time.monotonic() > deadline:
                raise PrometheusError(
                    f"gave up waiting for {what or probe!r} after {timeout}s"
                    + (f" (last error: {last_error})" if last_error else "")
                    + "\n" + self.log_tail())
            time.sleep(interval)

    def wait_for_query(self, expr: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The first non-empty result of ``expr``."""
        return self.wait_until(lambda: self.query(expr), timeout=timeout, what=repr(expr))
