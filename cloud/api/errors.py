"""Every error answer of the API as RFC 9457 problem details, and the one table that decides them.

Domain errors (``cloud/errors.py``, ``protocol/errors.py``) know nothing of HTTP: :data:`DOMAIN`
gives each class its status and problem kind, and the error's message, already a sentence for the
person who asked, is the ``detail``. Starlette's ``HTTPException`` (routes, ``auth.py``) keeps its
status and headers (``WWW-Authenticate``, ``Retry-After``, ``Allow``, ``Connection``). FastAPI's
validation errors become one sentence per field that names it and says what it must be, never
what was sent, a regex or a type name (issue 18). Anything else is a 500 without traceback text,
logged with an incident id the answer carries.

A problem's ``type`` is a relative URI, ``/problems/<slug>``, served by this app as a short page
(``GET /problems`` lists them all; docs/errors.md too). ``type`` and ``title`` are stable per kind,
for programs and for people; ``detail`` is this occurrence's sentence, with a next step where there
is one, and always a string (the console shows it as it is).
"""

from __future__ import annotations

import html
import json
import logging
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core.core_schema import ErrorType
from starlette.exceptions import HTTPException

from protocol import ProtocolError

from ..errors import (
    AccountError,
    AgentOffline,
    AgentUnknown,
    CommandInvalid,
    CommandRefused,
    ConsentRequired,
    EnrollmentRefused,
    HashingBusy,
    LoginLocked,
    LoginRefused,
    NotFound,
    NotInService,
    RateLimited,
    StorageError,
    TokenInvalid,
)
from ..printer_setup import SetupError

__all__ = [
    "DOMAIN",
    "KINDS",
    "PROBLEM_JSON",
    "FieldProblemPublic",
    "ProblemKind",
    "ProblemPublic",
    "ValidationProblemPublic",
    "encode",
    "install",
    "validation_sentence",
]

_LOGGER = logging.getLogger(__name__)

PROBLEM_JSON: Final = "application/problem+json"
PROBLEMS_PATH: Final = "/problems"
#: What one 422 answer may hold: enough to fix the request, never a copy of it (issue 17).
MAX_ERRORS: Final = 20
MAX_LOC_ITEMS: Final = 8
MAX_LOC_CHARS: Final = 64
MAX_SENTENCE_CHARS: Final = 200
#: A domain error's message is a sentence; a longer one is cut here.
MAX_DETAIL_CHARS: Final = 400
#: The key of a field's own words in ``json_schema_extra`` (``{"x-sentence": "the host must be a
#: name or an address"}``): said for any refusal of that field but a missing one.
SENTENCE_KEY: Final = "x-sentence"


@dataclass(frozen=True)
class ProblemKind:
    """One kind of problem: its stable ``type`` slug and ``title``, and the page behind the type."""

    slug: str
    status: int
    title: str
    #: The ``detail`` when the occurrence brings no sentence of its own.
    detail: str
    #: The page at the type's URI: when this happens and what to do.
    about: str

    @property
    def type(self) -> str:
        return f"{PROBLEMS_PATH}/{self.slug}"


def _kinds() -> Iterator[ProblemKind]:
    yield ProblemKind(
        "bad-request", 400, "The request cannot be used",
        "The request is not one this address can use; check it and send it again.",
        "The request is malformed or misses something this endpoint needs (the login endpoint "
        "answers its OAuth 2.0 errors this way: invalid_grant, invalid_request). Read the detail.",
    )  # fmt: skip
    yield ProblemKind(
        "unauthorized", 401, "Log in first",
        "This needs a login; log in and try again.",
        "No access token, or one that is not valid. Log in again (POST /api/v1/auth/token) and send "
        "the new token as a Bearer token.",
    )  # fmt: skip
    yield ProblemKind(
        "token-invalid", 401, "The login is no longer valid",
        "This login is no longer valid; log in again.",
        "The token is expired, revoked or not one this service issued. Log in again.",
    )  # fmt: skip
    yield ProblemKind(
        "forbidden", 403, "Not allowed for this login",
        "This login is not allowed to do that; ask someone with a higher role.",
        "The login is valid but its role (or the object's owner) does not allow this. Ask a "
        "colleague with the role the detail names, or an administrator.",
    )  # fmt: skip
    yield ProblemKind(
        "enrollment-refused", 403, "The device cannot be enrolled",
        "The device cannot be enrolled; ask for a new pairing code.",
        "The pairing code is unknown, used or expired, the device's key or certificate request is "
        "not valid, or the agent is revoked. Ask for a new pairing code and enroll again.",
    )  # fmt: skip
    yield ProblemKind(
        "not-in-service", 403, "Not part of the subscriber's service",
        "This command is not part of the subscriber's service.",
        "The subscriber's plan tier does not include this command (the operator's tier policy). "
        "Choose another diagnostic, or change the subscriber's plan.",
    )  # fmt: skip
    yield ProblemKind(
        "consent-required", 403, "The subscriber's consent is needed",
        "This needs a remote-assistance session the subscriber approved.",
        "The command acts on the subscriber's home, so the subscriber must first open a "
        "remote-assistance session (on the gateway or in the web console). Ask them, then send it again.",
    )  # fmt: skip
    yield ProblemKind(
        "not-found", 404, "Not found",
        "There is nothing at this address; check the link or the id.",
        "No such object, or one this login cannot see (another operator's objects are answered "
        "exactly like missing ones). Check the id.",
    )  # fmt: skip
    yield ProblemKind(
        "method-not-allowed", 405, "Not possible at this address",
        "This address does not take that kind of request.",
        "The address exists but not with this method; the Allow header lists the ones it takes.",
    )  # fmt: skip
    yield ProblemKind(
        "conflict", 409, "Conflicts with how things are now",
        "This conflicts with how things are now; reload and try again.",
        "The change cannot be made in the current state (a name that exists, an admin removing "
        "itself). Read the detail, reload, and try again.",
    )  # fmt: skip
    yield ProblemKind(
        "agent-offline", 409, "The home is offline",
        "The home is offline; send it with wait=true to deliver it when it returns.",
        "The agent is not connected. A command can wait for it (wait=true, until its ttl_s runs out), "
        "except one that needs the subscriber's consent now.",
    )  # fmt: skip
    yield ProblemKind(
        "too-large", 413, "The request is too large",
        "The request body is larger than this endpoint takes; send less.",
        "The body is over the endpoint's limit (1 MiB unless the operator set another); the "
        "connection is closed after the answer. Send less.",
    )  # fmt: skip
    yield ProblemKind(
        "invalid-fields", 422, "Some values are not right",
        "Some values in the request are not right; correct them and send it again.",
        "One or more fields are missing or out of their bounds. The member errors has one entry per "
        "field (loc, field, sentence, type; at most 20); detail is the first sentence.",
    )  # fmt: skip
    yield ProblemKind(
        "invalid-command", 422, "The command cannot be sent as it is",
        "The command or its parameters are not right; correct them and send it again.",
        "Not a diagnostic a CSR can send, a parameter that does not fit the command's schema, or a "
        "ttl_s out of bounds. The detail names the parameter and what it must be.",
    )  # fmt: skip
    yield ProblemKind(
        "unprocessable", 422, "The request cannot be carried out as sent",
        "The request cannot be carried out as it is; correct it and send it again.",
        "The values have the right form but cannot be used (an unknown time zone, a printer address "
        "the guide cannot read, an account rule). Read the detail.",
    )  # fmt: skip
    yield ProblemKind(
        "too-many-requests", 429, "Too many requests",
        "Too many requests at once; wait a little and try again.",
        "A bound on live streams or attempts was reached. Wait the Retry-After seconds.",
    )  # fmt: skip
    yield ProblemKind(
        "login-locked", 429, "Too many failed logins",
        "Too many failed logins; wait and try again.",
        "The account or the address it is used from is locked for a while after repeated failures. "
        "Wait the Retry-After seconds, or ask an administrator to reset the password.",
    )  # fmt: skip
    yield ProblemKind(
        "rate-limited", 429, "Too many attempts",
        "Too many attempts; wait and try again.",
        "Too many failed pairing attempts from this address, or codes for one subscriber. Wait the "
        "Retry-After seconds.",
    )  # fmt: skip
    yield ProblemKind(
        "internal", 500, "Something went wrong on our side",
        "Something went wrong on our side; try again, and if it happens again, tell support the "
        "incident id.",
        "An error the service did not expect. Nothing about it is in the answer; the service logged "
        "it with the incident id the answer carries in instance.",
    )  # fmt: skip
    yield ProblemKind(
        "busy", 503, "The service is busy",
        "The service is busy; try again in a few seconds.",
        "Every slot for checking passwords stayed taken. Wait the Retry-After seconds.",
    )  # fmt: skip
    yield ProblemKind(
        "unavailable", 503, "Not available right now",
        "This is not available right now; try again in a minute.",
        "A part the request needs (the message broker, the database) does not answer. Try again "
        "in a minute.",
    )  # fmt: skip


KINDS: Final[Mapping[str, ProblemKind]] = {kind.slug: kind for kind in _kinds()}

#: The kind of an ``HTTPException`` raised with this status (others: ``about:blank``, RFC 9457 §4.2.1).
_BY_STATUS: Final[Mapping[int, ProblemKind]] = {
    400: KINDS["bad-request"],
    401: KINDS["unauthorized"],
    403: KINDS["forbidden"],
    404: KINDS["not-found"],
    405: KINDS["method-not-allowed"],
    409: KINDS["conflict"],
    413: KINDS["too-large"],
    422: KINDS["unprocessable"],
    429: KINDS["too-many-requests"],
    500: KINDS["internal"],
    503: KINDS["unavailable"],
}

#: Domain error -> kind; the most specific class of an error's MRO found here wins.
DOMAIN: Final[Mapping[type[Exception], ProblemKind]] = {
    NotFound: KINDS["not-found"],
    CommandRefused: KINDS["invalid-command"],
    CommandInvalid: KINDS["invalid-command"],
    AgentUnknown: KINDS["not-found"],
    AgentOffline: KINDS["agent-offline"],
    NotInService: KINDS["not-in-service"],
    ConsentRequired: KINDS["consent-required"],
    EnrollmentRefused: KINDS["enrollment-refused"],
    RateLimited: KINDS["rate-limited"],
    AccountError: KINDS["unprocessable"],
    LoginRefused: KINDS["bad-request"],
    LoginLocked: KINDS["login-locked"],
    TokenInvalid: KINDS["token-invalid"],
    HashingBusy: KINDS["busy"],
    SetupError: KINDS["unprocessable"],
    ProtocolError: KINDS["unprocessable"],
    StorageError: KINDS["unavailable"],
}
#: Errors whose message is for the log, not for people (a database URL): the kind's own words.
_QUIET: Final = (StorageError,)


class ProblemPublic(BaseModel):
    """An error answer (RFC 9457): ``type`` and ``title`` say which kind, ``detail`` what happened."""

    type: str = Field(description="the kind of problem, stable: a page at this URI (relative) says more")
    title: str = Field(description="the kind in a few plain words, the same for every occurrence")
    status: int = Field(ge=400, le=599, description="the HTTP status of this answer")
    detail: str = Field(description="this occurrence in a sentence for people, with a next step")
    instance: str | None = Field(default=None, description="an incident id, for a 500: tell support")


class FieldProblemPublic(BaseModel):
    """One field that is not right: where it is, its name in words, and what it must be."""

    loc: list[str | int] = Field(max_length=MAX_LOC_ITEMS, description="where: body, query, path...")
    field: str = Field(description="the field in words")
    sentence: str = Field(description="what is wrong and what it must be, in a sentence")
    type: str = Field(description="pydantic's error type, for programs")


class ValidationProblemPublic(ProblemPublic):
    """A 422: ``errors`` when the request's own fields were refused (``invalid-fields``)."""

    errors: list[FieldProblemPublic] = Field(default_factory=list, max_length=MAX_ERRORS)


def problem(
    kind: ProblemKind,
    detail: str | None = None,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = _document(kind, detail, status=status, **extra)
    return JSONResponse(body, status_code=body["status"], headers=headers, media_type=PROBLEM_JSON)


def _document(
    kind: ProblemKind | None, detail: str | None, *, status: int | None = None, **extra: Any
) -> dict[str, Any]:
    code = status or (kind.status if kind else 500)
    if kind is None or kind.status != code:  # a status with no kind of its own
        phrase = _phrase(code)
        body = {"type": "about:blank", "title": phrase, "status": code, "detail": detail or f"{phrase}."}
    else:
        body = {"type": kind.type, "title": kind.title, "status": code, "detail": detail or kind.detail}
    body["detail"] = str(body["detail"])[:MAX_DETAIL_CHARS]
    return {**body, **{k: v for k, v in extra.items() if v is not None}}


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def encode(status: int, detail: str) -> bytes:
    """The problem document for ``status`` as bytes, for answers sent below the app (BodyLimit's 413)."""
    return json.dumps(_document(_BY_STATUS.get(status), detail, status=status)).encode()


# --- handlers ---------------------------------------------------------------------------------


async def _http_problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code < 200 or exc.status_code in (204, 205, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=headers)
    kind = _BY_STATUS.get(exc.status_code)
    given: str | None = exc.detail if isinstance(exc.detail, str) else None
    if given == _phrase(exc.status_code):  # Starlette's default ("Not Found"): our words instead
        given = None
    body = _document(kind, given, status=exc.status_code)
    return JSONResponse(body, status_code=exc.status_code, headers=headers, media_type=PROBLEM_JSON)


def _kind_of(exc: Exception) -> ProblemKind:
    for cls in type(exc).__mro__:
        if cls in DOMAIN:
            return DOMAIN[cls]
    return KINDS["internal"]


async def _domain_problem(request: Request, exc: Exception) -> Response:
    kind = _kind_of(exc)
    headers: dict[str, str] = {}
    retry_after = getattr(exc, "retry_after_s", None)
    if isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    if kind.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, _QUIET):
        _LOGGER.warning("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, kind.title)
        return problem(kind, headers=headers)
    return problem(kind, str(exc) or None, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """The last resort: a 500 that says nothing of the error, which goes to the log with its id.
    (Starlette re-raises it afterwards, so the server logs it too.)"""
    incident = uuid.uuid4()
    _LOGGER.error(
        "incident %s: unexpected %s on %s %s",
        incident,
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return problem(KINDS["internal"], instance=f"urn:uuid:{incident}")


async def _validation_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    route = request.scope.get("route")
    errors = [_field_problem(error, route) for error in list(exc.errors())[:MAX_ERRORS]]
    detail = errors[0].sentence if errors else KINDS["invalid-fields"].detail
    more = len(exc.errors()) - 1
    if more > 0:
        detail += f" {more} more {'value needs' if more == 1 else 'values need'} correcting too; see errors."
    return problem(KINDS["invalid-fields"], detail, errors=[e.model_dump() for e in errors])


# --- validation sentences ---------------------------------------------------------------------

#: Where a value came from, in FastAPI's ``loc``: not the field's name.
_LOCATIONS: Final = frozenset({"body", "query", "path", "header", "cookie"})
#: pydantic's own error types; any other is a ``PydanticCustomError`` of ours, whose message is ours.
_PYDANTIC_TYPES: Final = frozenset(typing.get_args(ErrorType))


def _field_problem(error: Mapping[str, Any], route: object) -> FieldProblemPublic:
    loc = [
        part if isinstance(part, int) else str(part)[:MAX_LOC_CHARS]
        for part in list(error.get("loc", ()))[:MAX_LOC_ITEMS]
    ]
    info = _field_info(route, list(error.get("loc", ())))
    words = _words(loc, info)
    sentence = validation_sentence(error, words, info)
    return FieldProblemPublic(
        loc=loc,
        field=words,
        sentence=sentence[:MAX_SENTENCE_CHARS],
        type=str(error.get("type", ""))[:MAX_LOC_CHARS],
    )


def _words(loc: Sequence[str | int], info: FieldInfo | None) -> str:
    """The field as people say it: its ``title``, else its name with spaces; list items by number."""
    names = [i for i, part in enumerate(loc) if isinstance(part, str) and not (i == 0 and part in _LOCATIONS)]
    if not names:
        return "request body" if loc[:1] == ["body"] else "request"
    last = names[-1]
    name = info.title if info is not None and info.title else _spoken(str(loc[last]))
    items = [part for part in loc[last + 1 :] if isinstance(part, int)]
    return f"{name} (item {items[0] + 1})" if items else name


def _spoken(name: str) -> str:
    """``public_key`` as "public key"; a name ending in a unit (``ttl_s``, ``rtt_ms``) as it is spelled."""
    head, _, unit = name.rpartition("_")
    return name if head and len(unit) <= 2 else name.replace("_", " ")


def validation_sentence(error: Mapping[str, Any], words: str, info: FieldInfo | None = None) -> str:
    """One refusal in a sentence that names the field and says what it must be.

    Only our own words and bounds go in (the field's name, ``ctx`` limits of our schema, the
    messages of our validators), never ``input`` nor pydantic's ``msg`` for its own types, which
    quotes patterns and types (``String should match pattern '^[a-z]...'``, ``Input should be``)."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    the = f"The {words}"
    if kind == "missing":
        return f"{the} is missing; add it and send it again."
    own = _own_sentence(info)
    if own:
        return own
    if kind in _TEMPLATES:
        return _fill(_TEMPLATES[kind], the, ctx)
    if kind == "value_error":
        reason = str(ctx.get("error", "")) or str(error.get("msg", "")).removeprefix("Value error, ")
        return _check(words, reason)
    if kind not in _PYDANTIC_TYPES:  # one of ours: its message is a sentence already
        return _check(words, str(error.get("msg", "")))
    return f"{the} is not valid; check it and send it again."


def _own_sentence(info: FieldInfo | None) -> str:
    extra = info.json_schema_extra if info is not None else None
    said = extra.get(SENTENCE_KEY) if isinstance(extra, dict) else None
    if not isinstance(said, str) or not said:
        return ""
    said = said[0].upper() + said[1:]
    return said if said.endswith(".") else f"{said}; correct it and send it again."


def _check(words: str, reason: str) -> str:
    reason = reason.strip() or "it is not valid"
    if reason[:1].isupper() and not reason[1:2].isupper():
        reason = reason[0].lower() + reason[1:]
    reason = reason if reason.endswith(".") else f"{reason}."
    return f"Check the {words}: {reason}"


def _templates() -> dict[str, str]:
    """pydantic's error types in words: ``{the}`` is "The <field>", other names are ``ctx`` bounds."""
    whole = "{the} must be a whole number; correct it and send it again."
    number = "{the} must be a number; correct it and send it again."
    moment = "{the} must be a date and time with its time zone, such as 2024-05-01T12:00:00Z."
    obj = "{the} must be an object of names and values (JSON); correct it and send it again."
    listed = "{the} must be a list; correct it and send it again."
    address = "{the} must be a web address such as https://example.com/hook; correct it and send it again."
    one_of = "{the} must be {expected}."
    return {
        **dict.fromkeys(("int_type", "int_parsing", "int_from_float", "int_parsing_size"), whole),
        **dict.fromkeys(("float_type", "float_parsing", "finite_number", "decimal_parsing"), number),
        **dict.fromkeys(("bool_type", "bool_parsing"), "{the} must be true or false."),
        **dict.fromkeys(("string_type", "string_unicode", "string_sub_type"), "{the} must be text."),
        **dict.fromkeys(("datetime_type", "datetime_parsing", "datetime_from_date_parsing"), moment),
        **dict.fromkeys(("datetime_object_invalid", "timezone_aware", "timezone_naive"), moment),
        **dict.fromkeys(
            ("date_type", "date_parsing", "date_from_datetime_parsing"),
            "{the} must be a date such as 2024-05-01.",
        ),
        **dict.fromkeys(("dict_type", "model_type", "model_attributes_type", "mapping_type"), obj),
        **dict.fromkeys(("list_type", "tuple_type", "set_type", "iterable_type"), listed),
        **dict.fromkeys(("url_type", "url_parsing", "url_syntax_violation", "url_too_long"), address),
        **dict.fromkeys(("literal_error", "enum"), one_of),
        "string_too_short": "{the} needs at least {min_length} characters.",
        "string_too_long": "{the} can have at most {max_length} characters; shorten it and send it again.",
        "string_pattern_mismatch": "{the} has characters or a form it cannot have; check it and try again.",
        "too_short": "{the} needs at least {min_length} items.",
        "too_long": "{the} can hold at most {max_length} items; send fewer.",
        "greater_than": "{the} must be more than {gt}.",
        "greater_than_equal": "{the} must be at least {ge}.",
        "less_than": "{the} must be less than {lt}.",
        "less_than_equal": "{the} must be at most {le}.",
        "multiple_of": "{the} must be a multiple of {multiple_of}.",
        "url_scheme": "{the} must start with {expected_schemes}.",
        "bytes_too_long": "{the} can have at most {max_length} bytes.",
        "none_required": "{the} must be left out.",
        "json_invalid": "The request body is not valid JSON; check its quotes, commas and brackets.",
        "json_type": "The request body must be JSON; send it again as JSON.",
        "extra_forbidden": "The request has a field this endpoint does not take; remove it and try again.",
    }


_TEMPLATES: Final[Mapping[str, str]] = _templates()


class _Bounds(dict[str, str]):
    """``ctx`` as the template reads it: our schema's bounds, each cut short; a missing one is vague."""

    def __missing__(self, key: str) -> str:
        return "one of the allowed values" if key.startswith("expected") else "its limit"


def _fill(template: str, the: str, ctx: Mapping[str, Any]) -> str:
    bounds = _Bounds({key: str(value)[:120] for key, value in ctx.items() if key != "error"})
    bounds["the"] = the
    return template.format_map(bounds)


def _field_info(route: object, loc: Sequence[Any]) -> FieldInfo | None:
    """The declaration (``Field``, ``Query``...) of the field at ``loc`` in the route, if found:
    its ``title`` and ``x-sentence`` are the words people read."""
    if not isinstance(route, APIRoute) or len(loc) < 2 or loc[0] not in _LOCATIONS:
        return None
    params = list(_params(route.dependant, f"{loc[0]}_params"))
    for param in params:
        if param.alias == loc[1]:  # a parameter of its own (query, form field, embedded body)
            return _walk(param.field_info.annotation, loc[2:]) if len(loc) > 2 else param.field_info
    if loc[0] == "body" and len(params) == 1:  # one model as the whole body: loc goes into it
        return _walk(params[0].field_info.annotation, loc[1:])
    return None


def _params(dependant: Dependant, kind: str) -> Iterator[Any]:
    """The route's parameters of one kind (``query_params``...), its dependencies' included."""
    yield from getattr(dependant, kind)
    for sub in dependant.dependencies:
        yield from _params(sub, kind)


def _walk(kind: Any, parts: Sequence[Any]) -> FieldInfo | None:
    info: FieldInfo | None = None
    for part in parts:
        model = _model_in(kind)
        if isinstance(part, int) or model is None:
            kind = _item_of(kind)
            continue
        fields = model.model_fields
        found = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
        if found is None:
            return info
        info, kind = found, found.annotation
    return info


def _model_in(kind: Any) -> type[BaseModel] | None:
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return kind
    for arg in typing.get_args(kind):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _item_of(kind: Any) -> Any:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[-1] if args else kind


# --- the pages behind the types, and the OpenAPI document --------------------------------------


def _page(kinds: Sequence[ProblemKind], heading: str) -> HTMLResponse:
    items = "".join(
        f"<h2 id='{k.slug}'>{html.escape(k.title)} <small>({k.status}, {html.escape(k.type)})</small></h2>"
        f"<p>{html.escape(k.about)}</p>"
        for k in kinds
    )
    title = html.escape(heading)
    body = f"<!doctype html><meta charset='utf-8'><title>{title}</title><h1>{title}</h1>{items}"
    return HTMLResponse(body, headers={"Content-Security-Policy": "default-src 'none'"})


def _problem_index() -> HTMLResponse:
    return _page(list(KINDS.values()), "homediag: problem types")


def _problem_kind(slug: str) -> Response:
    kind = KINDS.get(slug)
    if kind is None:
        raise HTTPException(404, "There is no problem type by that name; see /problems for the list.")
    return _page([kind], kind.title)


_SCHEMAS: Final = "#/components/schemas/"


def _describe_errors(spec: dict[str, Any]) -> None:
    """Every error answer in the OpenAPI document is a problem (``application/problem+json``):
    422 a :class:`ValidationProblemPublic`, any other a :class:`ProblemPublic` (``default``)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (ProblemPublic, ValidationProblemPublic):
        schema = model.model_json_schema(ref_template=_SCHEMAS + "{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for code, answer in responses.items():
                if code[:1] in "45":
                    name = "ValidationProblemPublic" if code == "422" else "ProblemPublic"
                    answer["content"] = {PROBLEM_JSON: {"schema": {"$ref": _SCHEMAS + name}}}
            responses.setdefault(
                "default",
                {
                    "description": "a problem (RFC 9457): see its type",
                    "content": {PROBLEM_JSON: {"schema": {"$ref": _SCHEMAS + "ProblemPublic"}}},
                },
            )
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape, now unused
        if f'"{_SCHEMAS}{unused}"' not in json.dumps(spec):
            schemas.pop(unused, None)


_Handler = Callable[[Request, Exception], Awaitable[Response]]


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem, serve the type pages, and describe both in its
    OpenAPI document."""
    handlers: dict[type[Exception], _Handler] = {
        HTTPException: _http_problem,
        RequestValidationError: _validation_problem,
        **dict.fromkeys(DOMAIN, _domain_problem),
        Exception: _unexpected,
    }
    for cls, handler in handlers.items():
        app.add_exception_handler(cls, handler)
    app.add_api_route(PROBLEMS_PATH, _problem_index, include_in_schema=False, response_class=HTMLResponse)
    app.add_api_route(f"{PROBLEMS_PATH}/{{slug}}", _problem_kind, include_in_schema=False)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _describe_errors(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
