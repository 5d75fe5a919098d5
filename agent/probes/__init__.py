"""Probes: one file per family, each registering itself.

``SHIPPED`` is the explicit list of probe modules this build carries; a slim build
for a router can leave some out.
"""

from importlib import import_module

from .base import COMPLETE, Probe, ProbeConfigError, ProbeResult, Requirements, create, register, registered

SHIPPED: tuple[str, ...] = (
    "netdev",
    "usage",
    "device_usage",
    "ping",
    "dns",
    "http",
    "throughput",
    "discovery",
    "traceroute",
    "wifi",
    "connectivity",
)

for _module in SHIPPED:
    import_module(f"{__name__}.{_module}")

__all__ = [
    "COMPLETE",
    "SHIPPED",
    "Probe",
    "ProbeConfigError",
    "ProbeResult",
    "Requirements",
    "create",
    "register",
    "registered",
]
