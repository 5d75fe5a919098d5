"""The base of every sample's data: a frozen Struct whose fields are all optional."""

from __future__ import annotations

import msgspec

from ..tr181 import vendor
from .fields import UNSET, Maybe, Message


class SampleData(msgspec.Struct, frozen=True, kw_only=True):
    """Data of one sample or command result. Unknown fields are ignored (a newer agent may add
    some); ``message`` says in words why a run failed (``ProbeResult.error``). The model has no
    such parameter, so on the wire it is the vendor extension ``X_HOMEDIAG-DEV_Message``."""

    message: Maybe[Message] = msgspec.field(default=UNSET, name=vendor("Message"))
