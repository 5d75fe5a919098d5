"""The default home: an ISP, a router, and the devices a diagnostics agent meets in a real flat.

MACs of real devices carry their vendor's OUI (checked against the IEEE registry) so vendor lookup has
ground truth; the phone's is locally administered, as iOS and Android randomise it per network.
"""

from __future__ import annotations

from .const import (
    CLOUD_ADDRESS,
    CLOUD_NAME,
    DNS_ADDRESS,
    GATEWAY_ADDRESS,
    ISP_WAN_ADDRESS,
    SPEED_NAME,
    WAN_GATEWAY_CIDR,
    WAN_ISP_CIDR,
)
from .model import Home, Host, Link, Service


def default_home() -> Home:
    """isp -- gw -- lan bridge -- pc, printer, tv, phone, silent (addresses in docs/lab.md)."""
    via = GATEWAY_ADDRESS
    hosts = (
        Host(
            "isp",
            hostname="isp",
            services=frozenset({Service.DNS}),
            loopback=(f"{DNS_ADDRESS}/32", f"{CLOUD_ADDRESS}/32"),
            label="ISP core: resolver and cloud endpoints",
        ),
        Host(
            "gw",
            hostname="fritz-box",
            services=frozenset({Service.ROUTER}),
            default_route=ISP_WAN_ADDRESS,
            label="Home router",
            make="AVM",
            model="FRITZ!Box 7590",
            vendor="AVM Audiovisuelles Marketing und Computersysteme GmbH",
        ),
        Host(
            "pc",
            hostname="pc",
            services=frozenset({Service.AVAHI}),
            default_route=via,
            label="Desktop PC running the agent",
            vendor="Intel Corporate",
        ),
        Host(
            "printer",
            hostname="office-printer",
            services=frozenset({Service.AVAHI, Service.IPP_PRINTER}),
            default_route=via,
            label="Office Printer",
            make="HP",
            model="OfficeJet Pro 9010",
            vendor="HP Inc.",
        ),
        Host(
            "tv",
            hostname="living-room-tv",
            services=frozenset({Service.MEDIA_RENDERER}),
            default_route=via,
            label="Living Room TV",
            make="Sony",
            model="BRAVIA XR-55A80J",
            vendor="SONY Visual Products Inc.",
        ),
        Host("phone", hostname="phone", default_route=via, label="Phone with a private (random) MAC"),
        Host(
            "silent",
            hostname="silent",
            default_route=via,
            ipv6=False,
            icmp_only=True,
            label="Silent host: answers ARP and ICMP only",
            vendor="Raspberry Pi Trading Ltd",
        ),
    )
    links = (
        Link("gw", address=f"{GATEWAY_ADDRESS}/24", mac="2c:91:ab:4d:1a:01"),
        Link(
            "gw",
            peer="isp",
            ifname="wan0",
            peer_ifname="wan0",
            address=WAN_GATEWAY_CIDR,
            peer_address=WAN_ISP_CIDR,
            mac="2c:91:ab:4d:1a:02",
            peer_mac="02:00:5e:d5:ff:01",
        ),
        Link("pc", address="10.213.0.10/24", mac="3c:6a:a7:52:8e:10"),
        Link("printer", address="10.213.0.20/24", mac="30:24:a9:7b:c2:20"),
        Link("tv", address="10.213.0.30/24", mac="70:26:05:9a:3f:30"),
        # 0x6e: bit 1 set (locally administered), bit 0 clear (unicast): a randomised phone MAC.
        Link("phone", address="10.213.0.40/24", mac="6e:41:d2:07:b5:40"),
        Link("silent", address="10.213.0.50/24", mac="dc:a6:32:11:5c:50"),
    )
    records = {CLOUD_NAME: CLOUD_ADDRESS, SPEED_NAME: CLOUD_ADDRESS}
    return Home(hosts=hosts, links=links, resolver=DNS_ADDRESS, dns_records=records).validate()
