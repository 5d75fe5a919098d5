"""NSLookupDiagnostics (TR-181 ``Device.DNS.Diagnostics.NSLookupDiagnostics()``) through dnspython.

One query per repetition, straight to the chosen server over UDP (no cache, no search list, no
fallback to another server: the point is to judge *that* server), timed from send to answer. The
UDP socket is *connected* to the server: only then does the kernel hand the ICMP port-unreachable
back to us (ECONNREFUSED on the next receive), so "nothing listens" is reported at once as
``Error_DNSServerNotAvailable`` instead of waiting out the timeout (dnspython's own socket is
unconnected and never sees it).
dnspython is imported on first use here; note that paho-mqtt imports it too once it is installed
(for SRV lookups), about 10 MB of the resident agent's memory.

Per-result ``Status`` as TR-181 has it: ``Success``; ``Error_HostNameNotResolved`` when the server
answered without an address (NXDOMAIN, an empty answer, or REFUSED: it is there but will not
resolve the name); ``Error_Timeout``; ``Error_DNSServerNotAvailable`` when nothing listens (ICMP
port unreachable); ``Error_Other`` for SERVFAIL and the rest, with the RCODE. ``ResponseTime`` is
whole milliseconds, 0 when no answer came (TR-181). The overall ``Status`` is ``Complete`` unless
the server itself cannot be named (``Error_DNSServerNotResolved``).
"""

from __future__ import annotations

import socket
import time

from protocol.samples import NSLookupData, NSLookupResult

from ..result import ProbeResult
from .ipping import resolve_ipv4, whole_ms

RESOLV_CONF = "/etc/resolv.conf"


def system_resolver(path: str = RESOLV_CONF) -> str | None:
    """The first nameserver the host is configured with."""
    import dns.resolver  # noqa: PLC0415 - dnspython only when looking something up

    try:
        servers = dns.resolver.Resolver(filename=path).nameservers
    except (dns.resolver.NoResolverConfiguration, OSError):
        return None
    return str(servers[0]) if servers else None


async def ns_lookup(
    name: str,
    *,
    server: str | None = None,
    timeout_s: float = 2.0,
    count: int = 1,
    record_type: str = "A",
    port: int = 53,
) -> ProbeResult:
    server_name = server or system_resolver()
    if not server_name:
        return ProbeResult.error(
            "Error_DNSServerNotResolved", "no DNS server given or configured", NSLookupData(HostName=name)
        )
    server_ip = await resolve_ipv4(server_name)
    if server_ip is None:
        return ProbeResult.error(
            "Error_DNSServerNotResolved",
            f"DNS server {server_name} does not resolve",
            NSLookupData(HostName=name, DNSServer=server_name),
        )
    results = [await _one(name, server_ip, port, timeout_s, record_type) for _ in range(count)]
    success = sum(1 for r in results if r.Status == "Success")
    data = NSLookupData(
        HostName=name,
        DNSServer=server_name,
        NumberOfRepetitions=count,
        SuccessCount=success,
        Result=results,
    )
    return ProbeResult.of(data)


async def _one(name: str, server_ip: str, port: int, timeout_s: float, record_type: str) -> NSLookupResult:
    import dns.asyncbackend  # noqa: PLC0415 - dnspython only when looking something up
    import dns.asyncquery  # noqa: PLC0415
    import dns.exception  # noqa: PLC0415
    import dns.flags  # noqa: PLC0415
    import dns.message  # noqa: PLC0415
    import dns.rcode  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415

    def failed(status: str, message: str) -> NSLookupResult:
        return NSLookupResult(
            Status=status,
            AnswerType="None",
            HostNameReturned="",
            IPAddresses=[],
            DNSServerIP=server_ip,
            ResponseTime=0,
            Message=message,
        )

    try:
        query = dns.message.make_query(name, dns.rdatatype.from_text(record_type))
    except (dns.exception.DNSException, ValueError) as exc:
        return failed("Error_Other", f"bad name: {exc}")
    start = time.monotonic()
    try:
        backend = dns.asyncbackend.get_backend("asyncio")
        # Connected (see the module docstring): the port-unreachable arrives as ECONNREFUSED.
        sock = await backend.make_socket(  # type: ignore[no-untyped-call] # dnspython leaves it untyped
            socket.AF_INET, socket.SOCK_DGRAM, 0, None, (server_ip, port)
        )
        try:
            response = await dns.asyncquery.udp(query, server_ip, timeout=timeout_s, port=port, sock=sock)
        finally:
            await sock.close()
    except dns.exception.Timeout:
        return failed("Error_Timeout", f"no answer within {timeout_s:g} s")
    except ConnectionRefusedError:
        return failed("Error_DNSServerNotAvailable", "nothing listens (port unreachable)")
    except OSError as exc:
        return failed("Error_DNSServerNotAvailable", f"{type(exc).__name__}: {exc}")
    except dns.exception.DNSException as exc:
        return failed("Error_Other", f"{type(exc).__name__}: {exc}")
    response_ms = whole_ms((time.monotonic() - start) * 1000)
    rcode = response.rcode()
    addresses: list[str] = []
    canonical = name.rstrip(".")
    for rrset in response.answer:
        for rdata in rrset:
            if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                addresses.append(rdata.to_text())
                canonical = rrset.name.to_text(omit_final_dot=True)
            elif rrset.rdtype == dns.rdatatype.CNAME:
                canonical = rdata.to_text().rstrip(".")
    if rcode == dns.rcode.NOERROR and addresses:
        status = "Success"
    elif rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.REFUSED):
        status = "Error_HostNameNotResolved"
    else:
        status = "Error_Other"
    return NSLookupResult(
        Status=status,
        AnswerType="Authoritative" if response.flags & dns.flags.AA else "NonAuthoritative",
        HostNameReturned=canonical if addresses else "",
        IPAddresses=addresses,
        DNSServerIP=server_ip,
        ResponseTime=response_ms,
        RCode=dns.rcode.to_text(rcode),
    )
