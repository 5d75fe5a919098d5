"""Reading the kernel's connection tracking over netlink (pyroute2): flow counters, never payload.

Counters exist only when ``net.netfilter.nf_conntrack_acct`` is 1 (per network namespace); the
agent can switch it on where it may (``enable_accounting``), and otherwise says why it cannot count.
Connections that began before accounting was on carry no counters and are reported as such.

A connection's entry outlives it by its conntrack timeout (TCP close 10 s, TIME_WAIT 120 s, UDP
30 s), so polling more often than every 10 s sees every entry's final counters.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ..errors import AgentError
from ..routes import default_route_interface
from .flows import Flow, orient

ACCT_SYSCTL = Path("/proc/sys/net/netfilter/nf_conntrack_acct")
#: A bound on one dump, so a flood of connections cannot make a poll unbounded.
MAX_ENTRIES = 262_144

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConntrackUnavailable(AgentError):
    """Connection tracking cannot be read here; the message says why (a status, not a crash)."""


def accounting_enabled(path: Path = ACCT_SYSCTL) -> bool | None:
    try:
        return path.read_text().strip() == "1"
    except OSError:
        return None


def enable_accounting(path: Path = ACCT_SYSCTL) -> str | None:
    """Switch accounting on; None on success, else the reason it stays off."""
    try:
        path.write_text("1\n")
    except OSError as exc:
        return f"cannot enable nf_conntrack_acct: {exc.strerror or exc}"
    return None


@dataclass
class Topology:
    """What the gateway's own interfaces say: the home's subnets and the gateway's addresses."""

    wan: str | None
    lan: list[Network] = field(default_factory=list)
    local: set[str] = field(default_factory=set)


def topology(wan_interface: str | None = None, lan: list[str] | None = None) -> Topology:
    wan = wan_interface or default_route_interface()
    result = Topology(wan)
    for name, addrs in psutil.net_if_addrs().items():
        for a in addrs:
            if a.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = a.address.split("%")[0]
            result.local.add(address)
            if lan is None and name not in {wan, "lo"} and a.netmask:
                try:
                    net = ipaddress.ip_network(f"{address}/{a.netmask}", strict=False)
                except ValueError:
                    continue
                if not net.is_link_local and not net.is_loopback:
                    result.lan.append(net)
    if lan is not None:
        result.lan = [ipaddress.ip_network(n, strict=False) for n in lan]
    return result


def neighbours() -> dict[str, str]:
    """IP address to MAC from the kernel's neighbour tables (IPv4 and IPv6)."""
    from pyroute2 import IPRoute  # noqa: PLC0415 - loaded on first poll, only where this probe runs

    table: dict[str, str] = {}
    with IPRoute() as ipr:
        for msg in ipr.get_neighbours():
            ip, mac = msg.get_attr("NDA_DST"), msg.get_attr("NDA_LLADDR")
            if ip and mac and mac != "00:00:00:00:00:00":
                table[str(ip)] = str(mac).lower()
    return table


def _tuple(msg: Any) -> tuple[str, int, str, int, int] | None:
    ip, proto = msg.get_attr("CTA_TUPLE_IP"), msg.get_attr("CTA_TUPLE_PROTO")
    if ip is None or proto is None:
        return None
    src = ip.get_attr("CTA_IP_V4_SRC") or ip.get_attr("CTA_IP_V6_SRC")
    dst = ip.get_attr("CTA_IP_V4_DST") or ip.get_attr("CTA_IP_V6_DST")
    if not src or not dst:
        return None
    return (
        str(src),
        int(proto.get_attr("CTA_PROTO_SRC_PORT") or 0),
        str(dst),
        int(proto.get_attr("CTA_PROTO_DST_PORT") or 0),
        int(proto.get_attr("CTA_PROTO_NUM") or 0),
    )


def _counters(msg: Any, name: str) -> tuple[int, int] | None:
    c = msg.get_attr(name)
    if c is None:
        return None
    return int(c.get_attr("CTA_COUNTERS_BYTES") or 0), int(c.get_attr("CTA_COUNTERS_PACKETS") or 0)


@dataclass
class Dump:
    flows: list[Flow]
    without_counters: int = 0
    truncated: bool = False


def dump(topo: Topology) -> Dump:
    """The flow table, oriented to home devices; raises ConntrackUnavailable with the reason."""
    try:
        from pyroute2.netlink.nfnetlink.nfctsocket import NFCTSocket  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - the agent extra installs it
        raise ConntrackUnavailable(f"pyroute2 is not installed: {exc}") from exc
    result = Dump([])
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock = NFCTSocket(nfgen_family=family)
        except OSError as exc:
            raise ConntrackUnavailable(f"cannot open a conntrack netlink socket: {exc}") from exc
        try:
            _read(sock, topo, result)
        except OSError as exc:
            raise ConntrackUnavailable(f"conntrack dump failed: {exc}") from exc
        finally:
            sock.close()
    return result


def _read(sock: Any, topo: Topology, result: Dump) -> None:
    for msg in sock.dump():
        if len(result.flows) + result.without_counters >= MAX_ENTRIES:
            result.truncated = True
            return
        orig, reply = _tuple(msg.get_attr("CTA_TUPLE_ORIG")), _tuple(msg.get_attr("CTA_TUPLE_REPLY"))
        if orig is None or reply is None:
            continue
        co, cr = _counters(msg, "CTA_COUNTERS_ORIG"), _counters(msg, "CTA_COUNTERS_REPLY")
        if co is None or cr is None:
            result.without_counters += 1
            continue
        oriented = orient(
            orig[4], orig[:4], reply[:4], (co[0], co[1], cr[0], cr[1]), lan=topo.lan, local=topo.local
        )
        if oriented is None:
            continue
        device_ip, remote_ip, remote_port, tx, rx, ptx, prx = oriented
        key = f"{msg.get_attr('CTA_ID')}/{orig[4]}/{orig[0]}:{orig[1]}>{orig[2]}:{orig[3]}"
        result.flows.append(Flow(key, orig[4], device_ip, remote_ip, remote_port, tx, rx, ptx, prx))
