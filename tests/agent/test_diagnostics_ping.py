"""IPPing and its ICMP plumbing on loopback (the only network a unit test may touch)."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from typing import Any

import pytest

from agent.connectivity.icmp import (
    ICMP_ECHO_REPLY,
    ICMP_TIME_EXCEEDED,
    METHOD_RAW,
    EchoSocket,
    IcmpEvent,
    checksum,
    echo_request,
)
from agent.connectivity.ipping import EchoStats, ip_ping, jitter_ms, ping_data
from agent.probes import ProbeConfigError, create
from protocol.tr181 import vendor

METHOD, LOSS, MESSAGE = vendor("Method"), vendor("LossPercent"), vendor("Message")

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP needs CAP_NET_RAW")


def test_checksum_of_an_echo_verifies_to_zero() -> None:
    packet = echo_request(0x1234, 7, b"abcdefgh" + bytes(48))
    assert checksum(packet) == 0
    assert packet[0] == 8 and struct.unpack("!HH", packet[4:8]) == (0x1234, 7)


def test_jitter_is_the_mean_difference_of_consecutive_round_trips() -> None:
    assert jitter_ms([10.0, 12.0, 11.0, 15.0]) == pytest.approx((2 + 1 + 4) / 3)
    assert jitter_ms([5.0]) == 0.0


def test_tr181_fields_and_units() -> None:
    data = ping_data("h", "10.0.0.1", "ICMPRaw", 4, EchoStats(sent=4, rtts_ms=[1.0, 2.0, 3.0]))
    assert data["SuccessCount"] == 3 and data["FailureCount"] == 1 and data[LOSS] == 25.0
    assert data["AverageResponseTime"] == 2 and data["MinimumResponseTime"] == 1
    assert all(isinstance(data[k], int) for k in ("AverageResponseTime", "MaximumResponseTime"))
    assert data["MaximumResponseTimeDetailed"] == 3000  # microseconds, as TR-181's ...Detailed
    assert data[METHOD] == "ICMPRaw" and "Method" not in data and "LossPercent" not in data
    fast = ping_data("h", "10.0.0.1", "ICMPRaw", 1, EchoStats(sent=1, rtts_ms=[0.2]))
    assert fast["AverageResponseTime"] == 1 and fast["AverageResponseTimeDetailed"] == 200  # 0: no answer
    none = ping_data("h", "10.0.0.1", "ICMPRaw", 2, EchoStats(sent=2))
    # TR-181: with no answer the response times MUST be zero, so they are there, and zero.
    assert none["SuccessCount"] == 0 and none["FailureCount"] == 2
    times = ("Average", "Minimum", "Maximum")
    assert all(none[f"{t}ResponseTime"] == 0 and none[f"{t}ResponseTimeDetailed"] == 0 for t in times)


def _ip(src: str, payload: bytes, proto: int = socket.IPPROTO_ICMP) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, socket.inet_aton(src), bytes(4)
    )
    return header + payload


async def test_a_raw_socket_keeps_only_its_own_echoes_and_errors() -> None:
    events: list[IcmpEvent] = []
    sock = object.__new__(EchoSocket)
    sock.method, sock.ident, sock.nonce, sock._on_event = METHOD_RAW, 0xBEEF, b"N" * 8, events.append
    reply = bytearray(echo_request(0xBEEF, 3, b"N" * 8 + bytes(8)))
    reply[0] = ICMP_ECHO_REPLY
    sock._packet(_ip("10.0.0.1", bytes(reply)), "10.0.0.1")
    other = bytearray(echo_request(0xBEEF, 4, b"X" * 16))  # same id, another program's nonce
    other[0] = ICMP_ECHO_REPLY
    sock._packet(_ip("10.0.0.1", bytes(other)), "10.0.0.1")
    # RFC 792 time exceeded: 8 bytes of header, then the original IP header and 8 bytes of our echo.
    quoted = _ip("10.0.0.9", echo_request(0xBEEF, 5, b"N" * 8)[:8])
    sock._packet(_ip("192.0.2.1", struct.pack("!BBHI", ICMP_TIME_EXCEEDED, 0, 0, 0) + quoted), "192.0.2.1")
    assert [(e.seq, e.kind, e.source) for e in events] == [(3, 0, "10.0.0.1"), (5, 11, "192.0.2.1")]


@needs_root
async def test_pipelined_echoes_to_loopback() -> None:
    result = await ip_ping("127.0.0.1", count=50, interval_s=0.002, timeout_s=1)
    assert result.status == "Complete"
    assert result.data["SuccessCount"] == 50 and result.data[METHOD] == "ICMPRaw"
    assert 0 < result.data["MinimumResponseTime"] <= result.data["AverageResponseTime"] < 50


async def test_the_datagram_socket_or_an_honest_refusal() -> None:
    result = await ip_ping("127.0.0.1", count=2, interval_s=0.01, method="ICMPDatagram")
    if result.status == "Complete":
        assert result.data[METHOD] == "ICMPDatagram" and result.data["SuccessCount"] == 2
    else:  # ping_group_range excludes us: said, not raised
        assert result.status == "Error_Other" and "ICMPDatagram" in result.data[MESSAGE]


async def test_tcp_connect_fallback_counts_a_refusal_as_an_answer() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    result = await ip_ping("127.0.0.1", count=3, interval_s=0.01, method="TCPConnect", tcp_port=closed_port)
    assert result.status == "Complete"
    assert result.data[METHOD] == "TCPConnect" and result.data["SuccessCount"] == 3


async def test_auto_falls_back_to_tcp_when_no_icmp_socket_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "__init__", _only_tcp(socket.socket.__init__))
    result = await ip_ping("127.0.0.1", count=1, method="auto", tcp_port=9)
    assert result.status == "Complete" and result.data[METHOD] == "TCPConnect"


def _only_tcp(init: Any) -> Any:
    def wrapped(
        self: socket.socket, family: int = -1, kind: int = -1, proto: int = -1, fileno: Any = None
    ) -> None:
        if proto == socket.IPPROTO_ICMP:
            raise PermissionError(1, "Operation not permitted")
        init(self, family, kind, proto, fileno)

    return wrapped


async def test_an_unresolvable_name_is_a_status(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_such_name(*_args: Any, **_kw: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_such_name)
    result = await ip_ping("no-such-host.invalid", count=1)
    assert result.status == "Error_CannotResolveHostName"


def test_probe_options_are_checked_up_front() -> None:
    with pytest.raises(ProbeConfigError):
        create("ping", {})
    with pytest.raises(ProbeConfigError):
        create("ping", {"host": "127.0.0.1", "method": "carrier-pigeon"})
    with pytest.raises(ProbeConfigError):
        create("connectivity", {"interval_s": 1, "count": 100, "echo_interval_s": 0.5})
    assert create("ping", {"host": "127.0.0.1", "count": 3}).interval_s == 60
