"""Real receivers on loopback for the alerts tests: an HTTP server that records every POST
(Apprise's json:// channels and the signal webhooks), a server speaking Telegram's Bot API
(sendMessage, getMe) for tgram:// channels, and a real SMTP server (aiosmtpd) for
mailto://. Each can be stopped and started again on the same port (a receiver that is
down refuses connections)."""

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Records POSTs; answers 200 (or `status`)."""

    port: int = field(default_factory=free_port)
    status: int = 200
    delay: float = 0.0  # seconds before answering (a slow receiver)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self):
        self._server = None
        self._lock = threading.Lock()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                answer = receiver.answer(self.path, body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args):
                pass

        return Handler

    def answer(self, _path: str, _body: bytes) -> bytes:
        return b"{}"

    def start(self) -> "HttpReceiver":
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def wait_for(self, predicate, timeout: float = 20.0) -> list[Received]:
        """The messages once predicate(messages) holds; AssertionError after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages()
            if predicate(messages):
                return messages
            time.sleep(0.05)
        raise AssertionError(f"receiver got {len(self.messages())} message(s): {self.messages()}")


class TelegramServer(HttpReceiver):
    """Telegram's Bot API as Apprise's tgram:// plugin uses it: POST /bot<token>/<method>."""

    def answer(self, path: str, body: bytes) -> bytes:
        method = path.rsplit("/", 1)[-1]
        if method == "getMe":
            return json.dumps({"ok": True, "result": {"id": 1, "is_bot": True}}).encode()
        chat = json.loads(body or b"{}").get("chat_id")
        return json.dumps(
            {"ok": True, "result": {"message_id": len(self.received), "chat": {"id": chat}}}
        ).encode()

    def sent_messages(self) -> list[dict]:
        return [m.json() for m in self.messages() if m.path.endswith("/sendMessage")]


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) keeping every message it accepts."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        receiver = self

        class Handler:
            async def handle_DATA(self, _server, _session, envelope):
                receiver.messages.append(
                    message_from_bytes(envelope.content, policy=default_policy)
                )
                return "250 OK"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpReceiver":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
