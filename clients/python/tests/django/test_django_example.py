"""A smoke test of examples/django: its settings load and pass `manage.py check` (without a
Longshore: the check does not call it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "django"


def test_example_project_passes_check(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LONGSHORE_", "DJANGO_"))}
    env.update(
        LONGSHORE_API_URL="http://127.0.0.1:8080",
        LONGSHORE_API_KEY="lsk_example_key",
        LONGSHORE_TASK_SECRET="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
        LONGSHORE_EVENT_SECRET="whsec_" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
        LONGSHORE_CALLBACK_URL="http://127.0.0.1:8000/longshore/",
        PYTHONDONTWRITEBYTECODE="1",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout

    # ... and names what is missing without the environment.
    del env["LONGSHORE_TASK_SECRET"]
    missing = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode != 0
    assert "longshore.E011" in missing.stderr
    assert "TASK_SECRET" in missing.stderr
