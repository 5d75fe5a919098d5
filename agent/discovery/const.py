"""Limits and fixed names of discovery: every bound a hostile network could push against is here."""

from __future__ import annotations

#: Curated DNS-SD service types (RFC 6763) that tell what a device is; unknown ones are found through
#: the ``_services._dns-sd._udp`` meta-query (RFC 6763 §9).
CURATED_TYPES: tuple[str, ...] = (
    # printing and scanning
    "_ipp._tcp.local.",
    "_ipps._tcp.local.",
    "_printer._tcp.local.",
    "_pdl-datastream._tcp.local.",
    "_uscan._tcp.local.",
    "_uscans._tcp.local.",
    # media
    "_googlecast._tcp.local.",
    "_airplay._tcp.local.",
    "_raop._tcp.local.",
    "_spotify-connect._tcp.local.",
    "_sonos._tcp.local.",
    # home and files
    "_hap._tcp.local.",
    "_matter._tcp.local.",
    "_smb._tcp.local.",
    "_afpovertcp._tcp.local.",
    "_http._tcp.local.",
    "_workstation._tcp.local.",
    "_ssh._tcp.local.",
    "_companion-link._tcp.local.",
)
SERVICES_META_TYPE = "_services._dns-sd._udp.local."

# -- bounds on what the network may send us -------------------------------------------------------
MAX_DEVICES = 512
MAX_TYPES = 64  # service types browsed, curated plus enumerated
MAX_INSTANCES = 1024  # service instances resolved per cycle, all types together
MAX_INSTANCES_PER_TYPE = 64  # so that a flood of one type cannot crowd out the others
MAX_SERVICES_PER_DEVICE = 32
MAX_TXT_KEYS = 32
MAX_TXT_KEY_LEN = 64
MAX_TXT_VALUE_LEN = 255
MAX_NAME_LEN = 128  # UPnP and SSDP texts
#: TR-181's lengths: ``Hosts.Host.{i}.HostName`` string(:64), ``DNS.SD.Service.{i}.InstanceName``
#: string(:63) (RFC 6763 section 4.1.1), ``Target`` string(:256); longer ones are cut and counted.
MAX_HOST_NAME_LEN = 64
MAX_INSTANCE_NAME_LEN = 63
MAX_TARGET_LEN = 256
#: RFC 6763 section 7.2: a service name is at most 15 characters (TR-181 ``ApplicationProtocol``).
MAX_SERVICE_NAME_LEN = 15
MAX_ADDRESSES_PER_DEVICE = 8
RESOLVE_CONCURRENCY = 16
RECEIVE_BUFFER_BYTES = 4 << 20  # mDNS sockets: room for a burst while the loop parses

#: TXT keys kept as printer facts (IPP Everywhere / Bonjour Printing 1.2 §9).
PRINTER_TXT_KEYS = ("ty", "product", "pdl", "URF", "Color", "Duplex", "adminurl", "UUID", "rp", "note")

# -- ARP sweep --------------------------------------------------------------------------------------
MAX_SWEEP_HOSTS = 1024  # a /22; larger subnets are refused unless configured
DEFAULT_SWEEP_RATE_PPS = 2000
DEFAULT_SWEEP_WAIT_S = 1.0  # replies on a LAN come in ~10 ms; this is for slow Wi-Fi sleepers
MAX_WORKER_OUTPUT_BYTES = 1 << 20

# -- SSDP / UPnP (UPnP Device Architecture 2.0 §1.3) -------------------------------------------------
SSDP_GROUP = ("239.255.255.250", 1900)
SSDP_MX_S = 1
MAX_SSDP_RESPONSES = 256
MAX_SSDP_DATAGRAM = 2048
MAX_DESCRIPTION_BYTES = 64 * 1024
MAX_DESCRIPTIONS = 32
DESCRIPTION_TIMEOUT_S = 2.0  # for the whole exchange, however slowly the device sends
DESCRIPTION_WORKERS = 8  # threads of the fetch pool: a home has a handful of UPnP devices

# -- IPP (RFC 8010/8011) ----------------------------------------------------------------------------
IPP_TIMEOUT_S = 3.0  # for the whole exchange, however slowly the printer sends
IPP_WORKERS = 4
MAX_IPP_RESPONSE_BYTES = 256 * 1024
MAX_IPP_ATTRIBUTES = 1000
MAX_IPP_VALUES = 64
MAX_IPP_STRING = 1024

# -- the agent's memory of devices --------------------------------------------------------------------
FORGET_AFTER_S = 7 * 24 * 3600
INVENTORY_FILE = "inventory.json"
