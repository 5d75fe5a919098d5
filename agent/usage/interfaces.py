"""OS interface names as TR-181 references: ``eth0`` -> ``Device.IP.Interface.2``.

TR-181 refers to an interface by its path in the ``Device.IP.Interface.{i}.`` table, never by the
OS name. The table's instance numbers here follow the kernel's ifindex order (``socket.if_nameindex``,
the order of ``/sys/class/net`` by ifindex): stable while the interfaces stay, and the same on
every call, so two samples of one run agree, and the ``netdev`` sample lists the table in this
order (its N-th entry is ``Device.IP.Interface.N``).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

__all__ = [
    "IP_INTERFACE_TABLE",
    "interface_names",
    "interface_path",
    "link_type",
    "oper_status",
]

IP_INTERFACE_TABLE = "Device.IP.Interface."
SYS_NET = Path("/sys/class/net")

#: ``Device.IP.Interface.{i}.Status`` (RFC 2863 ifOperStatus, as Linux's ``operstate`` spells it).
OperStatus = Literal["Up", "Down", "Unknown", "Dormant", "NotPresent", "LowerLayerDown"]
_OPERSTATE: dict[str, OperStatus] = {
    "up": "Up",
    "down": "Down",
    "dormant": "Dormant",
    "notpresent": "NotPresent",
    "lowerlayerdown": "LowerLayerDown",
    "testing": "Unknown",
}
#: ``Device.Hosts.Host.{i}.InterfaceType`` values this agent can tell apart.
LinkType = Literal["Ethernet", "Wi-Fi", "Other"]
#: ``/sys/class/net/X/type``: ARPHRD_ETHER (include/uapi/linux/if_arp.h).
_ARPHRD_ETHER = "1"


def interface_names() -> list[str]:
    """The OS names of ``Device.IP.Interface.1``, ``.2``, ... in order; empty when unreadable."""
    try:
        return [name for _, name in sorted(socket.if_nameindex())]
    except OSError:
        return []


def interface_path(os_name: str) -> str:
    """The ``Device.IP.Interface.{i}`` path of ``os_name``; "" (TR-181's empty reference) when
    there is no such interface."""
    names = interface_names()
    if os_name not in names:
        return ""
    return f"{IP_INTERFACE_TABLE}{names.index(os_name) + 1}"


def _sys(os_name: str, attribute: str) -> str:
    try:
        return (SYS_NET / os_name / attribute).read_text().strip()
    except (OSError, ValueError):
        return ""


def oper_status(os_name: str, is_up: bool = False) -> OperStatus:
    """``os_name``'s TR-181 ``Status`` from the kernel's ``operstate``.

    Drivers that do not track carrier (loopback, tunnels) say ``unknown``; with the interface's
    ``IFF_UP`` flag set (``is_up``) it moves traffic, which is what ``Up`` means.
    """
    state = _sys(os_name, "operstate")
    if state == "unknown" or not state:
        return "Up" if is_up else "Unknown"
    return _OPERSTATE.get(state, "Unknown")


def link_type(os_name: str) -> LinkType:
    """What kind of link ``os_name`` is, as ``Hosts.Host.{i}.InterfaceType`` names it.

    A bridge (a gateway's ``br-lan`` joining its Ethernet ports and radios) or anything but an
    Ethernet-framed device is ``Other``: which of its members a host is behind is not known here.
    """
    if (SYS_NET / os_name / "wireless").exists() or (SYS_NET / os_name / "phy80211").exists():
        return "Wi-Fi"
    if (SYS_NET / os_name / "bridge").exists():
        return "Other"
    return "Ethernet" if _sys(os_name, "type") == _ARPHRD_ETHER else "Other"
