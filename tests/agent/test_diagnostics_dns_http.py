"""NSLookupDiagnostics and the HTTP check against real servers on loopback."""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from agent.connectivity.http_timing import http_check
from agent.connectivity.nslookup import ns_lookup, system_resolver
from agent.probes import create
from agent.probes import dns as dns_probe
from protocol.tr181 import vendor

RECORDS = {"cloud.homediag.test.": "10.213.254.10"}


class _Resolver(asyncio.DatagramProtocol):
    """A tiny authoritative server: RECORDS, NXDOMAIN otherwise, or silence when ``mute``."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.mute = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # a selector datagram transport, not a DatagramTransport subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.mute or self.transport is None:
            return
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        name = query.question[0].name.to_text()
        if name in RECORDS:
            response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", RECORDS[name]))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
async def resolver() -> AsyncIterator[tuple[_Resolver, int]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_Resolver, local_addr=("127.0.0.1", 0))
    try:
        yield protocol, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


async def test_an_answer_with_tr181_fields(resolver: tuple[_Resolver, int]) -> None:
    _, port = resolver
    result = await ns_lookup("cloud.homediag.test", server="127.0.0.1", port=port, count=2)
    assert result.status == "Complete" and result.data["SuccessCount"] == 2
    first = result.data["Result"][0]
    assert first["Status"] == "Success" and first["AnswerType"] == "Authoritative"
    assert first["IPAddresses"] == ["10.213.254.10"] and first["HostNameReturned"] == "cloud.homediag.test"
    assert first["DNSServerIP"] == "127.0.0.1" and 0 < first["ResponseTime"] < 1000


async def test_nxdomain_and_a_silent_server(resolver: tuple[_Resolver, int]) -> None:
    server, port = resolver
    missing = await ns_lookup("nope.homediag.test", server="127.0.0.1", port=port)
    assert missing.data["Result"][0]["Status"] == "Error_HostNameNotResolved"
    assert missing.data["Result"][0][vendor("RCode")] == "NXDOMAIN"
    server.mute = True
    silent = await ns_lookup("cloud.homediag.test", server="127.0.0.1", port=port, timeout_s=0.2)
    assert silent.status == "Complete" and silent.data["Result"][0]["Status"] == "Error_Timeout"
    assert silent.data["Result"][0]["ResponseTime"] == 0  # TR-181: 0 when no response was received


def _closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_nothing_listening_is_dns_server_not_available_at_once() -> None:
    # The ICMP port-unreachable only reaches a connected UDP socket; an unconnected one (dnspython's
    # own) waits out the whole timeout and says Error_Timeout.
    timeout_s = 10.0
    started = asyncio.get_running_loop().time()
    result = await ns_lookup(
        "cloud.homediag.test", server="127.0.0.1", port=_closed_udp_port(), timeout_s=timeout_s
    )
    elapsed = asyncio.get_running_loop().time() - started
    (answer,) = result.data["Result"]
    assert result.status == "Complete" and answer["Status"] == "Error_DNSServerNotAvailable"
    assert answer["ResponseTime"] == 0 and "port unreachable" in answer[vendor("Message")]
    assert elapsed < timeout_s / 2, "it waited for the whole timeout"


async def test_the_dns_probe_keeps_per_result_statuses_out_of_its_own(
    resolver: tuple[_Resolver, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, port = resolver
    server.mute = True
    monkeypatch.setattr(dns_probe, "ns_lookup", functools.partial(ns_lookup, port=port))
    probe = create("dns", {"names": ["cloud.homediag.test"], "server": "127.0.0.1", "timeout_s": 0.2})
    result = await probe.run()
    assert result is not None
    # The lookups ran: Complete; Error_Timeout is a value of Result.{i}.Status only (TR-181).
    assert result.status == "Complete"
    (lookup,) = result.data["Lookups"]
    assert lookup["Status"] == "Complete" and lookup["Result"][0]["Status"] == "Error_Timeout"


def test_the_system_resolver_comes_from_resolv_conf(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example\nnameserver 10.213.254.53\nnameserver 10.213.254.54\n")
    assert system_resolver(str(conf)) == "10.213.254.53"


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]


async def _serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]
    return server, server.sockets[0].getsockname()[1]


async def test_http_check_times_each_phase() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(0.05)  # "server think time": shows up as time to first byte
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server, port = await _serve(handler)
    async with server:
        result = await http_check(f"http://127.0.0.1:{port}/x?y=1")
    assert result.status == "Complete" and result.data["HTTPStatusCode"] == 204
    assert result.data["TimeToFirstByte"] >= 45
    assert result.data["TCPConnectTime"] < result.data["TimeToFirstByte"] <= result.data["TotalTime"]


async def test_http_failures_are_statuses() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    refused = await http_check(f"http://127.0.0.1:{closed}/")
    assert refused.status == "Error_InitConnectionFailed"

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when the client gives up and closes
        writer.close()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH\r\n")
        await writer.drain()
        writer.close()

    server, port = await _serve(mute)
    async with server:
        slow = await http_check(f"http://127.0.0.1:{port}/", timeout_s=0.3)
    assert slow.status == "Error_Timeout"
    server, port = await _serve(garbage)
    async with server:
        odd = await http_check(f"http://127.0.0.1:{port}/")
    assert odd.status == "Error_NoResponse"
    assert (await http_check("ftp://127.0.0.1/")).status == "Error_Other"
