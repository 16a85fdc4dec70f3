#!/usr/bin/env python3
"""Writes the sync clients (src/longshore/_sync/{client,admin}.py) from the async ones
(src/longshore/_async/{client,admin}.py) with unasync, then formats them with ruff.

    python scripts/generate_sync.py           # write
    python scripts/generate_sync.py --check   # exit 1 if a committed file differs

One source of truth: the async clients are written by hand, the sync ones never are.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync

ROOT = Path(__file__).resolve().parents[1]
ASYNC_DIR = ROOT / "src" / "longshore" / "_async"
SYNC_DIR = ROOT / "src" / "longshore" / "_sync"
#: The modules generated, by file name (the tenant client, the operator client).
MODULES = ("client.py", "admin.py")

# Besides unasync's own (async/await, __aenter__, AsyncIterator, StopAsyncIteration, …).
REPLACEMENTS = {
    "AsyncClient": "Client",
    "AsyncAdminClient": "AdminClient",
    "aclose": "close",
    "asleep": "sleep",
    "_async": "_sync",
}


def note(name: str) -> str:
    return (
        f"# Generated from longshore/_async/{name} by scripts/generate_sync.py: do not edit.\n"
        "# Edit the async client and run `python clients/python/scripts/generate_sync.py`.\n"
    )


def render(name: str = "client.py") -> str:
    """The sync module generated from ``_async/<name>``."""
    with tempfile.TemporaryDirectory() as tmp:
        fromdir = Path(tmp) / "_async"
        todir = Path(tmp) / "_sync"
        fromdir.mkdir()
        src = fromdir / name
        src.write_text((ASYNC_DIR / name).read_text())
        rule = unasync.Rule(
            fromdir=str(fromdir) + "/", todir=str(todir) + "/", additional_replacements=REPLACEMENTS
        )
        unasync.unasync_files([str(src)], rules=[rule])
        out = todir / name
        code = note(name) + out.read_text()
        out.write_text(code)
        # Formatted with the project's ruff settings (line length), as if it lived in src/.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                "format",
                "--quiet",
                "--config",
                str(ROOT / "pyproject.toml"),
                str(out),
            ],
            check=True,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                "check",
                "--quiet",
                "--fix-only",
                "--select",
                "I",
                "--config",
                str(ROOT / "pyproject.toml"),
                str(out),
            ],
            check=True,
        )
        return out.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = 0
    for name in MODULES:
        code = render(name)
        target = SYNC_DIR / name
        if args.check:
            if not target.exists() or target.read_text() != code:
                print(f"{target} is out of date: run python {Path(__file__).relative_to(ROOT)}")
                stale = 1
            continue
        target.write_text(code)
        print(f"wrote {target}")
    return stale


if __name__ == "__main__":
    sys.exit(main())
