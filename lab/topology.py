"""Building a home's network: namespaces, the bridge, veths, addresses, routes, NAT and firewalls.

Every veth is created from inside a lab namespace with its peer placed straight into another one, so no
interface ever exists, even briefly, in the root namespace. The switch namespace has IPv6 off: its bridge
and ports would otherwise send router solicitations and MLD reports from MACs that belong to no device.
"""

from __future__ import annotations

from collections.abc import Callable

from .commands import in_netns, ip_batch, run, write_sysctls
from .const import BRIDGE, LAN_NS
from .model import Home, Host, Link, Service
from .netns import add_netns

NetnsName = Callable[[str], str]

_NAT_RULES = """
table ip homediag_nat {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "{wan}" masquerade
    }}
}}
"""

# A silent device: answers ARP (not IP, so untouched) and ICMP, and nothing else, not even TCP resets.
_ICMP_ONLY_RULES = """
table inet homediag_silent {
    chain input {
        type filter hook input priority filter; policy drop;
        iif "lo" accept
        ct state established,related accept
        meta l4proto { icmp, ipv6-icmp } accept
    }
}
"""


def namespaces(home: Home, netns: NetnsName) -> list[str]:
    return [netns(LAN_NS), *(netns(h.name) for h in home.hosts)]


def build(home: Home, netns: NetnsName) -> None:
    add_netns(namespaces(home, netns))
    write_sysctls(netns(LAN_NS), _no_ipv6())
    for host in home.hosts:
        write_sysctls(netns(host.name), _host_sysctls(host))
    _build_switch(home, netns)
    for link in home.links:
        if not link.on_lan:
            ip_batch([_veth(link, netns(link.peer))], netns=netns(link.host))
    for host in home.hosts:
        ip_batch(_host_config(home, host), netns=netns(host.name))
        if Service.ROUTER in host.services and home.wan_link is not None:
            _nft(netns(host.name), _NAT_RULES.format(wan=home.wan_link.ifname))
        if host.icmp_only:
            _nft(netns(host.name), _ICMP_ONLY_RULES)


def _build_switch(home: Home, netns: NetnsName) -> None:
    # No IGMP snooping: without a querier it would eventually stop flooding mDNS and SSDP to some ports.
    commands = [f"link add {BRIDGE} type bridge mcast_snooping 0", f"link set {BRIDGE} up"]
    for link in home.links:
        if link.on_lan:
            commands += [
                _veth(link, netns(link.host), lan_side=True),
                f"link set {link.peer_end} master {BRIDGE}",
                f"link set {link.peer_end} up",
            ]
    ip_batch(commands, netns=netns(LAN_NS))


def _veth(link: Link, other_netns: str, *, lan_side: bool = False) -> str:
    """``ip link add`` run in one end's namespace, creating the other end directly in ``other_netns``."""
    if lan_side:
        here, there, there_mac, here_mac = link.peer_end, link.ifname, link.mac, link.peer_mac
    else:
        here, there, there_mac, here_mac = link.ifname, link.peer_end, link.peer_mac, link.mac
    here_addr = f" address {here_mac}" if here_mac else ""
    there_addr = f" address {there_mac}" if there_mac else ""
    return f"link add {here}{here_addr} type veth peer name {there}{there_addr} netns {other_netns}"


def _host_config(home: Home, host: Host) -> list[str]:
    commands = ["link set lo up"]
    commands += [f"address add {addr} dev lo" for addr in host.loopback]
    for link in home.links:
        if link.host == host.name:
            ifname, address = link.ifname, link.address
        elif link.peer == host.name:
            ifname, address = link.peer_end, link.peer_address
        else:
            continue
        if address:
            commands.append(f"address add {address} dev {ifname}")
        commands.append(f"link set {ifname} up")
    if host.default_route:
        commands.append(f"route add default via {host.default_route}")
    return commands


def _host_sysctls(host: Host) -> dict[str, str]:
    values = {
        # Unprivileged ICMP sockets (icmplib privileged=False) for any user, in this namespace only.
        "net.ipv4.ping_group_range": "0 2147483647",
    }
    if Service.ROUTER in host.services:
        values["net.ipv4.ip_forward"] = "1"
    if not host.ipv6:
        values.update(_no_ipv6())
    return values


def _no_ipv6() -> dict[str, str]:
    return {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}


def _nft(netns: str, rules: str) -> None:
    run(in_netns(netns, ["nft", "-f", "-"]), input_text=rules)
