"""Where the samples meet TR-181: which object each kind's data is, and how extensions are named.

The agent's outputs use the Broadband Forum's names and types (TR-181 2.19, TR-143 for the
transfer tests, TR-106 for the types). What the model lacks but a technician needs (loss as a
percentage, jitter, the busy-household check, a device's kind) stays, named as TR-106 says a
vendor's own parameter is named: ``X_<vendor>_Name``, the vendor being our domain in capitals with
the dot as a hyphen. Every such name is made by :func:`vendor`, so there is one place to read them;
``tests/tr181.py`` checks every name and type a real run emits against the official model.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "NESTED",
    "OBJECT_OF",
    "RESULT_OBJECT_OF",
    "UNKNOWN_TIME",
    "VENDOR_PREFIX",
    "is_vendor",
    "vendor",
]

#: TR-106 section 3.3: ``X_`` + the vendor's domain (homediag.dev) in capitals, dots as hyphens.
VENDOR_PREFIX: Final = "X_HOMEDIAG-DEV_"

#: TR-106's "unknown time" for a ``dateTime`` that never happened (a connection that never opened).
UNKNOWN_TIME: Final = "0001-01-01T00:00:00Z"


def vendor(name: str) -> str:
    """``name`` as a vendor extension: ``LossPercent`` -> ``X_HOMEDIAG-DEV_LossPercent``."""
    return name if name.startswith(VENDOR_PREFIX) else VENDOR_PREFIX + name


def is_vendor(name: str) -> bool:
    return name.startswith(VENDOR_PREFIX)


#: The TR-181 object (or command, whose output arguments the data are) of each sample kind. Kinds
#: the model has no object for are vendor objects: everything under them is ours.
OBJECT_OF: Final[dict[str, str]] = {
    "ping": "Device.IP.Diagnostics.IPPing()",
    "traceroute": "Device.IP.Diagnostics.TraceRoute()",
    "download": "Device.IP.Diagnostics.DownloadDiagnostics()",
    "upload": "Device.IP.Diagnostics.UploadDiagnostics()",
    "dns": f"Device.{VENDOR_PREFIX}DNSCheck.",
    #: ``Hosts.Host`` and ``DNS.SD.Service`` are two tables of the root, joined by reference.
    "discovery": "Device.",
    "netdev": "Device.IP.",
    "wifi": "Device.WiFi.EndPoint.{i}.",
    "http": f"Device.{VENDOR_PREFIX}HTTPCheck.",
    "connectivity": f"Device.{VENDOR_PREFIX}Connectivity.",
    "usage": f"Device.{VENDOR_PREFIX}Usage.",
    "device_usage": f"Device.{VENDOR_PREFIX}DeviceUsage.",
    "consent": f"Device.{VENDOR_PREFIX}Consent.",
}

#: The same for the commands whose results are TR-181 diagnostics.
RESULT_OBJECT_OF: Final[dict[str, str]] = {
    "ping": "Device.IP.Diagnostics.IPPing()",
    "traceroute": "Device.IP.Diagnostics.TraceRoute()",
    "dns_lookup": "Device.DNS.Diagnostics.NSLookupDiagnostics()",
    "download_test": "Device.IP.Diagnostics.DownloadDiagnostics()",
    "upload_test": "Device.IP.Diagnostics.UploadDiagnostics()",
    "http_check": f"Device.{VENDOR_PREFIX}HTTPCheck.",
    "discover": f"Device.{VENDOR_PREFIX}Discover.",
    "printer_check": f"Device.{VENDOR_PREFIX}Printer.",
    "usage_snapshot": f"Device.{VENDOR_PREFIX}Usage.",
}

#: TR-181 objects carried inside a vendor object (or under a vendor name), keyed by (sample kind or
#: command, JSON name without the vendor prefix). The value under that name is one object or a JSON
#: array of them; the conformance checker (tests/tr181.py) checks each against the TR-181 path here.
NESTED: Final[dict[tuple[str, str], str]] = {
    #: the scheduled ``dns`` probe: one NSLookupDiagnostics() output per name looked up.
    ("dns", "Lookups"): "Device.DNS.Diagnostics.NSLookupDiagnostics()",
    #: a host's DNS-SD services, when sent under the host (rather than as ``Device.DNS.SD.Service``).
    ("discovery", "Services"): "Device.DNS.SD.Service.{i}.",
}
