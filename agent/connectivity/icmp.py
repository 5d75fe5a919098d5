"""ICMP echo sockets for the loop: raw where the process has CAP_NET_RAW, the kernel's unprivileged
"ping" datagram socket where ``net.ipv4.ping_group_range`` admits our group.

Both are non-blocking and read by a loop callback, so many echoes can be in flight at once
(pipelined at a fixed interval like ``ping -i``, not stop-and-wait). ``IP_RECVERR`` is set on both:
ICMP errors about our own echoes (time exceeded, destination unreachable) then arrive on the
socket's error queue with the router that sent them (Linux ``ip(7)``), which is what an
unprivileged traceroute needs; a raw socket also sees them as ordinary ICMP packets.

Echo format (RFC 792): type 8/0, code 0, checksum, identifier, sequence number, data. Our data
starts with an 8-byte nonce so that a raw socket, which sees every ICMP packet of the host, never
mistakes another program's echo for ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import AgentError

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11

METHOD_RAW = "ICMPRaw"
METHOD_DGRAM = "ICMPDatagram"
METHOD_TCP = "TCPConnect"

# <linux/in.h> and <linux/errqueue.h>; not exported by the socket module.
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)
SO_EE_ORIGIN_ICMP = 2
_EXTENDED_ERR = struct.Struct("=IBBBBII")  # ee_errno, origin, type, code, pad, info, data
_ECHO_HEADER = struct.Struct("!BBHHH")


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


def echo_request(ident: int, seq: int, payload: bytes) -> bytes:
    header = _ECHO_HEADER.pack(ICMP_ECHO_REQUEST, 0, 0, ident, seq)
    return _ECHO_HEADER.pack(ICMP_ECHO_REQUEST, 0, checksum(header + payload), ident, seq) + payload


@dataclass(frozen=True, slots=True)
class IcmpEvent:
    """Something that came back for one of our echoes."""

    seq: int
    kind: int  # ICMP type: echo reply, destination unreachable, time exceeded
    code: int
    source: str  # who sent it: the target for a reply, a router for an error
    at_ns: int  # time.monotonic_ns() when read


class IcmpUnavailable(AgentError, OSError):
    """Neither a raw nor a datagram ICMP socket may be opened by this process."""


class EchoSocket:
    """One ICMP socket, with its own identifier; ``on_event`` is called in the loop for our packets."""

    def __init__(self, method: str, on_event: Callable[[IcmpEvent], None]) -> None:
        kind = socket.SOCK_RAW if method == METHOD_RAW else socket.SOCK_DGRAM
        self.method = method
        self.sock = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
        try:
            self.sock.setblocking(False)
            if method == METHOD_DGRAM:
                # A raw socket sees ICMP errors as packets; a datagram socket only through its error queue.
                self.sock.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
            self.nonce = os.urandom(8)
            # A datagram socket's identifier is its local "port", chosen by the kernel at bind time.
            if method == METHOD_DGRAM:
                self.sock.bind(("0.0.0.0", 0))  # noqa: S104 - an ICMP identifier, not a listener
                self.ident = self.sock.getsockname()[1]
            else:
                self.ident = int.from_bytes(os.urandom(2), "big")
            self._on_event = on_event
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self.sock.fileno(), self._readable)
        except BaseException:  # half-built: no one else will ever close it
            self.sock.close()
            raise

    @staticmethod
    def open(preferred: str, on_event: Callable[[IcmpEvent], None]) -> EchoSocket:
        """The best ICMP socket allowed: ``preferred`` is "auto", METHOD_RAW or METHOD_DGRAM."""
        order = [METHOD_RAW, METHOD_DGRAM] if preferred == "auto" else [preferred]
        reasons = []
        for method in order:
            try:
                return EchoSocket(method, on_event)
            except PermissionError as exc:
                reasons.append(f"{method}: {exc.strerror}")
            except OSError as exc:
                reasons.append(f"{method}: {exc.strerror or exc}")
        raise IcmpUnavailable(errno.EPERM, "; ".join(reasons))

    def send(self, address: str, seq: int, size: int, ttl: int | None = None) -> None:
        """Send one echo; raises OSError (e.g. ENETUNREACH) as the kernel says."""
        payload = (self.nonce + bytes(max(0, size - len(self.nonce))))[: max(size, len(self.nonce))]
        if ttl is not None:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        self.sock.sendto(echo_request(self.ident, seq & 0xFFFF, payload), (address, 0))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()

    # -- reading (runs in the loop) ------------------------------------------------------------

    def _readable(self) -> None:
        for _ in range(256):  # bounded: never starve the loop under a flood
            try:
                data, (source, _port) = self.sock.recvfrom(2048)
            except BlockingIOError:
                break
            except OSError:
                # With IP_RECVERR a pending ICMP error surfaces as an errno; the details wait in
                # the error queue, read below.
                self._read_errqueue()
                continue
            self._packet(data, source)
        self._read_errqueue()

    def _read_errqueue(self) -> None:
        for _ in range(256):
            try:
                data, ancillary, _flags, _addr = self.sock.recvmsg(2048, 512, MSG_ERRQUEUE)
            except OSError:
                return
            now = time.monotonic_ns()
            for level, kind, cdata in ancillary:
                if level != socket.SOL_IP or kind != IP_RECVERR or len(cdata) < _EXTENDED_ERR.size:
                    continue
                _errno, origin, icmp_type, icmp_code, _pad, _info, _data = _EXTENDED_ERR.unpack_from(cdata)
                if origin != SO_EE_ORIGIN_ICMP:
                    continue
                offender = cdata[_EXTENDED_ERR.size :]
                source = socket.inet_ntoa(offender[4:8]) if len(offender) >= 8 else ""
                # The queued packet is the echo we sent, so its sequence number says which probe.
                if len(data) >= _ECHO_HEADER.size:
                    seq = _ECHO_HEADER.unpack_from(data)[4]
                    self._on_event(IcmpEvent(seq, icmp_type, icmp_code, source, now))

    def _packet(self, data: bytes, source: str) -> None:
        now = time.monotonic_ns()
        if self.method == METHOD_RAW:
            if len(data) < 20:
                return
            data = data[(data[0] & 0x0F) * 4 :]
        if len(data) < _ECHO_HEADER.size:
            return
        icmp_type, code, _sum, ident, seq = _ECHO_HEADER.unpack_from(data)
        if icmp_type == ICMP_ECHO_REPLY:
            body = data[_ECHO_HEADER.size :]
            if self.method == METHOD_RAW and (ident != self.ident or body[:8] != self.nonce):
                return
            self._on_event(IcmpEvent(seq, icmp_type, code, source, now))
        elif icmp_type in (ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED) and self.method == METHOD_RAW:
            # RFC 792: the error quotes the original IP header and the first 8 bytes of its data.
            quoted = data[8:]
            if len(quoted) < 20:
                return
            inner = quoted[(quoted[0] & 0x0F) * 4 :]
            if len(inner) < _ECHO_HEADER.size or quoted[9] != socket.IPPROTO_ICMP:
                return
            inner_type, _c, _s, inner_ident, inner_seq = _ECHO_HEADER.unpack_from(inner)
            if inner_type == ICMP_ECHO_REQUEST and inner_ident == self.ident:
                self._on_event(IcmpEvent(inner_seq, icmp_type, code, source, now))
