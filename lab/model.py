"""The declarative description of a home: hosts, the links between them, and what runs on each.

A :class:`Home` says *what* to build; :mod:`lab.topology` and :mod:`lab.services` build it. Validation is
strict because the description decides which addresses appear on which interfaces: every address must lie
inside the lab's own range, so a typo can never put a real network's address into a namespace.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from .const import BRIDGE_PORT_PREFIX, HOST_NAME_RE, LAB_NETWORK, LAN_NS, MAX_IFNAME_LEN
from .errors import LabConfigError

_LAB_NET = ipaddress.IPv4Network(LAB_NETWORK)


class Service(StrEnum):
    """What the lab starts inside a host, beyond its network configuration."""

    ROUTER = "router"  # forwards and masquerades the home LAN out of its WAN link
    DNS = "dns"  # dnsmasq answering Home.dns_records on Home.resolver, forwarding nothing
    AVAHI = "avahi"  # a private dbus-daemon and avahi-daemon (mDNS responder; lets avahi-browse work)
    IPP_PRINTER = "ipp-printer"  # ippeveprinter announced through the host's avahi
    MEDIA_RENDERER = "media-renderer"  # lab.devices.tv: cast/AirPlay over mDNS, SSDP and a UPnP description


@dataclass(frozen=True)
class Host:
    """One device of the home, in a namespace of its own.

    ``default_route`` is the next hop of the default route; ``loopback`` holds extra /32 addresses (the ISP's
    resolver and cloud endpoints); ``icmp_only`` drops every inbound packet but ICMP (ARP is not IP, so
    it still answers); ``label``, ``make`` and ``model`` are what the device announces.
    """

    name: str
    hostname: str = ""
    services: frozenset[Service] = frozenset()
    default_route: str | None = None
    loopback: tuple[str, ...] = ()
    ipv6: bool = True
    icmp_only: bool = False
    label: str = ""
    make: str = ""
    model: str = ""
    #: Who owns the OUI of this host's MAC (documentation and ground truth for vendor lookup).
    vendor: str = ""

    @property
    def dns_name(self) -> str:
        return self.hostname or self.name


@dataclass(frozen=True)
class Link:
    """A veth pair: ``ifname`` inside ``host``, its peer in ``peer`` (a host, or ``"lan"`` for the bridge)."""

    host: str
    peer: str = LAN_NS
    address: str | None = None
    mac: str | None = None
    ifname: str = "eth0"
    peer_ifname: str | None = None
    peer_address: str | None = None
    peer_mac: str | None = None

    @property
    def on_lan(self) -> bool:
        return self.peer == LAN_NS

    @property
    def peer_end(self) -> str:
        """The peer's interface name: ``vb-<host>`` on the bridge unless set."""
        return self.peer_ifname or f"{BRIDGE_PORT_PREFIX}{self.host}"

    @property
    def ip(self) -> str | None:
        return None if self.address is None else str(ipaddress.IPv4Interface(self.address).ip)


@dataclass(frozen=True)
class Home:
    """Hosts, links, and the ISP's DNS view of the world (``resolver`` serves ``dns_records``)."""

    hosts: tuple[Host, ...]
    links: tuple[Link, ...]
    resolver: str
    dns_records: dict[str, str] = field(default_factory=dict)

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise LabConfigError(f"no host {name!r} in this home (have {', '.join(self.host_names)})")

    @property
    def host_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hosts)

    def links_of(self, name: str) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.host == name)

    def address(self, name: str) -> str:
        """The host's first link address without prefix length (its LAN address for home devices)."""
        for link in self.links_of(name):
            if link.ip is not None:
                return link.ip
        for link in self.links:
            if link.peer == name and link.peer_address is not None:
                return str(ipaddress.IPv4Interface(link.peer_address).ip)
        raise LabConfigError(f"host {name!r} has no address")

    def mac(self, name: str) -> str | None:
        links = self.links_of(name)
        return links[0].mac if links else None

    def with_service(self, service: Service) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if service in h.services)

    @property
    def router(self) -> Host | None:
        routers = self.with_service(Service.ROUTER)
        return routers[0] if routers else None

    @property
    def wan_link(self) -> Link | None:
        """The router's link that does not go to the LAN: where the WAN rate limit applies."""
        router = self.router
        if router is None:
            return None
        return next((link for link in self.links_of(router.name) if not link.on_lan), None)

    def validate(self) -> Home:
        _validate(self)
        return self


def _in_lab(value: str, what: str, *, interface: bool) -> None:
    try:
        addr = ipaddress.IPv4Interface(value) if interface else ipaddress.IPv4Address(value)
    except ValueError as exc:
        raise LabConfigError(
            f"{what}: {value!r} is not an IPv4 {'interface' if interface else 'address'}"
        ) from exc
    ip = addr.ip if isinstance(addr, ipaddress.IPv4Interface) else addr
    if ip not in _LAB_NET:
        # The network rule: addresses outside the lab's range could shadow a real network.
        raise LabConfigError(f"{what}: {value} is outside the lab's range {LAB_NETWORK}")


def _mac(value: str, what: str) -> None:
    parts = value.split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise LabConfigError(f"{what}: {value!r} is not a MAC address")
    try:
        first = int(parts[0], 16)
        for p in parts[1:]:
            int(p, 16)
    except ValueError as exc:
        raise LabConfigError(f"{what}: {value!r} is not a MAC address") from exc
    if first & 0x01:
        raise LabConfigError(f"{what}: {value} is a multicast address")


def _validate(home: Home) -> None:
    names = home.host_names
    if len(set(names)) != len(names):
        raise LabConfigError(f"duplicate host names in {names}")
    for host in home.hosts:
        if not HOST_NAME_RE.match(host.name) or host.name == LAN_NS:
            raise LabConfigError(
                f"host name {host.name!r} must match {HOST_NAME_RE.pattern} and not be {LAN_NS!r}"
            )
        if host.default_route is not None:
            _in_lab(host.default_route, f"{host.name}.default_route", interface=False)
        for addr in host.loopback:
            _in_lab(addr, f"{host.name}.loopback", interface=True)
        if Service.IPP_PRINTER in host.services and Service.AVAHI not in host.services:
            raise LabConfigError(f"{host.name}: an IPP printer is announced through avahi; add Service.AVAHI")
        if not home.links_of(host.name) and not any(link.peer == host.name for link in home.links):
            raise LabConfigError(f"host {host.name!r} has no link")
        if Service.MEDIA_RENDERER in host.services and not any(lk.on_lan for lk in home.links_of(host.name)):
            raise LabConfigError(f"{host.name}: a media renderer needs a LAN link")
    ifnames: set[tuple[str, str]] = set()
    for link in home.links:
        if link.host not in names:
            raise LabConfigError(f"link of unknown host {link.host!r}")
        if link.peer != LAN_NS and link.peer not in names:
            raise LabConfigError(f"link {link.host}<->{link.peer}: unknown peer")
        for ns, ifname in ((link.host, link.ifname), (link.peer, link.peer_end)):
            if not 0 < len(ifname) <= MAX_IFNAME_LEN or (ns, ifname) in ifnames:
                raise LabConfigError(f"interface {ifname!r} in {ns!r} is too long or used twice")
            ifnames.add((ns, ifname))
        for value, what in ((link.address, "address"), (link.peer_address, "peer_address")):
            if value is not None:
                _in_lab(value, f"link {link.host}<->{link.peer} {what}", interface=True)
        for mac, what in ((link.mac, "mac"), (link.peer_mac, "peer_mac")):
            if mac is not None:
                _mac(mac, f"link {link.host}<->{link.peer} {what}")
        if link.on_lan and link.peer_address is not None:
            raise LabConfigError(f"link {link.host}<->lan: the bridge side carries no address")
    if len(home.with_service(Service.ROUTER)) > 1:
        raise LabConfigError("at most one host may be the router")
    router = home.router
    if router is not None and home.wan_link is None:
        raise LabConfigError(f"router {router.name!r} needs a link that is not on the LAN (its WAN)")
    _in_lab(home.resolver, "resolver", interface=False)
    dns_hosts = home.with_service(Service.DNS)
    if dns_hosts and not any(_owns(home, h.name, home.resolver) for h in dns_hosts):
        raise LabConfigError(f"no DNS host owns the resolver address {home.resolver}")
    for name, value in home.dns_records.items():
        _in_lab(value, f"dns record {name}", interface=False)


def _owns(home: Home, host: str, address: str) -> bool:
    ip = ipaddress.IPv4Address(address)
    owned = [ipaddress.IPv4Interface(a).ip for a in home.host(host).loopback]
    owned += [ipaddress.IPv4Interface(lk.address).ip for lk in home.links_of(host) if lk.address]
    owned += [
        ipaddress.IPv4Interface(lk.peer_address).ip
        for lk in home.links
        if lk.peer == host and lk.peer_address
    ]
    return ip in owned
