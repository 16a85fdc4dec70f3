"""Test stack: a real SMTP sink and a real ``longshore-api dev`` process.

Importable by every suite under ``tests/`` (``pythonpath = ["tests"]`` in pyproject.toml), so the
Django tests reuse them::

    from longshore_stack import LongshoreStack, SmtpSink

Nothing here mocks Longshore: the stack runs the binary built by ``cargo build --workspace
--bins`` (``$LONGSHORE_API_BIN``, else ``$CARGO_TARGET_DIR/debug/longshore-api``, else
``<repo>/target/debug/longshore-api``) in embedded mode, on a free port, in a temp folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]

BUILD_HINT = "build it first: cargo build --workspace --bins"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_binary() -> Path:
    """Where the ``longshore-api`` binary is (not checked to exist)."""
    explicit = os.environ.get("LONGSHORE_API_BIN")
    if explicit:
        return Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR")
    base = Path(target) if target else REPO_ROOT / "target"
    if not base.is_absolute():
        base = REPO_ROOT / base
    return base / "debug" / "longshore-api"


# --------------------------------------------------------------------------------------------
# SMTP sink


class SinkMessage(EmailMessage):
    """A message the sink received: the parsed message plus its SMTP envelope."""

    envelope_from: str
    envelope_rcpt: list[str]
    raw: bytes


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts.

    ``messages`` is a list of :class:`SinkMessage` (``email.message.EmailMessage`` parsed with
    ``policy.default``, with ``envelope_from``, ``envelope_rcpt`` and ``raw``). ``wait_for``
    waits (on a condition, woken by each new message) for one that matches.
    """

    def __init__(self) -> None:
        self.port = 0
        self.messages: list[SinkMessage] = []
        self._cond = threading.Condition()
        self._controller: Any = None

    # aiosmtpd handler hook
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        msg = BytesParser(_class=SinkMessage, policy=policy.default).parsebytes(raw)
        assert isinstance(msg, SinkMessage)
        msg.envelope_from = envelope.mail_from
        msg.envelope_rcpt = list(envelope.rcpt_tos)
        msg.raw = raw
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        last: Exception | None = None
        for _ in range(5):
            port = free_port()
            controller = Controller(self, hostname="127.0.0.1", port=port, ready_timeout=10)
            try:
                controller.start()
            except Exception as exc:  # port taken meanwhile: try another one
                last = exc
                continue
            self._controller = controller
            self.port = port
            return self
        raise RuntimeError(f"the SMTP sink could not start: {last}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(
        self, predicate: Callable[[SinkMessage], bool], timeout: float = 30
    ) -> SinkMessage:
        """The first message (received so far or within ``timeout``) for which ``predicate``
        holds; fails listing what arrived otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for msg in self.messages:
                    if predicate(msg):
                        return msg
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m["Subject"], m.envelope_rcpt) for m in self.messages]
                    raise AssertionError(f"no matching message within {timeout}s; received: {seen}")
                self._cond.wait(left)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# longshore-api dev


_API_RE = re.compile(r"^  API\s+(http://\S+)", re.M)
_KEY_RE = re.compile(r"^  API key\s+(lsk_\S+)", re.M)
_ADMIN_KEY_RE = re.compile(r"^  Admin key\s+(\S+)", re.M)


def wait_until(
    condition: Callable[[], Any], timeout: float = 30, interval: float = 0.05, what: str = ""
) -> Any:
    """Polls ``condition`` until it returns something truthy (returned) or ``timeout`` passes
    (AssertionError naming ``what``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


class LongshoreStack:
    """``longshore-api dev`` (API + worker + scheduler, SQLite) in a temp folder on a free port.

    Attributes once started: ``api_url``, ``api_key``, ``admin_key`` (the operator key's secret:
    ``LONGSHORE_ADMIN_KEY`` is set to ``pytest:<it>``, so the audit log's actor is ``pytest``),
    ``data_dir``, ``log_path`` (stderr), ``process``. API keys are cached for 1 s
    (``LONGSHORE_AUTH_CACHE_SECS``), so a revoked key or disabled tenant is refused quickly.
    ``extra_env`` adds or overrides environment variables.
    """

    ADMIN_LABEL = "pytest"

    START_TIMEOUT = 60.0
    STOP_TIMEOUT = 10.0

    def __init__(
        self, *, smtp_port: int | None = None, extra_env: Mapping[str, str] | None = None
    ) -> None:
        self.smtp_port = smtp_port
        self.extra_env = dict(extra_env or {})
        self.api_url = ""
        self.api_key = ""
        self.admin_key = secrets.token_hex(32)
        self.tmp = Path()
        self.data_dir = Path()
        self.log_path = Path()
        self.out_path = Path()
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(self.tmp)),
            "PORT": "0",
            "LONGSHORE_HOST": "127.0.0.1",
            "LONGSHORE_DATA_DIR": str(self.data_dir),
            "LONGSHORE_EVENT_POLL_MS": "50",
            "LONGSHORE_EVENT_RETRY_SCHEDULE": "0s,1s,2s",
            "LONGSHORE_ADMIN_KEY": f"{self.ADMIN_LABEL}:{self.admin_key}",
            "LONGSHORE_AUTH_CACHE_SECS": "1",
            "RUST_LOG": "warn",
        }
        if self.smtp_port is not None:
            env["LONGSHORE_SMTP_URL"] = f"smtp://127.0.0.1:{self.smtp_port}"
        env.update(self.extra_env)
        return env

    def log(self) -> str:
        parts = []
        for path in (self.out_path, self.log_path):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def start(self) -> LongshoreStack:
        binary = api_binary()
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise RuntimeError(f"no longshore-api binary at {binary}; {BUILD_HINT}")
        self.tmp = Path(tempfile.mkdtemp(prefix="longshore-py-"))
        self.data_dir = self.tmp / "data"
        self.out_path = self.tmp / "api.out"
        self.log_path = self.tmp / "api.log"
        with open(self.out_path, "wb") as out, open(self.log_path, "wb") as err:
            self.process = subprocess.Popen(
                [str(binary), "dev"],
                cwd=self.tmp,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        try:
            self._wait_banner()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_banner(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.START_TIMEOUT
        while True:
            text = self.out_path.read_text(errors="replace")
            url, key = _API_RE.search(text), _KEY_RE.search(text)
            if url and key:
                self.api_url, self.api_key = url.group(1), key.group(1)
                admin = _ADMIN_KEY_RE.search(text)
                if admin and admin.group(1) != "LONGSHORE_ADMIN_KEY":
                    # extra_env unset the key: `dev` made one up and printed it.
                    self.admin_key = admin.group(1)
                return
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"longshore-api dev exited ({self.process.returncode}) before printing "
                    f"its URL and key; its output:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"longshore-api dev printed no URL and key within {self.START_TIMEOUT}s; "
                    f"its output:\n{self.log()}"
                )
            time.sleep(0.05)

    def _wait_ready(self) -> None:
        assert self.process is not None

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"longshore-api dev exited ({self.process.returncode}); its output:\n"
                    f"{self.log()}"
                )
            try:
                with urllib.request.urlopen(f"{self.api_url}/readyz", timeout=2) as resp:
                    return bool(resp.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        wait_until(ready, timeout=self.START_TIMEOUT, what=f"{self.api_url}/readyz")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(self.STOP_TIMEOUT)
        if self.tmp != Path() and self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> LongshoreStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# A local HTTP server for what Longshore (or the client) sends


class CapturedRequest:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body


class CaptureServer:
    """An HTTP server on 127.0.0.1 (a thread) that records every request and answers with what
    ``responder(request) -> (status, headers, body)`` returns (204 by default)."""

    def __init__(
        self,
        responder: Callable[[CapturedRequest], tuple[int, Mapping[str, str], bytes]] | None = None,
    ) -> None:
        self.responder = responder or (lambda _req: (204, {}, b""))
        self.requests: list[CapturedRequest] = []
        self._cond = threading.Condition()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CaptureServer:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = CapturedRequest(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with outer._cond:
                    outer.requests.append(req)
                    outer._cond.notify_all()
                status, headers, payload = outer.responder(req)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(
        self, predicate: Callable[[CapturedRequest], bool] = lambda _r: True, timeout: float = 30
    ) -> CapturedRequest:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for req in self.requests:
                    if predicate(req):
                        return req
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(r.method, r.path) for r in self.requests]
                    raise AssertionError(f"no matching request within {timeout}s; got {seen}")
                self._cond.wait(left)

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
