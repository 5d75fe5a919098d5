"""What the lab needs from the machine, and a readable list of what is missing.

The lab tests skip with this list on a developer's laptop without root, and fail with it on CI, so a
CI run can never pass by skipping.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Iterable

from .errors import PrerequisiteError
from .model import Home, Service

#: Binary -> Debian package that ships it.
PACKAGES: dict[str, str] = {
    "ip": "iproute2",
    "tc": "iproute2",
    "nft": "nftables",
    "iptables": "iptables",
    "unshare": "util-linux",
    "mount": "mount",
    "dnsmasq": "dnsmasq-base",
    "dbus-daemon": "dbus",
    "avahi-daemon": "avahi-daemon",
    "avahi-browse": "avahi-utils",
    "ippeveprinter": "cups-ipp-utils",
    "ipptool": "cups-ipp-utils",
    "iperf3": "iperf3",
    "ping": "iputils-ping",
    "dig": "bind9-dnsutils",
    "tcpdump": "tcpdump",
}

CORE_TOOLS = ("ip", "tc", "nft", "unshare", "mount")
SERVICE_TOOLS: dict[Service, tuple[str, ...]] = {
    Service.ROUTER: ("nft",),
    Service.DNS: ("dnsmasq",),
    Service.AVAHI: ("dbus-daemon", "avahi-daemon"),
    Service.IPP_PRINTER: ("ippeveprinter",),
    Service.MEDIA_RENDERER: (),
}
#: Knobs: iperf3 for traffic; iptables only where the kernel lacks netem (see lab.impair).
KNOB_TOOLS = ("iperf3",)


def missing(home: Home | None = None, tools: Iterable[str] = ()) -> list[str]:
    """Reasons the lab cannot run here; empty when it can."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)")
    wanted = list(CORE_TOOLS)
    if home is not None:
        for host in home.hosts:
            for service in host.services:
                wanted += SERVICE_TOOLS[service]
    wanted += tools
    if "iperf3" in wanted and not netem_available():
        wanted.append("iptables")  # the knobs are wanted, and impairment will need NFQUEUE
    absent = sorted({t for t in wanted if shutil.which(t) is None})
    if absent:
        pkgs = sorted({PACKAGES.get(t, t) for t in absent})
        reasons.append(f"missing {', '.join(absent)} (Debian: apt-get install {' '.join(pkgs)})")
    if home is not None and home.with_service(Service.MEDIA_RENDERER) and not _importable("zeroconf"):
        reasons.append("python package zeroconf is not installed (pip install zeroconf)")
    if not reasons and not _can_make_netns():
        reasons.append(
            "cannot create a network namespace here (unshare --net failed: container without privileges?)"
        )
    return reasons


def check(home: Home | None = None, tools: Iterable[str] = ()) -> None:
    reasons = missing(home, tools)
    if reasons:
        raise PrerequisiteError("; ".join(reasons))


@functools.cache
def netem_available() -> bool:
    """Whether the kernel has sch_netem, tried on the loopback of a throwaway network namespace."""
    script = "ip link set lo up && tc qdisc add dev lo root netem delay 1ms"
    try:
        done = subprocess.run(
            ["unshare", "--net", "sh", "-c", script], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _can_make_netns() -> bool:
    try:
        done = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
