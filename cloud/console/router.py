"""Serve the console: ``/console/`` and its assets, with headers that keep the page to itself."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, RedirectResponse, Response

STATIC: Final = Path(__file__).parent / "static"
_TYPES: Final = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}
#: Scripts and styles from this origin only, no inline script, no framing, no referrer to leak ids.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=status.HTTP_307_TEMPORARY_REDIRECT)


@router.get("/console")
@router.get("/console/")
def index() -> Response:
    # The shell is tiny and changes with every release: never cached, so a new deploy shows at once.
    return FileResponse(STATIC / "index.html", headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


@router.get("/console/{path:path}")
def asset(path: str) -> Response:
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC.resolve()) or not target.is_file() or target.suffix not in _TYPES:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail="The console has no such page or file; go back to the start page.",
        )
    return FileResponse(
        target,
        media_type=_TYPES[target.suffix],
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )
