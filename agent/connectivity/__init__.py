"""Connectivity: how well this home reaches its gateway and the internet (issue 5).

    icmp          ICMP echo sockets for the loop: raw with CAP_NET_RAW, else the unprivileged datagram kind
    ipping        IPPing (TR-181): pipelined echoes, or a labelled TCP-connect fallback; resolve_ipv4
    trace         TraceRoute (TR-181): echoes of rising TTL, routers' answers from the error queue
    nslookup      NSLookupDiagnostics (TR-181) straight to one DNS server, through dnspython
    http_timing   one GET with its DNS, connect, TLS and first-byte times
    transfer      Download/UploadDiagnostics (TR-143, time-based) against the cloud's speed test
    wireless      this host's Wi-Fi link from /proc/net/wireless and ``iw``
    segments      the scheduled sampling: gateway vs internet targets vs DNS, and where trouble sits
    diagnostics   the CSR's on-demand commands and the ``homediag-agent diagnose`` CLI over the above

The probes that schedule these are ``agent/probes/{ping,traceroute,dns,http,throughput,wifi,
connectivity}.py``; nothing here imports them. A failing target is data (a ``ProbeResult`` whose
status is ``Error_...``); the one error, :class:`icmp.IcmpUnavailable` (an
:class:`agent.errors.AgentError` and an ``OSError``), means no ICMP socket may be opened here, and
IPPing then falls back to TCP connects.
"""

from .http_timing import http_check
from .icmp import EchoSocket, IcmpEvent, IcmpUnavailable
from .ipping import EchoStats, PingOutcome, ip_ping, measure_ping, resolve_ipv4
from .nslookup import ns_lookup, system_resolver
from .segments import finding, sample
from .trace import trace_route
from .transfer import download_diagnostics, transfer_test, upload_diagnostics
from .wireless import wifi_link

__all__ = [
    "EchoSocket",
    "EchoStats",
    "IcmpEvent",
    "IcmpUnavailable",
    "PingOutcome",
    "download_diagnostics",
    "finding",
    "http_check",
    "ip_ping",
    "measure_ping",
    "ns_lookup",
    "resolve_ipv4",
    "sample",
    "system_resolver",
    "trace_route",
    "transfer_test",
    "upload_diagnostics",
    "wifi_link",
]
