#!/usr/bin/env python3
"""Writes the sync client (src/longshore/_sync/client.py) from the async one
(src/longshore/_async/client.py) with unasync, then formats it with ruff.

    python scripts/generate_sync.py           # write
    python scripts/generate_sync.py --check   # exit 1 if the committed file differs

One source of truth: the async client is written by hand, the sync one never is.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "longshore" / "_async" / "client.py"
TARGET = ROOT / "src" / "longshore" / "_sync" / "client.py"

# Besides unasync's own (async/await, __aenter__, AsyncIterator, StopAsyncIteration, …).
REPLACEMENTS = {
    "AsyncClient": "Client",
    "aclose": "close",
    "asleep": "sleep",
    "_async": "_sync",
}

NOTE = (
    "# Generated from longshore/_async/client.py by scripts/generate_sync.py: do not edit.\n"
    "# Edit the async client and run `python clients/python/scripts/generate_sync.py`.\n"
)


def render() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        fromdir = Path(tmp) / "_async"
        todir = Path(tmp) / "_sync"
        fromdir.mkdir()
        src = fromdir / "client.py"
        src.write_text(SOURCE.read_text())
        rule = unasync.Rule(
            fromdir=str(fromdir) + "/", todir=str(todir) + "/", additional_replacements=REPLACEMENTS
        )
        unasync.unasync_files([str(src)], rules=[rule])
        out = todir / "client.py"
        code = NOTE + out.read_text()
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
    code = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != code:
            print(f"{TARGET} is out of date: run python {Path(__file__).relative_to(ROOT)}")
            return 1
        return 0
    TARGET.write_text(code)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
