"""The PC resolves through the gateway's NAT to the ISP's dnsmasq, which knows only the lab's names."""

from __future__ import annotations

import pytest

from lab import CLOUD_ADDRESS, CLOUD_NAME, DNS_ADDRESS, GATEWAY_ADDRESS, SPEED_NAME, Lab

from .helpers import need, python_in

pytestmark = pytest.mark.lab


def test_dig_from_the_pc_uses_the_isp_resolver(home: Lab) -> None:
    need("dig")
    # No @server: dig reads the PC's private /etc/resolv.conf, which names the ISP's resolver.
    out = home.exec("pc", ["dig", "+time=2", "+tries=1", CLOUD_NAME, "A"]).stdout
    assert f"SERVER: {DNS_ADDRESS}#53" in out
    assert "status: NOERROR" in out
    short = home.exec("pc", ["dig", "+short", "+time=2", "+tries=1", SPEED_NAME]).stdout.split()
    assert short == [CLOUD_ADDRESS]


def test_the_query_crosses_the_gateway_and_its_nat(home: Lab) -> None:
    need("dig")
    route = home.exec("pc", ["ip", "route", "get", DNS_ADDRESS]).stdout
    assert f"via {GATEWAY_ADDRESS}" in route
    home.exec("phone", ["dig", "+short", "+time=2", "+tries=1", f"@{DNS_ADDRESS}", CLOUD_NAME])
    log = (home.dir / "logs" / "isp.dnsmasq.log").read_text()
    # dnsmasq sees the router's WAN address, never a home address: the query was masqueraded.
    wan = home.home.wan_link
    assert wan is not None and wan.ip is not None
    assert f"query[A] {CLOUD_NAME} from {wan.ip}" in log
    assert "from 10.213.0." not in log


def test_the_resolver_forwards_nothing(home: Lab) -> None:
    need("dig")
    out = home.exec("pc", ["dig", "+time=2", "+tries=1", "example.com", "A"], check=False).stdout
    assert "status: REFUSED" in out
    assert "ANSWER: 0" in out


def test_the_libc_resolver_in_the_pc_sees_the_lab_names(home: Lab) -> None:
    code = f"import socket; print(socket.gethostbyname({CLOUD_NAME!r}))"
    assert python_in(home, "pc", code).strip() == CLOUD_ADDRESS
