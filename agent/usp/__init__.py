"""The agent as a USP (TR-369) Agent over the MQTT MTP: optional, off unless ``[usp] enabled``.

Nothing here is imported unless USP is enabled (agent/runner.py imports :func:`serve` lazily), so
the resident agent without it stays as small as before; it needs the ``usp`` extra (protobuf).

    schema      the USP Record and Message protobuf schemas, built from TR-369's field numbers
    records     Record in (every TR-369 record check) and out; the Error Message
    paths       path names: partial paths, instance numbers, ``*``, ``[Param==value]``
    datamodel   objects, parameters and types read from Structs; resolving a path in them
    device      what is served under ``Device.``: the Structs, the commands, the events
    handlers    Get, GetSupportedDM, GetInstances, GetSupportedProtocol, Add/Set/Delete of
                subscriptions, Operate with Request and OperationComplete; Boot!, ValueChange
    trust       ControllerTrust roles and the subscriber's consent
    audit       the local audit of every controller action (``usp-audit.jsonl``)
    mtp         MQTT 5: endpoint-id user property, Response Information/Topic, usp.msg, QoS 1
    service     the whole beside the homediag link; the endpoint ID ``os::<OUI>-<serial>``
    errors      the exception tree, each error with its TR-369 code
    const       error codes, limits, defaults

docs/usp.md says how an operator points a controller at a fleet.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import ArgumentError, MessageError, PathError, PermissionDenied, RecordDropped, UspError
    from .handlers import Handlers
    from .service import UspAgent, endpoint_id, serve

#: Where each name lives: importing this package loads nothing (``homediag-agent controllers``
#: reads the audit without protobuf); a name is imported from its module when first used.
_HOME = {
    "ArgumentError": "errors",
    "MessageError": "errors",
    "PathError": "errors",
    "PermissionDenied": "errors",
    "RecordDropped": "errors",
    "UspError": "errors",
    "Handlers": "handlers",
    "UspAgent": "service",
    "endpoint_id": "service",
    "serve": "service",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "ArgumentError",
    "Handlers",
    "MessageError",
    "PathError",
    "PermissionDenied",
    "RecordDropped",
    "UspAgent",
    "UspError",
    "endpoint_id",
    "serve",
]
