"""The real web process (`streamlit run server.py`) in a subprocess on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.settings import Settings, load_settings
from tests.support.net import free_port, wait_for_http

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class AppServer:
    url: str
    log_path: Path
    env: Mapping[str, str]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def settings(self, **overrides: Any) -> Settings:
        """Settings on this server's stores (and Airtable, when it has one), so a test can
        arrange state the server will see."""
        airtable = {
            name: self.env[key]
            for name, key in (
                ("airtable_endpoint_url", "AIRTABLE_ENDPOINT_URL"),
                ("airtable_token", "AIRTABLE_TOKEN"),
                ("public_url", "PUBLIC_URL"),
            )
            if key in self.env
        }
        return load_settings(
            database_url=self.env["DATABASE_URL"],
            redis_url=self.env["REDIS_URL"],
            redis_key_prefix=self.env["REDIS_KEY_PREFIX"],
            var_dir=Path(self.env["VAR_DIR"]),
            **airtable,
            **overrides,
        )


@contextmanager
def run_app_server(env: Mapping[str, str], log_path: Path) -> Iterator[AppServer]:
    """Start the app with `env` added to this environment; stop it on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"PUBLIC_URL": url, **env}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "server.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=log, stderr=log
        )
    try:
        wait_for_http(f"{url}/api/health", timeout=60)
        yield AppServer(url=url, log_path=log_path, env=dict(env))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
