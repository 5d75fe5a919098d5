"""IPP Get-Printer-Attributes: the request on the wire, the bounded decoder, and a printer that fails."""

from __future__ import annotations

import asyncio
import http.server
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from agent.discovery import ipp
from agent.discovery.const import MAX_IPP_RESPONSE_BYTES, MAX_IPP_VALUES
from agent.discovery.sanitize import Counters

from .slow_device import slow_device


def attr(tag: int, name: str, value: bytes) -> bytes:
    return struct.pack(">BH", tag, len(name)) + name.encode() + struct.pack(">H", len(value)) + value


def response(*attrs: bytes, status: int = 0) -> bytes:
    return struct.pack(">BBHI", 2, 0, status, 1) + b"\x01" + b"\x04" + b"".join(attrs) + b"\x03"


PRINTER = response(
    attr(ipp.CHARSET, "attributes-charset", b"utf-8"),
    attr(ipp.ENUM, "printer-state", struct.pack(">i", 5)),
    attr(ipp.KEYWORD, "printer-state-reasons", b"media-empty-error"),
    attr(ipp.KEYWORD, "", b"toner-low-warning"),
    attr(ipp.TEXT, "printer-make-and-model", b"HP OfficeJet \x1b[31mPro"),
    attr(ipp.MIME, "document-format-supported", b"application/pdf"),
    attr(ipp.MIME, "", b"image/urf"),
    attr(ipp.NAME, "marker-names", b"Black"),
    attr(ipp.NAME, "", b"Cyan"),
    attr(ipp.INTEGER, "marker-levels", struct.pack(">i", 80)),
    attr(ipp.INTEGER, "", struct.pack(">i", 5)),
    attr(ipp.URI, "printer-more-info", b"http://10.0.0.5/"),
    attr(ipp.URI, "printer-uri-supported", b"ipp://10.0.0.5/ipp/print"),
    attr(ipp.BEG_COLLECTION, "media-col-default", b""),
    attr(ipp.MEMBER_NAME, "", b"media-size"),
    attr(ipp.BEG_COLLECTION, "", b""),
    attr(ipp.END_COLLECTION, "", b""),
    attr(ipp.END_COLLECTION, "", b""),
    attr(
        ipp.TEXT_WITH_LANGUAGE,
        "printer-location",
        struct.pack(">H", 2) + b"en" + struct.pack(">H", 6) + b"Office",
    ),
    attr(ipp.BOOLEAN, "color-supported", b"\x01"),
)


def test_the_request_is_a_get_printer_attributes_as_rfc_8010_draws_it() -> None:
    body = ipp.encode_request("ipp://10.0.0.5:631/ipp/print", request_id=7)
    assert body[:8] == bytes([2, 0, 0, 0x0B, 0, 0, 0, 7])
    assert body[8] == 0x01 and body[-1] == 0x03
    assert b"printer-uri" in body and b"ipp://10.0.0.5:631/ipp/print" in body
    assert body.count(b"requested-attributes") == 1 and b"marker-levels" in body


def test_a_response_is_decoded_and_summarised() -> None:
    status, attributes = ipp.decode_response(PRINTER)
    assert status == 0
    summary = ipp.summarise(attributes, "ipp://10.0.0.5/ipp/print")
    assert summary["state"] == "stopped"
    assert summary["state_reasons"] == ["media-empty-error", "toner-low-warning"]
    assert summary["make_and_model"] == "HP OfficeJet [31mPro"  # no escape character left
    assert summary["document_formats"] == ["application/pdf", "image/urf"]
    assert summary["markers"] == [
        {"name": "Black", "level": 80, "color": "", "type": ""},
        {"name": "Cyan", "level": 5, "color": "", "type": ""},
    ]
    assert summary["admin_url"] == "http://10.0.0.5/" and summary["location"] == "Office"
    assert summary["color"] is True
    assert "media-size" not in attributes and "media-col-default" not in attributes


def test_truncated_and_oversized_responses_are_errors_not_crashes() -> None:
    statuses = set()
    for cut in range(0, len(PRINTER), 7):
        try:
            ipp.decode_response(PRINTER[:cut])
        except ipp.IppError as exc:
            statuses.add(exc.status)
    assert statuses == {"Error_Malformed"}
    with pytest.raises(ipp.IppError, match="over"):
        ipp.decode_response(b"\x02\x00" + b"\x00" * (MAX_IPP_RESPONSE_BYTES + 1))


def test_thousands_of_values_are_bounded_and_counted() -> None:
    many = [attr(ipp.KEYWORD, "printer-state-reasons", b"r0")] + [
        attr(ipp.KEYWORD, "", f"r{i}".encode()) for i in range(1, 3000)
    ]
    counters = Counters()
    _status, attributes = ipp.decode_response(response(*many), counters)
    assert len(attributes["printer-state-reasons"]) == MAX_IPP_VALUES
    assert counters["ipp_values_dropped"] == 3000 - MAX_IPP_VALUES


class _Printer(http.server.BaseHTTPRequestHandler):
    reply = PRINTER

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        assert body[2:4] == b"\x00\x0b"
        self.send_response(200)
        self.send_header("Content-Type", "application/ipp")
        self.send_header("Content-Length", str(len(self.reply)))
        self.end_headers()
        self.wfile.write(self.reply)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def printer_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Printer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def test_asking_a_printer_over_http(printer_port: int) -> None:
    result = asyncio.run(ipp.get_printer_attributes(f"ipp://127.0.0.1:{printer_port}/ipp/print"))
    assert result["status"] == "Complete" and result["state"] == "stopped"


def test_a_printer_that_does_not_answer_is_offline_with_the_reason() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = asyncio.run(ipp.get_printer_attributes(f"ipp://127.0.0.1:{port}/ipp/print", timeout_s=1))
    assert result["state"] == "offline" and result["status"] == "Error_ConnectionRefused"
    assert "refused" in result["reason"]
    with socket.socket() as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        result = asyncio.run(ipp.get_printer_attributes(f"ipp://127.0.0.1:{port}/", timeout_s=0.5))
    assert result["status"] == "Error_Timeout" and result["state"] == "offline"


class _Named(_Printer):
    hosts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.hosts.append(self.headers["Host"])
        super().do_POST()


def test_the_printer_is_asked_at_the_vetted_address_by_its_name() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Named)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        uri = f"ipp://printer.invalid:{port}/ipp/print"  # .invalid never resolves (RFC 6761)
        result = asyncio.run(ipp.get_printer_attributes(uri, address="127.0.0.1"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result["status"] == "Complete"
    assert _Named.hosts == [f"printer.invalid:{port}"], "the Host header still names the printer"


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers"])
def test_a_printer_answering_a_byte_at_a_time_is_cut_at_the_deadline(drip_headers: bool) -> None:
    with slow_device(drip_headers) as port:
        started = time.monotonic()
        result = asyncio.run(ipp.get_printer_attributes(f"ipp://127.0.0.1:{port}/ipp/print", timeout_s=1))
        elapsed = time.monotonic() - started
    assert result["status"] == "Error_Timeout" and result["state"] == "offline"
    assert elapsed < 2.5
