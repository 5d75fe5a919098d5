"""Hostile and broken input to discovery's parsers: bounded, sanitised, counted, never a crash."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import threading
import time

import pytest

from agent.discovery.const import (
    DESCRIPTION_TIMEOUT_S,
    MAX_DESCRIPTION_BYTES,
    MAX_INSTANCE_NAME_LEN,
    MAX_TXT_KEYS,
    MAX_TXT_VALUE_LEN,
)
from agent.discovery.cycle import CycleResult
from agent.discovery.fetch import Exchange
from agent.discovery.mdns import MdnsCollector, host_name, instance_name, parse_txt, srv_fields
from agent.discovery.model import SSDP, Device, Sighting, UpnpInfo
from agent.discovery.report import table
from agent.discovery.sanitize import Counters, clean_text
from agent.discovery.ssdp import _fetch, describe_all, description_url, parse_description, parse_response

from .slow_device import slow_device


def txt(*items: bytes) -> bytes:
    return b"".join(bytes([len(i)]) + i for i in items)


def test_txt_with_binary_junk_is_dropped_or_marked_and_counted() -> None:
    counters = Counters()
    raw = txt(b"ty=HP OfficeJet", b"\xff\xfe\x00\x01=x", b"blob=\x00\x01\x02\x03\x04\xff", b"rp=ipp/print")
    parsed = parse_txt(raw + os.urandom(300)[:200], counters)
    assert parsed["ty"] == "HP OfficeJet" and parsed["rp"] == "ipp/print"
    assert parsed["blob"] == "<binary, 6 bytes>"
    assert counters["txt_binary"] >= 2
    assert all(c.isprintable() for k, v in parsed.items() for c in k + v)


def test_txt_thousands_of_keys_and_long_values_are_bounded() -> None:
    counters = Counters()
    items = [f"k{i}={'v' * 250}".encode()[:255] for i in range(5000)] + [b"k1=duplicate"]
    parsed = parse_txt(txt(*items), counters)
    assert len(parsed) == MAX_TXT_KEYS
    assert all(len(v) <= MAX_TXT_VALUE_LEN for v in parsed.values())
    assert counters["txt_keys_dropped"] == 5000 - MAX_TXT_KEYS
    assert counters["txt_duplicate"] == 1


def test_random_bytes_never_crash_the_txt_parser() -> None:
    for seed in range(200):
        blob = os.urandom(seed * 7 % 1500)
        parsed = parse_txt(blob, Counters())
        json.dumps(parsed)  # always serialisable text


def test_names_with_control_characters_and_html_are_cleaned_and_counted() -> None:
    counters = Counters()
    evil = "\x1b[2J\x1b[31m<script>alert(1)</script>\u202eTV\x07" + "A" * 500
    name = instance_name(f"{evil}._http._tcp.local.", "_http._tcp.local.", counters)
    assert "\x1b" not in name and "\x07" not in name and "\u202e" not in name
    assert len(name) <= MAX_INSTANCE_NAME_LEN == 63, "TR-181's InstanceName is string(:63)"
    assert counters["name_control_chars"] == 1 and counters["name_truncated"] == 1
    # HTML is text: kept, and escaped wherever it is rendered (JSON here).
    device = Device(mac="02:00:00:00:00:01", ips=["10.0.0.9"], hostname=name, kind="unknown")
    shown = table(CycleResult(devices=[device]))
    assert "\x1b" not in shown


def test_invalid_utf8_is_replaced_and_counted() -> None:
    counters = Counters()
    assert clean_text(b"ok\xc3\x28", 10, counters, "x") == "ok\ufffd("
    assert counters["x_invalid_utf8"] == 1


def test_a_flood_of_types_and_instances_is_bounded_and_counted() -> None:
    counters = Counters()
    collector = MdnsCollector(counters)
    for i in range(5000):
        collector.on_type(f"_t{i}._tcp.local.")
        collector.on_instance("_http._tcp.local.", f"flood-{i}._http._tcp.local.")
        collector.on_instance(f"_t{i % 100}._tcp.local.", f"many-{i}._tcp.local.")
    collector.on_type("not a type")
    collector.on_instance("_ipp._tcp.local.", "Office Printer._ipp._tcp.local.")
    assert len(collector.types) == 64 and counters["mdns_bad_type"] == 1
    assert counters["mdns_types_dropped"] == 5000 - 64
    assert len(collector.instances) == 1024 and counters["mdns_instances_dropped"] == 2 * 5000 + 1 - 1024
    assert sum(1 for t, _n in collector.instances if t == "_http._tcp.local.") == 64


def test_service_names_longer_than_rfc_6763_allows_are_not_browsed() -> None:
    counters = Counters()
    collector = MdnsCollector(counters)
    collector.on_type("_sixteen-chars-xx._tcp.local.")
    collector.on_type("_fifteen-chars-x._tcp.local.")
    assert collector.types == {"_fifteen-chars-x._tcp.local."} and counters["mdns_bad_type"] == 1


class _Record:
    ttl = 4500

    def __init__(self) -> None:
        self.created = time.monotonic() * 1000 - 2000  # zeroconf's clock: monotonic milliseconds


class _Cache:
    def __init__(self, record: object) -> None:
        self.record = record
        self.asked: list[tuple[str, int, int]] = []

    def get_by_details(self, name: str, type_: int, class_: int) -> object:
        self.asked.append((name, type_, class_))
        return self.record


class _Zeroconf:
    def __init__(self, record: object) -> None:
        self.cache = _Cache(record)


class _Info:
    server = "office-printer.local."
    priority = 5
    weight = 70000  # out of RFC 2782's 16 bits: not believed


def test_the_srv_records_fields_are_kept_for_tr181() -> None:
    counters = Counters()
    zc = _Zeroconf(_Record())
    fields = srv_fields(zc, "Office._ipp._tcp.local.", _Info(), counters)
    assert zc.cache.asked == [("Office._ipp._tcp.local.", 33, 1)], "the SRV record, class IN"
    assert (fields["target"], fields["priority"], fields["weight"], fields["ttl_s"]) == (
        "office-printer.local.",
        5,
        0,
        4500,
    )
    assert time.time() - 3 < fields["updated"] < time.time() - 1, "when the record came, on the wall clock"
    without = srv_fields(_Zeroconf(None), "x._ipp._tcp.local.", _Info(), counters)
    assert without["ttl_s"] == 120, "RFC 6762's host record TTL when the cache has no record"
    assert len(host_name("h" * 100 + ".local.", counters)) == 64 and counters["hostname_truncated"] == 1


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device><friendlyName>&lol9;</friendlyName></device></root>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<root><device><friendlyName>&x;</friendlyName></device></root>"""
GOOD = b"""<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>
<friendlyName>TV \xe2\x80\xae<b>x</b></friendlyName>
<manufacturer>Sony</manufacturer><modelName>BRAVIA</modelName><UDN>uuid:1234</UDN></device></root>"""


def test_xml_entity_bombs_and_external_entities_are_refused_not_expanded() -> None:
    counters = Counters()
    assert parse_description(BOMB, counters) is None
    assert parse_description(XXE, counters) is None
    assert counters["ssdp_description_unsafe_xml"] == 2


def test_huge_and_broken_descriptions_are_refused_and_counted() -> None:
    counters = Counters()
    huge = b"<root><device><friendlyName>" + b"A" * MAX_DESCRIPTION_BYTES + b"</friendlyName></device></root>"
    assert parse_description(huge, counters) is None
    assert parse_description(b"<root><device>", counters) is None
    assert parse_description(b"<root/>", counters) is None
    assert counters["ssdp_description_oversize"] == 1
    assert counters["ssdp_description_bad_xml"] == 1
    assert counters["ssdp_description_no_device"] == 1


def test_a_good_description_is_read_and_its_names_cleaned() -> None:
    counters = Counters()
    info = parse_description(GOOD, counters)
    assert info is not None
    assert (info.friendly_name, info.manufacturer, info.model_name, info.udn) == (
        "TV",
        "Sony",
        "BRAVIA",
        "uuid:1234",
    )
    assert info.device_type.endswith("MediaRenderer:1")


def test_ssdp_answers_are_bounded_and_locations_elsewhere_are_not_fetched() -> None:
    counters = Counters()
    assert parse_response(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 1000, counters) is None
    assert parse_response(b"GET / HTTP/1.1\r\n\r\n", counters) is None
    headers = parse_response(b"HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.5:80/d.xml\r\n\r\n", counters)
    assert headers is not None
    assert description_url({**headers, "_from": "10.0.0.5"}, counters) == "http://10.0.0.5:80/d.xml"
    assert description_url({**headers, "_from": "10.0.0.6"}, counters) == ""  # not the one who answered
    public = {"LOCATION": "http://8.8.8.8/d.xml", "_from": "8.8.8.8"}
    assert description_url(public, counters) == ""
    file_url = {"LOCATION": "file:///etc/passwd", "_from": "10.0.0.5"}
    assert description_url(file_url, counters) == ""
    assert counters["ssdp_oversize"] == 1 and counters["ssdp_location_refused"] == 3


class _Huge(http.server.BaseHTTPRequestHandler):
    declare = True

    def do_GET(self) -> None:
        self.send_response(200)
        if self.declare:
            self.send_header("Content-Length", str(50 * 2**20))
        self.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(200):  # up to 50 MB, unless the reader hangs up first
                self.wfile.write(b"<x>" + b"A" * (256 * 1024) + b"</x>")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.mark.parametrize("declare", [True, False], ids=["declared", "undeclared"])
def test_a_huge_description_is_not_read_past_the_bound(declare: bool) -> None:
    handler = type("Handler", (_Huge,), {"declare": declare})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = _fetch(f"http://127.0.0.1:{server.server_address[1]}/desc.xml")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert len(body) == MAX_DESCRIPTION_BYTES + 1
    counters = Counters()
    assert parse_description(body, counters) is None and counters["ssdp_description_oversize"] == 1


def test_a_location_with_a_bad_port_is_refused_and_counted() -> None:
    counters = Counters()
    for port in ("99999", "http", "0"):
        headers = {"LOCATION": f"http://10.0.0.5:{port}/d.xml", "_from": "10.0.0.5"}
        assert description_url(headers, counters) == ""
    assert counters["ssdp_location_refused"] == 3


async def test_one_bad_location_does_not_lose_the_other_descriptions() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Good)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    counters = Counters()
    by_ip = {ip: Sighting(SSDP, ip=ip, upnp=UpnpInfo()) for ip in ("127.0.0.1", "127.0.0.2")}
    fetches = {
        "127.0.0.1": f"http://127.0.0.1:{server.server_address[1]}/d.xml",
        "127.0.0.2": "http://127.0.0.2:99999/d.xml",
    }
    try:
        await describe_all(fetches, by_ip, counters)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    info = by_ip["127.0.0.1"].upnp
    assert info is not None and info.friendly_name == "Living Room"
    assert counters["ssdp_description_unreachable"] == 1


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers"])
async def test_a_description_sent_a_byte_at_a_time_ends_at_the_deadline(drip_headers: bool) -> None:
    counters = Counters()
    by_ip = {"127.0.0.1": Sighting(SSDP, ip="127.0.0.1", upnp=UpnpInfo())}
    with slow_device(drip_headers) as port:
        started = time.monotonic()
        await describe_all({"127.0.0.1": f"http://127.0.0.1:{port}/d.xml"}, by_ip, counters)
        elapsed = time.monotonic() - started
    assert elapsed < DESCRIPTION_TIMEOUT_S + 1.5
    assert counters["ssdp_description_unreachable"] == 1


def test_a_slow_body_is_cut_by_the_exchange_deadline() -> None:
    with slow_device() as port:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            _fetch(f"http://127.0.0.1:{port}/d.xml", Exchange(0.5))
        assert time.monotonic() - started < 1.5


class _Good(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (
            b'<root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
            b"<friendlyName>Living Room</friendlyName></device></root>"
        )
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass
