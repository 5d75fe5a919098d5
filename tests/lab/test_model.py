"""The home description, SSDP and UPnP messages, and the CLI's state handling: no root needed."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from lab import Home, Host, LabConfigError, Link, Service, default_home, home_from_dict, load_home
from lab.devices.ssdp import SsdpResponder, parse_headers
from lab.devices.upnp import DEVICE_TYPE, SERVICE_TYPES, device_description
from lab.traffic import iperf_block_size

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_home_stays_inside_the_lab_range() -> None:
    home = default_home()
    lab_net = ipaddress.IPv4Network("10.213.0.0/16")
    addresses = [lk.address for lk in home.links if lk.address] + [
        lk.peer_address for lk in home.links if lk.peer_address
    ]
    addresses += [a for h in home.hosts for a in h.loopback]
    assert addresses
    assert all(ipaddress.IPv4Interface(a).ip in lab_net for a in addresses)
    macs = [lk.mac for lk in home.links if lk.mac]
    assert len(macs) == len(set(macs))


def test_only_the_phone_has_a_randomised_mac() -> None:
    home = default_home()
    local = {h.name for h in home.hosts if (mac := home.mac(h.name)) and int(mac[:2], 16) & 0x02}
    assert local == {"phone"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda h: dataclasses.replace(
                h,
                links=(
                    *h.links,
                    Link("phone", address="192.168.1.10/24", ifname="eth1", peer_ifname="vb-phone2"),
                ),
            ),
            "outside",
        ),
        (lambda h: dataclasses.replace(h, hosts=(*h.hosts, Host("Bad_Name"))), "host name"),
        (
            lambda h: dataclasses.replace(
                h, hosts=(*h.hosts, Host("p2", services=frozenset({Service.IPP_PRINTER})))
            ),
            "avahi",
        ),
        (lambda h: dataclasses.replace(h, links=(*h.links, Link("pc"))), "used twice"),
        (
            lambda h: dataclasses.replace(
                h, links=(*h.links, Link("pc", ifname="eth1", peer_ifname="vb-pc2", mac="01:00:5e:00:00:01"))
            ),
            "multicast",
        ),
        (lambda h: dataclasses.replace(h, resolver="10.213.9.9"), "owns the resolver"),
    ],
)
def test_invalid_homes_are_refused(change: Callable[[Home], Home], message: str) -> None:
    with pytest.raises(LabConfigError, match=message):
        change(default_home()).validate()


def test_a_home_loads_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "home.toml"
    path.write_text(
        'resolver = "10.213.254.53"\n'
        'dns_records = { "cloud.homediag.test" = "10.213.254.10" }\n'
        '[[hosts]]\nname = "isp"\nservices = ["dns"]\nloopback = ["10.213.254.53/32"]\n'
        '[[hosts]]\nname = "gw"\nservices = ["router"]\ndefault_route = "10.213.255.1"\n'
        '[[hosts]]\nname = "pc"\ndefault_route = "10.213.0.1"\n'
        '[[links]]\nhost = "gw"\naddress = "10.213.0.1/24"\n'
        '[[links]]\nhost = "gw"\npeer = "isp"\nifname = "wan0"\npeer_ifname = "wan0"\n'
        'address = "10.213.255.2/30"\npeer_address = "10.213.255.1/30"\n'
        '[[links]]\nhost = "pc"\naddress = "10.213.0.10/24"\n'
    )
    home = load_home(path)
    assert isinstance(home, Home)
    assert home.address("pc") == "10.213.0.10"
    assert home.address("isp") == "10.213.255.1"
    assert home.wan_link is not None and home.wan_link.ifname == "wan0"


def test_unknown_keys_are_errors() -> None:
    with pytest.raises(LabConfigError, match="unknown keys"):
        home_from_dict({"resolver": "10.213.254.53", "hosts": [{"name": "pc", "colour": "red"}]})


def test_iperf_blocks_divide_the_transfer() -> None:
    for nbytes in (1, 1000, 131_072, 5_000_000, 3_000_000, 10**9):
        block = iperf_block_size(nbytes)
        assert nbytes % block == 0 and block <= 128 * 1024
    with pytest.raises(LabConfigError):
        iperf_block_size(1_000_003)  # prime


def _responder() -> SsdpResponder:
    return SsdpResponder(
        location="http://10.213.0.30:8008/d.xml",
        udn="uuid:1",
        device_type=DEVICE_TYPE,
        service_types=SERVICE_TYPES,
    )


def test_ssdp_answers_match_the_search_target() -> None:
    responder = _responder()
    assert len(responder.matches("ssdp:all")) == 3 + len(SERVICE_TYPES)
    assert responder.matches("upnp:rootdevice") == [("upnp:rootdevice", "uuid:1::upnp:rootdevice")]
    assert responder.matches("urn:example:device:Other:1") == []
    start, headers = parse_headers(responder.response("upnp:rootdevice", "uuid:1::upnp:rootdevice"))
    assert start == "HTTP/1.1 200 OK"
    assert headers["LOCATION"] == "http://10.213.0.30:8008/d.xml"
    assert headers["EXT"] == ""


def test_byebye_carries_no_location() -> None:
    for message in _responder().notifications("ssdp:byebye"):
        _, headers = parse_headers(message)
        assert headers["NTS"] == "ssdp:byebye" and "LOCATION" not in headers


def test_the_upnp_description_is_valid_xml() -> None:
    xml = device_description(
        friendly_name="A & B", manufacturer="Sony", model_name="BRAVIA X", udn="uuid:1", serial="1"
    )
    ns = {"u": "urn:schemas-upnp-org:device-1-0"}
    device = ET.fromstring(xml).find("u:device", ns)
    assert device is not None
    assert device.findtext("u:friendlyName", namespaces=ns) == "A & B"
    assert device.findtext("u:deviceType", namespaces=ns) == DEVICE_TYPE


def test_status_with_no_lab(tmp_path: Path) -> None:
    env = {**os.environ, "HOMEDIAG_LAB_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "lab", "status", "--json"], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(done.stdout) == []
