"""API input and output models, kept apart from the storage models so internal fields never leak."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError


class Input(BaseModel):
    """A request body. Its text may not hold NUL: PostgreSQL refuses it in text and JSON columns,
    so it would be a server error at the first write (issue 17); SQLite would store it."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise PydanticCustomError("nul", "Remove the NUL character: text cannot hold it.")
        return value


class EnrollmentCreate(Input):
    code: str = Field(min_length=4, max_length=32)
    public_key: str = Field(min_length=40, max_length=64)
    hostname: str = Field(default="", max_length=255)
    platform: str = Field(default="", max_length=128)
    agent_version: str = Field(default="", max_length=128)
    #: PEM certificate signing request for the agent's TLS key.
    csr: str = Field(min_length=100, max_length=8192)


class EnrollmentPublic(BaseModel):
    agent_id: str
    broker_url: str
    #: Cloud signing keys to pin (the active one, and the next one during a rotation).
    cloud_public_keys: list[str]
    certificate: str
    ca_certificate: str


class PairingCodeCreate(Input):
    subscriber: str = Field(default="", max_length=128)
    #: The household the new agent joins (``/api/v1/subscribers``); a subscriber's own login
    #: always gets a code for its own household.
    subscriber_id: str | None = Field(default=None, max_length=32)
    note: str = Field(default="", max_length=255)
    ttl_s: int = Field(default=900, ge=60, le=7 * 86400)


class PairingCodePublic(BaseModel):
    code: str
    expires_at: datetime


class CertificateRenewal(Input):
    csr: str = Field(min_length=100, max_length=8192)
    #: The agent's Ed25519 signature (base64url) of ``homediag-renew\n`` + the CSR's bytes.
    signature: str = Field(min_length=86, max_length=86)


class CertificatePublic(BaseModel):
    certificate: str
    ca_certificate: str


class AgentPublic(BaseModel):
    agent_id: str
    hostname: str
    platform: str
    agent_version: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    online: bool
    status_changed_at: datetime | None
    revoked: bool
    #: The operator and household the home belongs to (None: enrolled before accounts).
    tenant_id: str | None = None
    subscriber_id: str | None = None


class SamplePublic(BaseModel):
    probe: str
    at: datetime
    status: str
    data: dict[str, Any]


class LatestTelemetry(BaseModel):
    agent_id: str
    probes: dict[str, SamplePublic]


class SamplesPage(BaseModel):
    agent_id: str
    samples: list[SamplePublic]


class IngestStatsPublic(BaseModel):
    running: bool
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    batches: int = 0
    acks_sent: int = 0
    dropped_by_agents: int = 0
    #: Reports set aside and acknowledged (``GET /quarantine``), database outages the writer
    #: waited out, and signed "revoked" answers sent to agents that keep sending.
    quarantined: int = 0
    store_retries: int = 0
    revoked_notices: int = 0
    rejected: dict[str, int] = {}
