"""ARP: an active sweep of the attached private IPv4 subnets, and the kernel's neighbour table.

The sweep runs scapy in a short-lived worker process (:mod:`.arp_worker`): importing scapy costs
tens of MB of resident memory, which the agent gives back the moment the sweep is over. Only private
ranges (RFC 1918) are swept unless ``allow_public`` is set; a subnet larger than ``max_hosts`` is cut
to the ``/24`` around our own address; frames are paced at ``rate_pps``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import AgentError
from ..routes import default_route_interface, ip_forwarding
from ..subprocesses import communicate
from .const import DEFAULT_SWEEP_RATE_PPS, DEFAULT_SWEEP_WAIT_S, MAX_SWEEP_HOSTS, MAX_WORKER_OUTPUT_BYTES
from .model import ARP, NEIGH, SELF, Sighting
from .oui import normalise_mac
from .sanitize import Counters

_LOGGER = logging.getLogger(__name__)
PROC_ARP = Path("/proc/net/arp")
WORKER = Path(__file__).with_name("arp_worker.py")


class SweepRefused(AgentError, ValueError):
    """A subnet the sweep will not touch (public, or too large)."""


@dataclass(frozen=True, slots=True)
class Attached:
    """An IPv4 subnet on one of our interfaces, with our own address and MAC there."""

    interface: str
    address: str
    network: ipaddress.IPv4Network
    mac: str


def attached_subnets(interface: str | None = None) -> list[Attached]:
    """IPv4 subnets of the up, non-loopback interfaces (or of ``interface`` only)."""
    import psutil  # noqa: PLC0415 - already resident in the agent

    stats = psutil.net_if_stats()
    out: list[Attached] = []
    for name, addrs in psutil.net_if_addrs().items():
        if (interface and name != interface) or name == "lo" or not stats.get(name, None):
            continue
        if not stats[name].isup:
            continue
        mac = next((a.address for a in addrs if a.family == getattr(socket, "AF_PACKET", -1)), "")
        for a in addrs:
            if a.family != socket.AF_INET or not a.netmask:
                continue
            network = ipaddress.IPv4Network(f"{a.address}/{a.netmask}", strict=False)
            if network.is_loopback or network.prefixlen >= 31:
                continue
            out.append(Attached(name, a.address, network, normalise_mac(mac)))
    return out


def lan_subnets(
    interface: str | None = None,
    *,
    attached: list[Attached] | None = None,
    forwarding: bool | None = None,
    wan: str | None = None,
) -> list[Attached]:
    """The subnets discovery may touch: ``interface``'s if named, else every one but a gateway's WAN.

    On a host that forwards and has a private subnet on another interface than the default route's,
    that interface is the WAN: sweeping or querying it would probe the ISP's network. A plain PC (no
    forwarding, or its default-route interface is its only LAN) keeps all its subnets.
    """
    attached = attached_subnets(interface) if attached is None else attached
    if interface:
        return [a for a in attached if a.interface == interface]
    forwarding = ip_forwarding() if forwarding is None else forwarding
    wan = default_route_interface() if wan is None else wan
    if not forwarding or not wan:
        return attached
    lan = [a for a in attached if a.interface != wan]
    if any(a.network.is_private for a in lan):
        return lan
    return attached


def sweep_targets(
    attached: Attached, max_hosts: int = MAX_SWEEP_HOSTS, allow_public: bool = False
) -> tuple[ipaddress.IPv4Network, list[str]]:
    """The network to sweep and its addresses (without ours); SweepRefused for public ranges."""
    network = attached.network
    private = network.is_private and not network.is_link_local and not network.is_multicast
    if not private and not allow_public:
        raise SweepRefused(f"{network} is not a private range: not swept (allow_public is off)")
    if network.num_addresses - 2 > max_hosts:
        network = ipaddress.IPv4Network(f"{attached.address}/24", strict=False)
        if network.num_addresses - 2 > max_hosts:
            raise SweepRefused(f"{attached.network} is larger than {max_hosts} hosts")
    return network, [str(h) for h in network.hosts() if str(h) != attached.address]


def own_sighting(attached: Attached) -> Sighting:
    return Sighting(SELF, ip=attached.address, mac=attached.mac, hostname=socket.gethostname()[:63])


def neighbour_table(interface: str | None = None, text: str | None = None) -> list[Sighting]:
    """Complete entries of the kernel's ARP table (``/proc/net/arp``), a passive source."""
    if text is None:
        try:
            text = PROC_ARP.read_text()
        except OSError:
            return []
    out = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 6 or (interface and fields[5] != interface):
            continue
        ip, flags, mac = fields[0], fields[2], normalise_mac(fields[3])
        try:
            ipaddress.IPv4Address(ip)
            complete = int(flags, 16) & 0x2
        except ValueError:
            continue
        if complete and mac:
            out.append(Sighting(NEIGH, ip=ip, mac=mac))
    return out


async def sweep(
    attached: Attached,
    *,
    rate_pps: float = DEFAULT_SWEEP_RATE_PPS,
    wait_s: float = DEFAULT_SWEEP_WAIT_S,
    max_hosts: int = MAX_SWEEP_HOSTS,
    allow_public: bool = False,
    counters: Counters | None = None,
) -> list[Sighting]:
    """ARP-sweep ``attached``'s subnet in a worker process; SweepRefused before anything is sent."""
    counters = counters if counters is not None else Counters()
    network, targets = sweep_targets(attached, max_hosts, allow_public)
    if not targets:
        return []
    request = json.dumps(
        {"interface": attached.interface, "targets": targets, "rate_pps": rate_pps, "wait_s": wait_s}
    ).encode()
    # Run as a script, not ``-m agent...``: the worker needs scapy and the standard library only,
    # and importing the agent's packages would add a third to its start-up.
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        str(WORKER),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    budget_s = len(targets) / max(rate_pps, 1.0) + wait_s + 10.0
    done = await communicate(proc, request, budget_s)  # killed on timeout or cancellation: no orphan
    if done is None:
        counters["arp_worker_timeout"] += 1
        return []
    stdout, stderr = done
    if proc.returncode != 0:
        counters["arp_worker_failed"] += 1
        _LOGGER.warning("ARP sweep of %s failed: %s", network, stderr.decode(errors="replace")[-300:])
        return []
    try:
        pairs = json.loads(stdout[:MAX_WORKER_OUTPUT_BYTES])
    except ValueError:
        counters["arp_worker_garbage"] += 1
        return []
    wanted = set(targets)
    out: list[Sighting] = []
    for ip, raw_mac in pairs:
        mac = normalise_mac(str(raw_mac))
        if str(ip) in wanted and mac:
            out.append(Sighting(ARP, ip=str(ip), mac=mac))
        else:
            counters["arp_unsolicited"] += 1
    return out
