"""The command catalogue: every command a CSR can send and an agent will run, with typed, bounded
parameters. Both sides decode parameters with these schemas, so the cloud refuses a bad command
with a reason before it is ever signed, and the agent refuses it again if it arrives anyway.
Every parameter is bounded (a length for text, a range for numbers; a test holds every command to
it) and unknown ones are refused; the reason names the parameter and its bounds in words, never
the value sent (issue 17: refusals of 20 MiB parameters filled the audit log).

Commands marked ``consent`` change something on the subscriber's side or look deeper than routine
diagnostics; they need a remote-assistance session the subscriber approved.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Final

import msgspec
import msgspec.inspect as mi
from msgspec import Meta

from .errors import MalformedMessage

Host = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=253,
        pattern=r"^[A-Za-z0-9.:_-]+$",
        description="a host name or IP address (letters, digits, '.', ':', '-' and '_')",
    ),
]
Url = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        description="an http:// or https:// address",
    ),
]
PrinterUri = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=2048,
        pattern=r"^ipps?://[^\s]+$",
        description="a printer address starting with ipp:// or ipps://",
    ),
]
ProbeName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_]+$",
        description="a probe name (lower-case letters, digits and '_')",
    ),
]
PublicKey = Annotated[
    str,
    Meta(
        min_length=43,
        max_length=43,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="an Ed25519 public key in unpadded URL-safe base64",
    ),
]
PrinterName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="a printer name (letters, digits, '-' and '_')",
    ),
]
TimeZone = Annotated[
    str, Meta(min_length=1, max_length=64, description="a time-zone name such as Europe/Paris")
]


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
    uri: PrinterUri


class NoParams(Params):
    pass


class CloudKeyParams(Params):
    public_key: PublicKey


class PlanParams(Params):
    cap_bytes: Annotated[int, Meta(gt=0, le=10**18)]
    cycle_start_day: Annotated[int, Meta(ge=1, le=31)]
    timezone: TimeZone


class AddPrinterParams(Params):
    uri: PrinterUri
    name: PrinterName


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
    """The parameters as the command's schema, or MalformedMessage with the reason.

    The reason is a sentence for the CSR who sent the command (the API answers with it) and never
    repeats what was sent: a refused value may be megabytes, or someone else's secret."""
    definition = CATALOGUE.get(name)
    if definition is None:
        raise MalformedMessage("There is no such command; choose one from the list of diagnostics.")
    if not isinstance(params, dict):
        raise MalformedMessage(
            f"For {name}, the parameters must be an object of names and values;"
            " correct them and send them again."
        )
    try:
        return msgspec.convert(params, definition.params, strict=True)
    except msgspec.ValidationError as exc:
        raise MalformedMessage(_explain(name, definition.params, params)) from exc


def _explain(name: str, schema: type[Params], params: dict[str, Any]) -> str:
    """Why ``params`` do not fit ``schema``, field by field in the schema's order."""
    fields = _fields(schema)
    if not params.keys() <= fields.keys():
        if not fields:
            return f"The {name} command takes no parameters; send it again without any."
        return (
            f"The {name} command takes only these parameters: {', '.join(fields)};"
            " remove the others and send it again."
        )
    for field, (hint, info) in fields.items():
        if field not in params:
            if info.required:
                return f"The {name} command needs {field}, {_describe(info.type)}; add it and send it again."
            continue
        try:
            msgspec.convert(params[field], hint, strict=True)
        except msgspec.ValidationError:
            return f"For {name}, the {field} must be {_describe(info.type)}; correct it and send it again."
    return f"For {name}, the parameters do not fit the command; correct them and send them again."


@cache
def _fields(schema: type[Params]) -> dict[str, tuple[Any, mi.Field]]:
    hints = typing.get_type_hints(schema, include_extras=True)
    info = typing.cast(mi.StructType, mi.type_info(schema))
    return {f.name: (hints[f.name], f) for f in info.fields}


def _describe(kind: mi.Type) -> str:
    """A schema type in words (``a number from 1 to 60``), never a regex or a type name."""
    if isinstance(kind, mi.Metadata):
        described = (kind.extra_json_schema or {}).get("description")
        if described and isinstance(kind.type, mi.StrType):
            return f"{described}, {_length(kind.type)}"
        return _describe(kind.type)
    if isinstance(kind, mi.UnionType):
        others = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        return " or ".join(_describe(t) for t in others) + " (or left out)"
    if isinstance(kind, mi.StrType):
        return f"text {_length(kind)}"
    if isinstance(kind, mi.BoolType):
        return "true or false"
    if isinstance(kind, mi.IntType | mi.FloatType):
        noun = "a whole number" if isinstance(kind, mi.IntType) else "a number"
        if kind.ge is not None and kind.le is not None:
            return f"{noun} from {kind.ge} to {kind.le}"
        low = (
            f"above {kind.gt}"
            if kind.gt is not None
            else f"at least {kind.ge}"
            if kind.ge is not None
            else ""
        )
        high = (
            f"at most {kind.le}" if kind.le is not None else f"below {kind.lt}" if kind.lt is not None else ""
        )
        return f"{noun} {' and '.join(part for part in (low, high) if part)}".strip()
    return "a valid value"


def _length(kind: mi.StrType) -> str:
    if kind.min_length is not None and kind.min_length == kind.max_length:
        return f"exactly {kind.max_length} characters long"
    if kind.max_length is None:
        return "of any length"
    return f"{kind.min_length or 0} to {kind.max_length} characters long"
