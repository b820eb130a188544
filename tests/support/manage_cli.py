"""`python manage.py …` as a real subprocess on a test's own stores."""

from __future__ import annotations

import os
import subprocess
import sys

from services.container import Services
from tests.support.appserver import PROJECT_ROOT


def run_manage(services: Services, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the operator CLI against the stores `services` uses; never raises on exit status."""
    env = {
        **os.environ,
        "DATABASE_URL": services.settings.sql_url,
        "REDIS_URL": services.settings.redis_url or "",
        "REDIS_KEY_PREFIX": services.settings.redis_key_prefix,
        "VAR_DIR": str(services.settings.var_dir),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
