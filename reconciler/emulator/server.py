"""The emulator over real HTTP: a stdlib `ThreadingHTTPServer` (HTTP/1.1 keep-alive, one daemon
thread per connection) that hands every request to a handler callable (the emulator's `handle`).

A dropped connection is a socket closed without any answer, after the request was (or was not)
processed, exactly the ambiguity a client meets when a real connection breaks.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from reconciler.emulator.replies import Handle, Reply

if TYPE_CHECKING:
    from reconciler.emulator.tenant import Emulator


@dataclass(frozen=True)
class RunningServer:
    """A serving emulator: `url` is the tenant base URL, e.g. `http://127.0.0.1:54321`."""

    host: str
    port: int
    url: str
    emulator: Emulator


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], answer: Handle) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.answer = answer
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self.connections_lock:
            self.connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body of an answer are two writes: without TCP_NODELAY the body waits for
    # the client's delayed ACK, some 40 ms per request on Linux loopback.
    disable_nagle_algorithm = True
    server: _Server

    def handle(self) -> None:
        try:
            super().handle()
        except ConnectionError:
            # The client went away (its timeout ended, or it was killed) while a request was read
            # or answered: a request already processed stays processed, as with the real service.
            self.close_connection = True

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        path, _, query = self.path.partition("?")
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.answer(self.command, path, query, headers, body)
        if reply.delay_s > 0:
            time.sleep(reply.delay_s)
        if reply.dropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command == "HEAD" or not reply.body:
            return
        if reply.trickle_s <= 0:
            self.wfile.write(reply.body)
            return
        for index in range(len(reply.body)):  # a trickling tenant: one byte at a time
            self.wfile.write(reply.body[index : index + 1])
            self.wfile.flush()
            time.sleep(reply.trickle_s)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator keeps its own request log."""


def _answer_of(emulator: Emulator) -> Handle:
    """The emulator's `handle`, looked up per request: a test may replace it on the instance."""

    def answer(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Reply:
        return emulator.handle(method, path, query, headers, body)

    return answer


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _listen(host: str, port: int, answer: Handle) -> _Server:
    """A server bound to `host:port`; a port in use (or not allowed) is a ValueError of one line."""
    try:
        return _Server((host, port), answer)
    except OSError as exc:
        raise ValueError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port "
            "(0 picks a free one)"
        ) from None


@contextmanager
def serving(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningServer]:
    """Serve `emulator` in a background thread until the block ends."""
    server = _listen(host, port, _answer_of(emulator))
    bound_port = int(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="tenant-emulator",
        daemon=True,
    )
    thread.start()
    try:
        yield RunningServer(host, bound_port, _url(host, bound_port), emulator)
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)


def serve_until_interrupted(
    emulator: Emulator,
    host: str,
    port: int,
    on_ready: Callable[[RunningServer], None] | None = None,
) -> None:
    """Serve `emulator` until interrupted (Ctrl-C returns normally). `on_ready` is called once the
    socket listens, with the actual port (useful with port 0)."""
    server = _listen(host, port, _answer_of(emulator))
    bound_port = int(server.server_address[1])
    if on_ready is not None:
        on_ready(RunningServer(host, bound_port, _url(host, bound_port), emulator))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close_connections()
        server.server_close()
