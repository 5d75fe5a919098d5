"""MACs, and the silent host: what a scanner sees of each device, read from the kernel."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from lab import Lab

from .helpers import need, ping_rtts_ms, python_in

pytestmark = pytest.mark.lab

#: Globally administered OUIs of the default home and the IEEE registry's owner of each.
OUIS = {
    "gw": ("2c:91:ab", "AVM Audiovisuelles Marketing und Computersysteme GmbH"),
    "pc": ("3c:6a:a7", "Intel Corporate"),
    "printer": ("30:24:a9", "HP Inc."),
    "tv": ("70:26:05", "SONY Visual Products Inc."),
    "silent": ("dc:a6:32", "Raspberry Pi Trading Ltd"),
}


def _kernel_mac(lab: Lab, host: str) -> str:
    (link,) = json.loads(lab.exec(host, ["ip", "-j", "link", "show", "eth0"]).stdout)
    return str(link["address"])


def test_the_phone_mac_is_locally_administered(home: Lab) -> None:
    mac = _kernel_mac(home, "phone")
    first = int(mac.split(":")[0], 16)
    assert first & 0x02, f"{mac}: the U/L bit should be set (randomised MAC)"
    assert not first & 0x01, f"{mac}: must stay unicast"


def test_other_hosts_carry_their_vendors_oui(home: Lab) -> None:
    for host, (oui, vendor) in OUIS.items():
        mac = _kernel_mac(home, host)
        assert mac.startswith(oui), host
        assert not int(mac[:2], 16) & 0x03, f"{host}: {mac} should be globally administered unicast"
        assert home.home.host(host).vendor == vendor


def test_the_silent_host_answers_arp_and_icmp_only(home: Lab) -> None:
    need("ping")
    silent, phone = home.address("silent"), home.address("phone")
    rtts, _ = ping_rtts_ms(home, "pc", silent, count=2, interval_s=0.2)
    assert len(rtts) == 2
    neigh = json.loads(home.exec("pc", ["ip", "-j", "neigh", "show", silent, "dev", "eth0"]).stdout)
    assert neigh and neigh[0]["lladdr"] == home.home.mac("silent")
    probe = (
        "import socket, sys\n"
        "try:\n"
        "    socket.create_connection((sys.argv[1], 22), timeout=1)\n"
        "    print('open')\n"
        "except ConnectionRefusedError:\n"
        "    print('refused')\n"
        "except OSError:\n"
        "    print('silent')\n"
    )
    # A TCP SYN gets nothing back from the silent host, where an ordinary host answers with a reset.
    assert python_in(home, "pc", probe.replace("sys.argv[1]", repr(silent))).strip() == "silent"
    assert python_in(home, "pc", probe.replace("sys.argv[1]", repr(phone))).strip() == "refused"


_MDNS_ASK = r"""
import json, socket, struct, time
def query(name):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">6H", 0, 0, 1, 0, 0, 0) + labels + struct.pack(">2H", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("PC_ADDRESS", 0))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("PC_ADDRESS"))
for name in ("silent.local", "living-room-tv.local"):
    s.sendto(query(name), ("224.0.0.251", 5353))
s.settimeout(0.2)
answered, deadline = set(), time.monotonic() + 1.0
while time.monotonic() < deadline:
    try:
        answered.add(s.recvfrom(4096)[1][0])
    except socket.timeout:
        pass
print(json.dumps(sorted(answered)))
"""


def test_the_silent_host_says_nothing_on_mdns(home: Lab) -> None:
    need("tcpdump")
    capture = home.dir / "logs" / "mdns-capture.txt"
    with capture.open("wb") as out:
        argv = ["tcpdump", "-i", "eth0", "-n", "-l", "udp port 5353"]
        tcpdump = home.popen("pc", argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 5
        while b"listening on" not in capture.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.02)
        # One-shot (RFC 6762 §5.1) queries for the silent host and the TV: the TV answers, it must not.
        answered = json.loads(python_in(home, "pc", _MDNS_ASK.replace("PC_ADDRESS", home.address("pc"))))
    finally:
        home.stop(tcpdump)
    assert answered == [home.address("tv")]
    lines = capture.read_text().splitlines()
    sources = {line.split()[2].rsplit(".", 1)[0] for line in lines if " IP " in line}
    assert any("silent.local" in line for line in lines)  # the question was on the wire
    assert home.address("tv") in sources
    assert home.address("silent") not in sources
