"""Real receivers for the care tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver,
both on 127.0.0.1, each able to misbehave the way the issue lists (refuse, 500, hang, redirect)."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support import free_port


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        self.server.attempts += 1
        if self.server.refuse:
            return "554 5.7.1 message refused"
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.server.messages.append(message)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on a free loopback port; ``refuse`` answers every message with 554."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.attempts = 0
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """``mode``: ok (200), error (500), hang (never answers while the test runs), redirect (302)."""

    mode: str = "ok"
    hits: list[Hit] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    _release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.hits.append(Hit(self.path, dict(self.headers.items()), self.rfile.read(length)))
                if self.path != "/hook":
                    self.send_response(200)
                elif receiver.mode == "hang":
                    receiver._release.wait(30)
                    return
                elif receiver.mode == "error":
                    self.send_response(500)
                elif receiver.mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = False
        self._server.block_on_close = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def hook_hits(self) -> list[Hit]:
        return [h for h in self.hits if h.path == "/hook"]
