"""A scripted OpenAI-compatible chat server on 127.0.0.1 for tests.

Replies are queued as `Reply`s and served in order to POST /v1/chat/completions, streamed as
server-sent events when the client asks for `stream`, plain JSON otherwise; with none queued,
`answer_with` (a function of the request's body) writes the reply, as a fake model would. Every
request's body, headers and path are kept so tests can check what the client sent. A stream can
be cut before its end or dripped slowly, and an error can quote the request's credentials back.
`Relay` serves a real server's replies (a local model's), altered.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    content: str = ""
    delay: float = 0.0  # seconds before answering: longer than the client's timeout = a timeout
    status: int = 200
    malformed: bool = False  # a body that is not the OpenAI shape
    echo_auth: bool = False  # an error that quotes the key back, as some servers do
    # An error message of its own, formatted with the request's {authorization} header and
    # {path} (with its query string), as servers that quote credentials back do.
    message: str | None = None
    cut: bool = False  # the stream stops after its content: no finish reason, no [DONE]
    drip: float = 0.0  # seconds between streamed pieces


class StubLLM:
    def __init__(self, answer_with: Callable[[dict], str] | None = None):
        self.replies: deque[Reply] = deque()
        self.answer_with = answer_with
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return None

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append(body)
                stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                stub.paths.append(self.path)
                if stub.replies:
                    reply = stub.replies.popleft()
                else:
                    reply = Reply(stub.answer_with(body) if stub.answer_with else "")
                if reply.delay:
                    time.sleep(reply.delay)
                # The client may have given up (a timeout), as the test intends.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(body, reply)

            def _answer(self, body: dict, reply: Reply) -> None:
                if reply.status != 200:
                    message = "lỗi máy chủ"
                    if reply.echo_auth:
                        message = f"Khóa không hợp lệ: {self.headers.get('Authorization')}"
                    if reply.message is not None:
                        message = reply.message.format(
                            authorization=self.headers.get("Authorization"), path=self.path
                        )
                    self._send(
                        reply.status,
                        "application/json",
                        json.dumps({"error": {"message": message}}).encode(),
                    )
                    return
                if reply.malformed:
                    self._send(200, "application/json", b'{"unexpected": true')
                    return
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    pieces = [reply.content[i : i + 7] for i in range(0, len(reply.content), 7)]
                    for i, piece in enumerate(pieces):
                        if i and reply.drip:
                            time.sleep(reply.drip)
                        self._event(_chunk(piece, i == 0))
                    if reply.cut:
                        return  # HTTP/1.0: closing the connection ends the body
                    self._event(_chunk("", False, finish="stop"))
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    return
                payload = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", "stub"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": reply.content},
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                self._send(200, "application/json", json.dumps(payload).encode())

            def _event(self, payload: dict) -> None:
                self.wfile.write(f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()

            def _send(self, status: int, kind: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def queue(self, *replies: Reply | str) -> None:
        self.replies.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def __enter__(self) -> StubLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _chunk(content: str, first: bool, finish: str | None = None) -> dict:
    delta = {"content": content}
    if first:
        delta["role"] = "assistant"
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "stub",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class Relay(StubLLM):
    """A real OpenAI-compatible server's replies, altered: each request goes to `upstream`
    without streaming, `alter` rewrites the reply's text, and the result is served as the stub
    serves its own (streamed in pieces when asked). For failures a real model will not produce
    on demand: no citation, a citation to a passage it was not given."""

    def __init__(self, upstream: str, alter: Callable[[str], str]):
        def answer_with(body: dict) -> str:
            request = urllib.request.Request(
                upstream.rstrip("/") + "/chat/completions",
                data=json.dumps({**body, "stream": False}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=600) as response:
                reply = json.load(response)["choices"][0]["message"]["content"]
            self.upstream_replies.append(reply)
            return alter(reply)

        super().__init__(answer_with)
        self.upstream_replies: list[str] = []
