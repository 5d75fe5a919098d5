"""A smart TV: Google Cast and AirPlay over mDNS, SSDP answers, and a UPnP description over HTTP.

    python -m lab.devices.tv --address 10.213.0.30 --hostname living-room-tv --name "Living Room TV" \
        --manufacturer Sony --model "BRAVIA XR-55A80J" --mac 70:26:05:9a:3f:30

Run by the lab inside the TV's namespace. Prints ``ready`` once every mDNS name has passed probing
(RFC 6762 §8.1) and the SSDP and HTTP sockets are open; on SIGTERM it says goodbye on both protocols
(mDNS records with TTL 0, SSDP ``ssdp:byebye``) before exiting, as a TV being switched off does.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import uuid

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from ..const import MDNS_AIRPLAY_PORT, MDNS_CAST_PORT, UPNP_DESCRIPTION_PATH, UPNP_HTTP_PORT
from .ssdp import SsdpResponder, open_socket
from .upnp import DEVICE_TYPE, SERVICE_TYPES, device_description, serve_description

CAST_TYPE = "_googlecast._tcp.local."
AIRPLAY_TYPE = "_airplay._tcp.local."
RAOP_TYPE = "_raop._tcp.local."
#: AirPlay 2 feature bits as advertised by third-party TVs with AirPlay 2 (audio and video, no screen).
AIRPLAY_FEATURES = "0x7F8AD0,0x38BCB46"


def service_infos(args: argparse.Namespace, device_id: uuid.UUID) -> list[ServiceInfo]:
    addresses = [socket.inet_aton(args.address)]
    server = f"{args.hostname}.local."
    mac_upper = args.mac.upper()
    model_label = args.model.replace(" ", "-")
    cast = {
        "id": device_id.hex,
        "cd": device_id.hex[::-1].upper(),
        "rm": "",
        "ve": "05",
        "md": args.model,
        "ic": "/setup/icon.png",
        "fn": args.name,
        "ca": "463365",
        "st": "0",
        "bs": "FA8F" + device_id.hex[:8].upper(),
        "nf": "1",
        "rs": "",
    }
    airplay = {
        "acl": "0",
        "deviceid": mac_upper,
        "features": AIRPLAY_FEATURES,
        "flags": "0x244",
        "manufacturer": args.manufacturer,
        "model": args.model,
        "protovers": "1.1",
        "srcvers": "377.40.00",
    }
    raop = {
        "cn": "0,1,2,3",
        "da": "true",
        "et": "0,3,5",
        "ft": AIRPLAY_FEATURES,
        "md": "0,1,2",
        "am": args.model,
        "sf": "0x244",
        "tp": "UDP",
        "vn": "65537",
        "vs": "377.40.00",
    }
    return [
        ServiceInfo(
            CAST_TYPE,
            f"{model_label}-{device_id.hex}.{CAST_TYPE}",
            addresses=addresses,
            port=MDNS_CAST_PORT,
            properties=cast,
            server=server,
        ),
        ServiceInfo(
            AIRPLAY_TYPE,
            f"{args.name}.{AIRPLAY_TYPE}",
            addresses=addresses,
            port=MDNS_AIRPLAY_PORT,
            properties=airplay,
            server=server,
        ),
        ServiceInfo(
            RAOP_TYPE,
            f"{mac_upper.replace(':', '')}@{args.name}.{RAOP_TYPE}",
            addresses=addresses,
            port=MDNS_AIRPLAY_PORT,
            properties=raop,
            server=server,
        ),
    ]


async def run(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    device_id = uuid.uuid5(uuid.NAMESPACE_URL, f"homediag-lab:{args.mac.lower()}")
    udn = f"uuid:{device_id}"
    location = f"http://{args.address}:{UPNP_HTTP_PORT}{UPNP_DESCRIPTION_PATH}"
    xml = device_description(
        friendly_name=args.name,
        manufacturer=args.manufacturer,
        model_name=args.model,
        udn=udn,
        serial=args.mac.replace(":", "").upper(),
    )
    http = await serve_description(args.address, UPNP_HTTP_PORT, UPNP_DESCRIPTION_PATH, xml)
    responder = SsdpResponder(
        location=location, udn=udn, device_type=DEVICE_TYPE, service_types=SERVICE_TYPES
    )
    transport, _ = await loop.create_datagram_endpoint(lambda: responder, sock=open_socket(args.address))
    aiozc = AsyncZeroconf(interfaces=[args.address], ip_version=IPVersion.V4Only)
    try:
        infos = service_infos(args, device_id)
        # Probe all names at once (RFC 6762 §8.1 costs ~1 s each); once probed, the records are
        # answered, and their announcements (§8.3) may finish after we report ready.
        announcing = await asyncio.gather(*(aiozc.async_register_service(info) for info in infos))
        responder.announce("ssdp:alive")
        print("ready", flush=True)
        await asyncio.gather(*announcing)
        await stop.wait()
        responder.announce("ssdp:byebye")
        await aiozc.async_unregister_all_services()
    finally:
        await aiozc.async_close()
        transport.close()
        http.close()
        await http.wait_closed()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.devices.tv", description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="the TV's IPv4 address on the home LAN")
    parser.add_argument("--hostname", required=True, help="mDNS host name, without .local")
    parser.add_argument("--name", required=True, help="friendly name shown to users")
    parser.add_argument("--manufacturer", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--mac", required=True, help="the TV's MAC: AirPlay device id and UPnP serial")
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
