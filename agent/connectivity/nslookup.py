"""NSLookupDiagnostics (TR-181 ``Device.DNS.Diagnostics.NSLookupDiagnostics()``) through dnspython.

One query per repetition, straight to the chosen server over UDP (no cache, no search list, no
fallback to another server: the point is to judge *that* server), timed from send to answer.
dnspython is imported on first use here; note that paho-mqtt imports it too once it is installed
(for SRV lookups), about 10 MB of the resident agent's memory.

Per-result ``Status`` as TR-181 has it: ``Success``; ``Error_HostNameNotResolved`` when the server
answered without an address (NXDOMAIN, an empty answer, or REFUSED: it is there but will not
resolve the name); ``Error_Timeout``; ``Error_DNSServerNotAvailable`` when nothing listens (ICMP
port unreachable); ``Error_Other`` for SERVFAIL and the rest, with the RCODE. The overall
``Status`` is ``Complete`` unless the server itself cannot be named (``Error_DNSServerNotResolved``).
"""

from __future__ import annotations

import time
from typing import Any

from protocol.samples import NSLookupData, NSLookupResult

from ..result import ProbeResult
from .ipping import resolve_ipv4

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
            "Error_DNSServerNotResolved", "no DNS server given or configured", HostName=name
        )
    server_ip = await resolve_ipv4(server_name)
    if server_ip is None:
        return ProbeResult.error(
            "Error_DNSServerNotResolved", f"DNS server {server_name} does not resolve", HostName=name
        )
    results = [await _one(name, server_ip, port, timeout_s, record_type) for _ in range(count)]
    success = sum(1 for r in results if r["Status"] == "Success")
    data = NSLookupData(
        HostName=name,
        DNSServer=server_name,
        NumberOfRepetitions=count,
        SuccessCount=success,
        ResultNumberOfEntries=len(results),
        Result=[NSLookupResult(**r) for r in results],
    )
    return ProbeResult.of(data)


async def _one(name: str, server_ip: str, port: int, timeout_s: float, record_type: str) -> dict[str, Any]:
    import dns.asyncquery  # noqa: PLC0415 - dnspython only when looking something up
    import dns.exception  # noqa: PLC0415
    import dns.flags  # noqa: PLC0415
    import dns.message  # noqa: PLC0415
    import dns.rcode  # noqa: PLC0415
    import dns.rdatatype  # noqa: PLC0415

    result: dict[str, Any] = {
        "Status": "Error_Other",
        "AnswerType": "None",
        "HostNameReturned": "",
        "IPAddresses": "",
        "DNSServerIP": server_ip,
        "ResponseTime": 0,
    }
    try:
        query = dns.message.make_query(name, dns.rdatatype.from_text(record_type))
    except (dns.exception.DNSException, ValueError) as exc:
        return result | {"Status": "Error_Other", "Message": f"bad name: {exc}"}
    start = time.monotonic()
    try:
        response = await dns.asyncquery.udp(query, server_ip, timeout=timeout_s, port=port)
    except dns.exception.Timeout:
        return result | {"Status": "Error_Timeout", "ResponseTime": round(timeout_s * 1000, 3)}
    except ConnectionRefusedError:
        return result | {
            "Status": "Error_DNSServerNotAvailable",
            "Message": "nothing listens (port unreachable)",
        }
    except OSError as exc:
        return result | {"Status": "Error_DNSServerNotAvailable", "Message": f"{type(exc).__name__}: {exc}"}
    except dns.exception.DNSException as exc:
        return result | {"Status": "Error_Other", "Message": f"{type(exc).__name__}: {exc}"}
    result["ResponseTime"] = round((time.monotonic() - start) * 1000, 3)
    rcode = response.rcode()
    result["RCode"] = dns.rcode.to_text(rcode)
    result["AnswerType"] = "Authoritative" if response.flags & dns.flags.AA else "NonAuthoritative"
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
    result |= {
        "Status": status,
        "HostNameReturned": canonical if addresses else "",
        "IPAddresses": ",".join(addresses),
    }
    return result
