"""Devices are discoverable with the tools a real network admin would use: avahi, ipptool, SSDP."""

from __future__ import annotations

import json

import pytest

from lab import IPP_PORT, IPP_RESOURCE, Lab

from .helpers import need, python_in, until

pytestmark = pytest.mark.lab


def _browse_all(lab: Lab) -> dict[str, dict[str, str]]:
    """avahi-browse -artpk from the PC: resolved services keyed by type, with address, port and TXT."""
    out = lab.exec("pc", ["avahi-browse", "-a", "-r", "-t", "-p", "-k"], timeout_s=15).stdout
    found: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        fields = line.split(";")
        if fields[0] == "=" and len(fields) >= 10:
            found[fields[4]] = {
                "name": fields[3],
                "host": fields[6],
                "address": fields[7],
                "port": fields[8],
                "txt": fields[9],
            }
    return found


def test_avahi_browse_from_the_pc_sees_the_printer_and_the_tv(home: Lab) -> None:
    need("avahi-browse")
    seen: dict[str, dict[str, str]] = {}

    def all_there() -> bool:
        seen.update(_browse_all(home))
        return {"_ipp._tcp", "_googlecast._tcp", "_airplay._tcp", "_raop._tcp"} <= set(seen)

    assert until(all_there, timeout_s=10), f"services seen: {sorted(seen)}"
    printer, cast = seen["_ipp._tcp"], seen["_googlecast._tcp"]
    assert (printer["address"], printer["port"], printer["host"]) == (
        home.address("printer"),
        str(IPP_PORT),
        "office-printer.local",
    )
    assert '"ty=HP OfficeJet Pro 9010"' in printer["txt"]
    assert (cast["address"], cast["port"]) == (home.address("tv"), "8009")
    assert '"fn=Living Room TV"' in cast["txt"]
    assert seen["_raop._tcp"]["name"].startswith("702605")  # the TV's MAC, AirPlay style


def test_ipptool_reads_the_printer_attributes(home: Lab) -> None:
    need("ipptool")
    uri = f"ipp://{home.address('printer')}:{IPP_PORT}{IPP_RESOURCE}"
    out = home.exec("pc", ["ipptool", "-tv", uri, "get-printer-attributes.test"], timeout_s=20).stdout
    assert "[PASS]" in out and "[FAIL]" not in out
    assert "printer-state (enum) = idle" in out
    assert "printer-make-and-model (textWithoutLanguage) = HP OfficeJet Pro 9010" in out


_SSDP_SEARCH = r"""
import json, socket, urllib.request, xml.etree.ElementTree as ET
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("PC_ADDRESS", 0))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("PC_ADDRESS"))
search = ('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n'
          'MAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n')
s.sendto(search.encode(), ("239.255.255.250", 1900))
s.settimeout(1.5)
answers = []
try:
    while True:
        data, addr = s.recvfrom(4096)
        head = dict(l.split(":", 1) for l in data.decode().split("\r\n")[1:] if ":" in l)
        answers.append({"from": addr[0], **{k.strip().upper(): v.strip() for k, v in head.items()}})
except socket.timeout:
    pass
desc = {}
if answers:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    xml = opener.open(answers[0]["LOCATION"], timeout=5).read()
    ns = {"u": "urn:schemas-upnp-org:device-1-0"}
    dev = ET.fromstring(xml).find("u:device", ns)
    tags = ("friendlyName", "manufacturer", "modelName", "UDN")
    desc = {tag: dev.findtext("u:" + tag, namespaces=ns) for tag in tags}
print(json.dumps({"answers": answers, "description": desc}))
"""


def test_ssdp_search_finds_the_tv_and_its_description(home: Lab) -> None:
    result = json.loads(python_in(home, "pc", _SSDP_SEARCH.replace("PC_ADDRESS", home.address("pc"))))
    answers = result["answers"]
    assert answers, "no SSDP answer"
    assert {a["from"] for a in answers} == {home.address("tv")}
    targets = {a["ST"] for a in answers}
    assert {"upnp:rootdevice", "urn:schemas-upnp-org:device:MediaRenderer:1"} <= targets
    assert all(a["LOCATION"].startswith(f"http://{home.address('tv')}:8008/") for a in answers)
    desc = result["description"]
    assert desc["friendlyName"] == "Living Room TV"
    assert desc["manufacturer"] == "Sony"
    assert desc["modelName"] == "BRAVIA XR-55A80J"
    assert desc["UDN"].startswith("uuid:")
