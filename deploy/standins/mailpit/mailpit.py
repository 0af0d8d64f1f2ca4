#!/usr/bin/python3
"""A mail catcher standing in for Mailpit: SMTP on 1025, and on 8025 the HTTP API calls
GET /api/v1/messages (newest first: ID, From, To, Subject), GET /api/v1/message/<ID> (the same
with Text and HTML) and GET /readyz, with Mailpit's field names. Messages live in memory only.
`/mailpit readyz` asks the running catcher, for the compose health check."""

import json
import sys
import threading
import urllib.request
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

MESSAGES: list[dict[str, object]] = []
LOCK = threading.Lock()


def addresses(header: str | None) -> list[dict[str, str]]:
    return [{"Name": name, "Address": address} for name, address in getaddresses([header or ""])]


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    return part.get_content() if part is not None else ""


class Catcher:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        summary = {
            "ID": uuid.uuid4().hex,
            "MessageID": message.get("Message-ID", ""),
            "From": (addresses(message.get("From")) or [{"Name": "", "Address": ""}])[0],
            "To": addresses(message.get("To")),
            "Subject": message.get("Subject", ""),
        }
        with LOCK:
            MESSAGES.insert(
                0, summary | {"Text": body(message, "plain"), "HTML": body(message, "html")}
            )
        return "250 OK"


class Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        with LOCK:
            found = list(MESSAGES)
        if self.path == "/readyz":
            return self.answer(200, {"ready": True})
        if self.path.split("?")[0] == "/api/v1/messages":
            summaries = [{k: v for k, v in m.items() if k not in ("Text", "HTML")} for m in found]
            return self.answer(200, {"total": len(found), "messages": summaries})
        if self.path.startswith("/api/v1/message/"):
            wanted = self.path.rsplit("/", 1)[1]
            for message in found:
                if message["ID"] == wanted:
                    return self.answer(200, message)
        return self.answer(404, {"error": "not found"})

    def answer(self, status: int, content: object) -> None:
        data = json.dumps(content).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # addresses are personal data: nothing is logged


def main() -> None:
    if sys.argv[1:] == ["readyz"]:
        urllib.request.urlopen("http://127.0.0.1:8025/readyz", timeout=3)
        return
    # In its own container: every interface is the container's, reached by the compose network.
    Controller(Catcher(), hostname="0.0.0.0", port=1025).start()  # noqa: S104
    ThreadingHTTPServer(("0.0.0.0", 8025), Api).serve_forever()  # noqa: S104


if __name__ == "__main__":
    main()
