"""Header-only packet capture for per-device usage where the agent sees a bridge or a mirror port.

A Linux packet socket with a classic BPF filter that accepts IPv4 and IPv6 frames and tells the
kernel to keep only their first ``SNAPLEN`` bytes: payload never reaches this process. Each frame's
size comes from its IP header (total length, or payload length + 40 for IPv6), so GSO/GRO
super-packets count in full. The capture thread keeps cumulative byte counters per connection
(5-tuple) in memory; :meth:`Capture.flows` hands them to :class:`agent.usage.flows.DeviceHours` in
the same shape as conntrack's, with the device's MAC learnt from the frames themselves. The kernel's
drop counter (PACKET_STATISTICS) says how many packets the capture could not keep up with.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import threading
import time

from ..errors import AgentError
from .flows import TCP, UDP, Flow

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SOL_PACKET = 263
PACKET_STATISTICS = 6
#: Ethernet (14) + IPv6 (40) + TCP with options (60) fits; nothing past the transport header.
SNAPLEN = 128
#: Connections idle this long are forgotten (their last counts were already taken by a poll).
IDLE_S = 300.0
SO_RCVBUFFORCE = 33
RCVBUF = 8 * 1024 * 1024
MAX_FLOWS = 65_536

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def bpf_ip_only(snaplen: int = SNAPLEN) -> bytes:
    """``ether proto ip or ether proto ip6``, keeping ``snaplen`` bytes (as tcpdump -dd compiles it)."""
    code = [
        (0x28, 0, 0, 12),  # ldh [12]            ethertype
        (0x15, 1, 0, 0x0800),  # jeq #IPv4       -> accept
        (0x15, 0, 1, 0x86DD),  # jeq #IPv6       -> accept, else drop
        (0x06, 0, 0, snaplen),  # ret #snaplen
        (0x06, 0, 0, 0),  # ret #0
    ]
    return b"".join(struct.pack("HBBI", *insn) for insn in code)


class CaptureUnavailable(AgentError):
    """The capture cannot run here (no CAP_NET_RAW, no such interface); the message says why."""


class Capture:
    """A capture thread on one interface; call :meth:`flows` from the poller, :meth:`close` at the end.

    The per-packet path is kept to one ``recv_into`` and a few ``unpack_from`` calls: addresses stay
    integers or bytes until :meth:`flows` turns the (few) connections into text.
    """

    def __init__(self, interface: str, lan: list[Network]) -> None:
        self.interface = interface
        self.lan = lan
        self._v4 = [(int(n.network_address), int(n.netmask)) for n in lan if n.version == 4]
        self._v6 = [n for n in lan if n.version == 6]
        self._macs: dict[bytes, bytes] = {}  # device address -> MAC, as seen in frames it sent
        self.dropped = 0
        self.received = 0
        self.skipped = 0
        #: Packets not tracked because the connection table was full (a flood of new tuples).
        self.untracked = 0
        self.error: str | None = None
        self._idle_at = 0.0
        # key (proto, family, device address, device port, remote address, remote port) ->
        # [bytes from the device, bytes to it, packets from it, packets to it, last seen (monotonic)]
        self._conns: dict[tuple[int, int, bytes, int, bytes, int], list[float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError as exc:
            raise CaptureUnavailable("packet capture needs CAP_NET_RAW") from exc
        except OSError as exc:
            raise CaptureUnavailable(f"cannot open a packet socket: {exc}") from exc
        try:
            program = bpf_ip_only()
            import ctypes  # noqa: PLC0415 - only to hand the filter's address to the kernel

            self._filter = ctypes.create_string_buffer(program)
            fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(self._filter))
            self._sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
            with contextlib.suppress(OSError):  # a larger queue absorbs bursts (root only)
                self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
            # A kernel-side receive timeout: no poll() per packet, yet the thread sees the stop flag.
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200_000))
            self._sock.bind((interface, 0))
        except OSError as exc:
            self._sock.close()
            raise CaptureUnavailable(f"cannot capture on {interface}: {exc}") from exc
        self._thread = threading.Thread(target=self._run, name=f"capture-{interface}", daemon=True)
        self._thread.start()

    @property
    def macs(self) -> dict[str, str]:
        return {_ntop(ip): mac.hex(":") for ip, mac in list(self._macs.items())}

    def _in_lan(self, address: bytes) -> bool:
        if len(address) == 4:
            value = int.from_bytes(address, "big")
            return any(value & mask == net for net, mask in self._v4)
        ip = ipaddress.IPv6Address(address)
        return any(ip in net for net in self._v6)

    def _run(self) -> None:
        buf = bytearray(SNAPLEN)
        view = memoryview(buf)
        recv_into, account = self._sock.recv_into, self._account
        while not self._stop.is_set():
            try:
                n = recv_into(buf, SNAPLEN)
            except BlockingIOError:
                self._idle_at = time.monotonic()  # the queue ran dry for a whole timeout
                continue  # the receive timeout: look at the stop flag
            except OSError as exc:
                if not self._stop.is_set():
                    self.error = f"capture on {self.interface} stopped: {exc}"
                return
            self.received += 1
            try:
                account(view, n)
            except (ValueError, struct.error, IndexError):
                self.skipped += 1  # a runt or malformed frame: counted, never guessed at

    def _account(self, frame: memoryview, n: int) -> None:
        if frame[12] == 0x08:  # IPv4 (the filter lets only IPv4 and IPv6 through)
            length = (frame[16] << 8) | frame[17]
            proto = frame[23]
            src, dst = bytes(frame[26:30]), bytes(frame[30:34])
            l4 = 14 + (frame[14] & 0x0F) * 4
        else:
            length = ((frame[18] << 8) | frame[19]) + 40
            proto = frame[20]
            src, dst = bytes(frame[22:38]), bytes(frame[38:54])
            l4 = 54
        sport = dport = 0
        if proto in (TCP, UDP) and n >= l4 + 4:
            sport, dport = (frame[l4] << 8) | frame[l4 + 1], (frame[l4 + 2] << 8) | frame[l4 + 3]
        if dst[0] >= 224 if len(dst) == 4 else dst[0] == 0xFF:
            return  # multicast and broadcast stay on the LAN (mDNS, SSDP, DHCP)
        src_lan, dst_lan = self._in_lan(src), self._in_lan(dst)
        if src_lan == dst_lan:
            return  # within the home, or transit we cannot place
        if src_lan:
            key = (proto, len(src), src, sport, dst, dport)
            if src not in self._macs:
                self._macs[src] = bytes(frame[6:12])
        else:
            key = (proto, len(dst), dst, dport, src, sport)
        now = time.monotonic()
        with self._lock:
            conn = self._conns.get(key)
            if conn is None:
                if len(self._conns) >= MAX_FLOWS:
                    self._expire(now, IDLE_S / 10)
                    if len(self._conns) >= MAX_FLOWS:
                        self.untracked += 1  # bounded memory before completeness: counted, reported
                        return
                conn = self._conns[key] = [0, 0, 0, 0, now]
            conn[0 if src_lan else 1] += length
            conn[2 if src_lan else 3] += 1
            conn[4] = now

    def _expire(self, now: float, idle_s: float = IDLE_S) -> None:
        for k in [k for k, c in self._conns.items() if now - c[4] > idle_s]:
            del self._conns[k]

    def flows(self) -> list[Flow]:
        """Cumulative counters of the live connections; adds the kernel's drops since the last call.

        Raises CaptureUnavailable once the capture thread has stopped on an error."""
        if self.error is not None:
            raise CaptureUnavailable(self.error)
        try:
            _packets, drops = struct.unpack("II", self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
            self.dropped += drops
        except OSError:
            pass
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            conns = [(k, list(c)) for k, c in self._conns.items()]
        flows = []
        for (proto, _family, dev, dport, remote, rport), (tx, rx, ptx, prx, _last) in conns:
            dev_ip, remote_ip = _ntop(dev), _ntop(remote)
            key = f"cap/{proto}/{dev_ip}:{dport}>{remote_ip}:{rport}"
            flows.append(Flow(key, proto, dev_ip, remote_ip, rport, int(tx), int(rx), int(ptx), int(prx)))
        return flows

    def drain(self, timeout_s: float = 5.0) -> bool:
        """Wait until the thread has read everything queued before this call (for a final count)."""
        asked = time.monotonic()
        while self._idle_at <= asked and self._thread.is_alive():
            if time.monotonic() - asked > timeout_s:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


def _ntop(address: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(address) == 4 else socket.AF_INET6, address)
