"""A UPnP device description (UDA 1.1 §2.3) and the tiny HTTP server that hands it out.

SSDP answers only say *where* the description is (LOCATION); discovery tools fetch this XML to learn
the friendly name, manufacturer and model, so the lab serves a real one over real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from xml.sax.saxutils import escape

DEVICE_TYPE = "urn:schemas-upnp-org:device:MediaRenderer:1"
SERVICE_TYPES = (
    "urn:schemas-upnp-org:service:AVTransport:1",
    "urn:schemas-upnp-org:service:RenderingControl:1",
    "urn:schemas-upnp-org:service:ConnectionManager:1",
)
_MAX_REQUEST_BYTES = 8192
_REQUEST_TIMEOUT_S = 5.0


def device_description(
    *, friendly_name: str, manufacturer: str, model_name: str, udn: str, serial: str
) -> str:
    services = "".join(
        "<service>"
        f"<serviceType>{st}</serviceType>"
        f"<serviceId>urn:upnp-org:serviceId:{st.split(':')[-2]}</serviceId>"
        f"<SCPDURL>/upnp/{st.split(':')[-2]}.xml</SCPDURL>"
        f"<controlURL>/upnp/control/{st.split(':')[-2]}</controlURL>"
        f"<eventSubURL>/upnp/event/{st.split(':')[-2]}</eventSubURL>"
        "</service>"
        for st in SERVICE_TYPES
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">'
        "<specVersion><major>1</major><minor>1</minor></specVersion>"
        "<device>"
        f"<deviceType>{DEVICE_TYPE}</deviceType>"
        f"<friendlyName>{escape(friendly_name)}</friendlyName>"
        f"<manufacturer>{escape(manufacturer)}</manufacturer>"
        f"<modelName>{escape(model_name)}</modelName>"
        f"<modelNumber>{escape(model_name.rsplit(maxsplit=1)[-1])}</modelNumber>"
        f"<serialNumber>{escape(serial)}</serialNumber>"
        f"<UDN>{escape(udn)}</UDN>"
        f"<serviceList>{services}</serviceList>"
        "</device>"
        "</root>\n"
    )


async def serve_description(address: str, port: int, path: str, body: str) -> asyncio.Server:
    payload = body.encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(
            asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError
        ):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _REQUEST_TIMEOUT_S)
            request = head[:_MAX_REQUEST_BYTES].split(b"\r\n", 1)[0].decode("latin-1").split()
            found = len(request) == 3 and request[0] in ("GET", "HEAD") and request[1] == path
            status = "200 OK" if found else "404 Not Found"
            content = payload if found else b""
            writer.write(
                f"HTTP/1.1 {status}\r\n"
                'Content-Type: text/xml; charset="utf-8"\r\n'
                f"Content-Length: {len(content)}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            if request and request[0] != "HEAD":
                writer.write(content)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, address, port, limit=_MAX_REQUEST_BYTES)
