"""Userspace netem: hold each queued packet ``delay +- jitter`` ms, drop ``loss`` percent of them.

Run by :mod:`lab.impair` inside a host namespace where an iptables rule sends the host's egress to
NFQUEUE. The kernel keeps the packets; this process only decides when (or whether) each one goes on,
so what the wire sees is still the kernel's own traffic. Jitter is uniform, like netem without a
distribution table, and may reorder packets, as netem does.
"""

from __future__ import annotations

import argparse
import heapq
import random
import selectors
import signal
import socket
import sys
import time

from ..const import NFQUEUE_NUM
from .nfqueue import NF_ACCEPT, NF_DROP, NfQueue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.devices.impairer")
    parser.add_argument("--queue", type=int, default=NFQUEUE_NUM)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--loss-pct", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)  # noqa: S311 - simulation, not cryptography
    queue = NfQueue(args.queue)
    stopping = False

    def stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A signal writes to this socket, so select() returns at once and the loop sees `stopping`.
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    selector = selectors.DefaultSelector()
    selector.register(queue, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    pending: list[tuple[float, int]] = []
    print("ready", flush=True)
    while not stopping:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        for key, _ in selector.select(timeout):
            if key.fileobj is wake_r:
                wake_r.recv(64)
                continue
            now = time.monotonic()
            for packet_id in queue.packet_ids():
                if rng.random() * 100 < args.loss_pct:
                    queue.verdict(packet_id, NF_DROP)
                    continue
                delay_ms = max(0.0, args.delay_ms + rng.uniform(-args.jitter_ms, args.jitter_ms))
                heapq.heappush(pending, (now + delay_ms / 1000, packet_id))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            queue.verdict(heapq.heappop(pending)[1], NF_ACCEPT)
    for _, packet_id in pending:
        queue.verdict(packet_id, NF_ACCEPT)
    queue.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
