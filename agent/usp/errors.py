"""Errors of the USP agent; each carries the TR-369 error code the controller is answered with.

UspError (AgentError)        code 7000, or the code given
├── RecordDropped            a record the MTP drops, counted and logged, never answered:
│                            undecodable, oversized, for another endpoint (TR-369 "Record errors")
├── MessageError             the Record is sound but its Msg is not: answered with an Error
│                            (7000 message failed, 7001 not supported, 7004 invalid arguments)
├── PathError                7026 invalid path, 7008 invalid path syntax, 7016 no such object
├── ArgumentError            7027 invalid command arguments, 7004 invalid arguments, 7012 value
└── PermissionDenied         7006: the controller's role or the subscriber's consent says no
"""

from __future__ import annotations

from ..errors import AgentError
from .const import (
    ERR_INVALID_PATH,
    ERR_MESSAGE_FAILED,
    ERR_PERMISSION_DENIED,
)


class UspError(AgentError):
    """A failure a controller can be told about, with its TR-369 code."""

    code = ERR_MESSAGE_FAILED

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class RecordDropped(UspError):
    """TR-369 section 'Handling Errors in Records': a bad record is dropped, not answered."""


class MessageError(UspError):
    pass


class PathError(UspError):
    code = ERR_INVALID_PATH


class ArgumentError(UspError):
    pass


class PermissionDenied(UspError):
    code = ERR_PERMISSION_DENIED
