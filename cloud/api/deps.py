"""Request dependencies and parameter types as ``Annotated`` aliases (FastAPI full-stack template
style).

Every query and path parameter is bounded and typed in its route's signature with the aliases here,
so a value no store can hold is a 422 at the door, not an exception deep in a query (issue 17: an
``offset`` of 2**63 overflowed SQLite's integers, a ``since`` without a time zone could not be
compared with stored times, and ``until`` in year 1 underflowed ``datetime``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from ..config import Settings
from ..downlink import CommandPublisher, IngestMonitor

_bearer = HTTPBearer(auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_publisher(request: Request) -> CommandPublisher | None:
    """The downlink to agents, or None when this process runs no ingest (an API worker alone, or a
    test): a route then says the home cannot be reached, or tells it at its next hello."""
    publisher: CommandPublisher | None = request.app.state.ingest
    return publisher


def get_monitor(request: Request) -> IngestMonitor | None:
    """The ingest's connection and counters, or None when this process runs no ingest."""
    monitor: IngestMonitor | None = getattr(request.app.state, "ingest", None)
    return monitor


def require_operator(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """The platform operator's bearer token only (platform-wide views such as ingest statistics);
    everything else takes a principal from ``auth.py`` (``StaffDep``, ``AdminDep``...)."""
    token: str = request.app.state.api_token
    if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="The access token is missing or wrong; log in again.",
            headers={"WWW-Authenticate": "Bearer"},
        )


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
OperatorDep = Annotated[None, Depends(require_operator)]
PublisherDep = Annotated[CommandPublisher | None, Depends(get_publisher)]
MonitorDep = Annotated[IngestMonitor | None, Depends(get_monitor)]


#: Deeper than any page a person turns to, and far inside the 64-bit integers of both stores.
MAX_OFFSET: Final = 1_000_000_000
#: The largest row id either store can hold (SQLite's INTEGER, PostgreSQL's BIGINT).
MAX_ROW_ID: Final = 2**63 - 1
#: Times a query may name: wide enough for any record, narrow enough that a window around them
#: (``until`` minus a day, ``since`` plus a cycle) stays inside what ``datetime`` can hold.
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)
#: Ids in paths (agents, subscribers, users and commands are hex) and names in queries (a probe).
ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]{1,64}$"
_ID: Final = re.compile(ID_PATTERN)


def _moment(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "timezone_aware", "Give the time with its time zone, e.g. 2024-05-01T12:00:00Z."
        )
    if not EARLIEST <= value < LATEST:
        raise PydanticCustomError("time_range", "Give a time between the years 2000 and 2199.")
    return value


def _name(value: str) -> str:
    if not _ID.fullmatch(value):
        raise PydanticCustomError("name", "Use letters, digits and - _ . : only, up to 64 of them.")
    return value


def _printable(value: str) -> str:
    # PostgreSQL refuses NUL in text; no other control character belongs in a query either.
    if not value.isprintable():
        raise PydanticCustomError("printable", "Use printable characters only, no control characters.")
    return value


# Patterns are declared for clients (and the fuzz test) in ``json_schema_extra``; the validators
# check the same and say it in words (a 422 shows people a sentence, not a regular expression).

#: A moment with its time zone (``2024-05-01T12:00:00Z``), between :data:`EARLIEST` and :data:`LATEST`.
Moment = Annotated[datetime, AfterValidator(_moment)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip, for the next page")]
#: The size of a page, for routes whose pages hold up to a thousand rows.
Limit = Annotated[int, Query(ge=1, le=1000, description="rows in one page")]
ObjectId = Annotated[
    str, Path(min_length=1, max_length=64, json_schema_extra={"pattern": ID_PATTERN}), AfterValidator(_name)
]
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
#: A name in a query (a probe, a device kind).
Name = Annotated[str, AfterValidator(_name)]
#: Free text (a search, a device's key as its agent named it): any printable character.
Text = Annotated[str, AfterValidator(_printable)]
#: An optional name to filter by (``?probe=netdev``).
NameFilter = Annotated[Name | None, Query(max_length=64, json_schema_extra={"pattern": ID_PATTERN})]
