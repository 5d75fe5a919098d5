"""The names of the agent's sample kinds, one place for both sides.

A sample's ``probe`` says what its ``data`` is: each name here has a typed Struct in
:data:`protocol.samples.SAMPLE_DATA`. The agent's probes declare ``name = ProbeName.PING`` and the
cloud chooses its folds by these names. A name not listed stays free-form, so a newer agent may
report a kind an older cloud does not know yet. (``protocol.catalogue.ProbeName`` is the bounded
text of a ``run_probe`` parameter, which may name any probe.)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["CONNECTIVITY_PROBES", "DISCOVERY_PROBES", "USAGE_PROBES", "ProbeName"]


class ProbeName(StrEnum):
    NETDEV = "netdev"
    USAGE = "usage"
    DEVICE_USAGE = "device_usage"
    PING = "ping"
    DNS = "dns"
    HTTP = "http"
    DOWNLOAD = "download"
    UPLOAD = "upload"
    DISCOVERY = "discovery"
    TRACEROUTE = "traceroute"
    WIFI = "wifi"
    CONNECTIVITY = "connectivity"
    #: Not a probe: the runner reports the device's remote-assistance consent when it changes.
    CONSENT = "consent"


#: The kinds the cloud folds into its usage tables (cloud/usage.py).
USAGE_PROBES: Final = frozenset({ProbeName.USAGE, ProbeName.DEVICE_USAGE})
#: The kinds the cloud folds into its inventory (cloud/inventory.py).
DISCOVERY_PROBES: Final = frozenset({ProbeName.DISCOVERY})
#: The kinds the cloud folds into its connectivity history (cloud/connectivity.py).
CONNECTIVITY_PROBES: Final = frozenset(
    {ProbeName.CONNECTIVITY, ProbeName.PING, ProbeName.DNS, ProbeName.DOWNLOAD, ProbeName.UPLOAD}
)
