"""homediag lab: a virtual home of real devices in network namespaces, for tests, benchmarks and the demo.

Test and demo infrastructure, not product: it imports neither :mod:`agent` nor :mod:`cloud` and runs
them as processes inside its hosts (``Lab.popen``). See ``docs/lab.md``.
"""

from .cleanup import remove_lab, stale_prefixes, sweep
from .const import (
    CLOUD_ADDRESS,
    CLOUD_NAME,
    DNS_ADDRESS,
    GATEWAY_ADDRESS,
    IPP_PORT,
    IPP_RESOURCE,
    ISP_WAN_ADDRESS,
    LAN_CIDR,
    SPEED_NAME,
    SSDP_GROUP,
    SSDP_PORT,
    UPNP_DESCRIPTION_PATH,
    UPNP_HTTP_PORT,
)
from .defaults import default_home
from .errors import CommandError, LabConfigError, LabError, LabStateError, PrerequisiteError, ServiceError
from .impair import Impairment
from .lab import Lab
from .loader import home_from_dict, load_home
from .model import Home, Host, Link, Service
from .prereqs import missing as missing_prerequisites
from .traffic import IperfResult

__all__ = [
    "CLOUD_ADDRESS",
    "CLOUD_NAME",
    "DNS_ADDRESS",
    "GATEWAY_ADDRESS",
    "IPP_PORT",
    "IPP_RESOURCE",
    "ISP_WAN_ADDRESS",
    "LAN_CIDR",
    "SPEED_NAME",
    "SSDP_GROUP",
    "SSDP_PORT",
    "UPNP_DESCRIPTION_PATH",
    "UPNP_HTTP_PORT",
    "CommandError",
    "Home",
    "Host",
    "Impairment",
    "IperfResult",
    "Lab",
    "LabConfigError",
    "LabError",
    "LabStateError",
    "Link",
    "PrerequisiteError",
    "Service",
    "ServiceError",
    "default_home",
    "home_from_dict",
    "load_home",
    "missing_prerequisites",
    "remove_lab",
    "stale_prefixes",
    "sweep",
]
