"""Real receivers on loopback for the delivery tests: an HTTP server (a department system, a robot, an SMS gateway)
and an SMTP server (aiosmtpd), each started by the test on a free port."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HttpReceiver:
    """Records every POST (headers and body); answers ``status`` (200 unless a test makes it fail). ``down()`` stops
    listening altogether (connection refused), ``up()`` listens again on the same port."""

    def __init__(self, port: int | None = None, answer: dict | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received: list[dict] = []
        self.status = 200
        self.answer = answer or {"ok": True}
        self._server = None
        self._lock = threading.Lock()

    def up(self) -> "HttpReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    if receiver.status == 200:
                        receiver.received.append({"headers": dict(self.headers), "body": body, "path": self.path})
                payload = json.dumps(receiver.answer).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def json(self) -> list[dict]:
        with self._lock:
            return [json.loads(r["body"]) for r in self.received]


class SmtpReceiver:
    """An aiosmtpd server keeping every message it is given."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
                from email import message_from_bytes, policy

                receiver.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content,
                                                                                   policy=policy.default)))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpReceiver":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
