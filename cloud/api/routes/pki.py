"""The CA certificate and the CRL, public by nature, so brokers and agents can fetch them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ...enrollment import crl_pem
from ..deps import SessionDep

router = APIRouter(prefix="/pki", tags=["pki"])
PEM = "application/x-pem-file"


@router.get("/ca", response_class=Response, responses={200: {"content": {PEM: {}}}})
def ca_certificate(request: Request) -> Response:
    return Response(request.app.state.ca.pem, media_type=PEM)


@router.get("/crl", response_class=Response, responses={200: {"content": {PEM: {}}}})
def crl(request: Request, session: SessionDep) -> Response:
    return Response(crl_pem(session, request.app.state.ca), media_type=PEM)
