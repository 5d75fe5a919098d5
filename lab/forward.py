"""A loopback TCP port on the machine that leads to a service inside a lab namespace.

The demo's cloud lives in the virtual home's ISP namespace; a person's browser lives in the
machine's own. The forwarder listens on 127.0.0.1 here and opens each upstream connection from a
thread that has joined the lab namespace (``setns`` is per thread for network namespaces), so no
address outside 127.0.0.0/8 and the lab is ever touched, and nothing is installed or routed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import socket
import threading
from pathlib import Path
from typing import Final

CLONE_NEWNET: Final = 0x40000000
NETNS_DIR: Final = Path("/run/netns")
_CHUNK: Final = 65536


class Forwarder:
    """``127.0.0.1:port`` here -> ``target`` inside ``netns``, until :meth:`close`."""

    def __init__(self, netns: str, target: tuple[str, int], port: int) -> None:
        self.netns = netns
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port: int = self._listener.getsockname()[1]
        self._dial: queue.Queue[socket.socket | None] = queue.Queue()
        self._closed = threading.Event()
        threading.Thread(target=self._dialer, name="forward-dial", daemon=True).start()
        threading.Thread(target=self._accept, name="forward-accept", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._dial.put(None)
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            self._dial.put(client)

    def _dialer(self) -> None:
        fd = os.open(NETNS_DIR / self.netns, os.O_RDONLY)
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {self.netns}")
        finally:
            os.close(fd)
        while (client := self._dial.get()) is not None:
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = _Pair(client, upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(src, dst, pair), daemon=True).start()


class _Pair:
    """Both sockets of a connection, closed when both directions are done."""

    def __init__(self, a: socket.socket, b: socket.socket) -> None:
        self._sockets = (a, b)
        self._left = 2
        self._lock = threading.Lock()

    def done(self) -> None:
        with self._lock:
            self._left -= 1
            last = self._left == 0
        if last:
            for sock in self._sockets:
                sock.close()


def _pump(src: socket.socket, dst: socket.socket, pair: _Pair) -> None:
    try:
        while data := src.recv(_CHUNK):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            src.shutdown(socket.SHUT_RD)
        pair.done()
