"""Defaults of the virtual home, in one place.

Every address below lives only inside the lab's network namespaces (``10.213.0.0/16``): none is ever
configured in, or sent to from, the root namespace.
"""

import re
from typing import Final

#: Where running labs record their owner and keep their per-host files (hosts, resolv.conf, /run, logs).
STATE_DIR: Final = "/tmp/homediag-lab"  # noqa: S108 - checked to be root's own (lab.state.state_dir)
STATE_DIR_ENV: Final = "HOMEDIAG_LAB_STATE_DIR"

#: Namespace names are ``<prefix>-<host>`` with a fresh ``hd`` + 6 hex prefix per lab, so that parallel
#: or crashed runs never collide and ``sweep`` can recognise what it may remove.
PREFIX_STEM: Final = "hd"
PREFIX_RE: Final = re.compile(r"^hd[0-9a-f]{6}$")
NETNS_RE: Final = re.compile(r"^(hd[0-9a-f]{6})-([a-z][a-z0-9]{0,11})$")
HOST_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9]{0,11}$")

#: The switch: a namespace holding only the bridge and the host-facing veth ends.
LAN_NS: Final = "lan"
BRIDGE: Final = "br0"
BRIDGE_PORT_PREFIX: Final = "vb-"
MAX_IFNAME_LEN: Final = 15

#: Processes the lab starts carry these in their environment, so a leak can be traced to its lab.
LAB_ENV: Final = "HOMEDIAG_LAB"
LAB_HOST_ENV: Final = "HOMEDIAG_LAB_HOST"

# Addressing of the default home (docs/lab.md draws it).
LAB_NETWORK: Final = "10.213.0.0/16"
LAN_CIDR: Final = "10.213.0.0/24"
GATEWAY_ADDRESS: Final = "10.213.0.1"
WAN_GATEWAY_CIDR: Final = "10.213.255.2/30"
WAN_ISP_CIDR: Final = "10.213.255.1/30"
ISP_WAN_ADDRESS: Final = "10.213.255.1"
#: The ISP's resolver (dnsmasq) and the address the cloud's endpoints listen on, both inside the ISP.
DNS_ADDRESS: Final = "10.213.254.53"
CLOUD_ADDRESS: Final = "10.213.254.10"
CLOUD_NAME: Final = "cloud.homediag.test"
SPEED_NAME: Final = "speed.homediag.test"

IPP_PORT: Final = 631
IPP_RESOURCE: Final = "/ipp/print"
#: Chromecast-style path and port of the TV's UPnP device description.
UPNP_HTTP_PORT: Final = 8008
UPNP_DESCRIPTION_PATH: Final = "/ssdp/device-desc.xml"
SSDP_GROUP: Final = "239.255.255.250"
SSDP_PORT: Final = 1900
#: UPnP DA 1.1 §1.3.3 lets a device wait up to MX seconds before answering; we cap it to keep tests fast.
SSDP_MAX_DELAY_S: Final = 0.2
SSDP_MAX_AGE_S: Final = 1800
MDNS_CAST_PORT: Final = 8009
MDNS_AIRPLAY_PORT: Final = 7000

IPERF_BASE_PORT: Final = 5201
#: iperf3 sends whole blocks: the block must divide the transfer, and not be uselessly small.
IPERF_MAX_BLOCK_BYTES: Final = 128 * 1024
IPERF_MIN_BLOCK_BYTES: Final = 1000

#: The WAN shaper: a bucket of a few milliseconds of tokens, so a short measurement is not inflated.
TBF_BURST_S: Final = 0.004
TBF_MIN_BURST_BYTES: Final = 16_000
TBF_LATENCY: Final = "50ms"

#: NFQUEUE queues are per namespace: one impairer per host never meets another's.
NFQUEUE_NUM: Final = 0
NFQUEUE_MAX_PACKETS: Final = 10_000

#: How long a service may take to report ready, and how long a process gets between SIGTERM and SIGKILL.
READY_TIMEOUT_S: Final = 20.0
STOP_GRACE_S: Final = 2.0
COMMAND_TIMEOUT_S: Final = 30.0
#: How long `homediag-lab down` waits for a lab's owner to tear it down before doing it itself.
DOWN_WAIT_S: Final = 20.0
POLL_INTERVAL_S: Final = 0.02
