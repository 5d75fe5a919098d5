"""A device on 127.0.0.1 that answers one byte at a time, forever (until the reader hangs up)."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator

HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"


class _Drip(socketserver.BaseRequestHandler):
    stop: threading.Event
    drip_headers: bool

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(1.0)
        with contextlib.suppress(OSError):
            sock.recv(65536)
            if not self.drip_headers:
                sock.sendall(HEADERS)
            payload = HEADERS if self.drip_headers else b"x" * 100000
            for byte in payload:  # each byte well inside any per-recv timeout
                if self.stop.wait(0.1):
                    return
                sock.sendall(bytes([byte]))


@contextlib.contextmanager
def slow_device(drip_headers: bool = False) -> Iterator[int]:
    """The port of a server that sends its answer (or only its headers) one byte every 0.1 s."""
    stop = threading.Event()
    handler = type("Handler", (_Drip,), {"stop": stop, "drip_headers": drip_headers})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join()
