"""The command catalogue: every command a CSR can send and an agent will run, with typed, bounded
parameters. Both sides decode parameters with these schemas, so the cloud refuses a bad command
with a reason before it is ever signed, and the agent refuses it again if it arrives anyway.

Commands marked ``consent`` change something on the subscriber's side or look deeper than routine
diagnostics; they need a remote-assistance session the subscriber approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

import msgspec
from msgspec import Meta

from .errors import MalformedMessage

Host = Annotated[str, Meta(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:_-]+$")]
Url = Annotated[str, Meta(min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$")]
ProbeName = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
PublicKey = Annotated[str, Meta(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]+$")]


class Params(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every command's parameters: unknown parameters are refused, never ignored."""


class RunProbeParams(Params):
    probe: ProbeName


class PingParams(Params):
    host: Host
    count: Annotated[int, Meta(ge=1, le=100)] = 4
    timeout_s: Annotated[float, Meta(gt=0, le=10)] = 1.0


class TraceRouteParams(Params):
    host: Host
    max_hops: Annotated[int, Meta(ge=1, le=64)] = 30


class DnsLookupParams(Params):
    name: Host
    server: Host | None = None


class HttpCheckParams(Params):
    url: Url


class ThroughputParams(Params):
    url: Url
    duration_s: Annotated[float, Meta(ge=1, le=30)] = 10.0


class DiscoverParams(Params):
    timeout_s: Annotated[float, Meta(ge=1, le=60)] = 10.0


class PrinterCheckParams(Params):
    uri: Annotated[str, Meta(min_length=8, max_length=2048, pattern=r"^ipps?://[^\s]+$")]


class NoParams(Params):
    pass


class CloudKeyParams(Params):
    public_key: PublicKey


class PlanParams(Params):
    cap_bytes: Annotated[int, Meta(gt=0, le=10**18)]
    cycle_start_day: Annotated[int, Meta(ge=1, le=31)]
    timezone: Annotated[str, Meta(min_length=1, max_length=64)]


class AddPrinterParams(Params):
    uri: Annotated[str, Meta(min_length=8, max_length=2048, pattern=r"^ipps?://[^\s]+$")]
    name: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


#: Longest remote-assistance session a subscriber can grant, on the device or in the portal.
MAX_CONSENT_MINUTES: Final = 24 * 60


@dataclass(frozen=True)
class CommandDef:
    params: type[Params]
    description: str
    consent: bool = False
    timeout_s: float = 120.0
    #: Sent by the cloud itself (key rotation), never by a CSR.
    internal: bool = False


CATALOGUE: dict[str, CommandDef] = {
    "run_probe": CommandDef(RunProbeParams, "run one of the agent's probes now"),
    "ping": CommandDef(PingParams, "IPPing (TR-181) to a host"),
    "traceroute": CommandDef(TraceRouteParams, "TraceRoute (TR-181) to a host"),
    "dns_lookup": CommandDef(DnsLookupParams, "NSLookupDiagnostics (TR-181)"),
    "http_check": CommandDef(HttpCheckParams, "status and timings of one HTTP request"),
    "download_test": CommandDef(ThroughputParams, "DownloadDiagnostics (TR-143)", timeout_s=60),
    "upload_test": CommandDef(ThroughputParams, "UploadDiagnostics (TR-143)", timeout_s=60),
    "discover": CommandDef(DiscoverParams, "discover the home's devices now", timeout_s=90),
    "printer_check": CommandDef(PrinterCheckParams, "IPP Get-Printer-Attributes of a printer"),
    "usage_snapshot": CommandDef(NoParams, "cycle-to-date usage and the per-device breakdown"),
    "support_bundle": CommandDef(NoParams, "agent status, recent logs and results; no secrets", consent=True),
    "add_printer": CommandDef(
        AddPrinterParams, "add a printer to the PC's CUPS, driverless", consent=True, timeout_s=180
    ),
    "trust_cloud_key": CommandDef(CloudKeyParams, "pin the cloud's next signing key", internal=True),
    "retire_cloud_key": CommandDef(CloudKeyParams, "drop a retired cloud signing key", internal=True),
    "set_plan": CommandDef(PlanParams, "the subscriber's cap and billing cycle", internal=True),
}


def decode_params(name: str, params: dict[str, Any]) -> Params:
    """The parameters as the command's schema, or MalformedMessage with the reason."""
    definition = CATALOGUE.get(name)
    if definition is None:
        raise MalformedMessage(f"{name!r} is not a command")
    try:
        return msgspec.convert(params, definition.params, strict=True)
    except msgspec.ValidationError as exc:
        raise MalformedMessage(f"{name}: {exc}") from exc
