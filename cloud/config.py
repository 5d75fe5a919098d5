"""Cloud settings: one pydantic-settings object, from ``HOMEDIAG_*`` environment variables.

Outside development it refuses to start without an explicit API token, and it
never invents secrets there (the FastAPI full-stack template's rule).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .const import (
    API_TOKEN_FILE,
    DB_FILE,
    ENV_PREFIX,
    MAX_BODY_BYTES,
    PASSWORD_HASH_CONCURRENCY,
    PASSWORD_HASH_WAIT_S,
)
from .errors import ConfigError


def make_private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents 0700, whatever the umask; return ``path``.

    The state directory holds keys, tokens and the database: under the usual umask 022 a plain
    ``mkdir`` left it 0755 for every local user to read (the XDG base directory rule for state is
    0700 too). Only what is created here is chmodded: a directory the operator made stays as it is.
    """
    missing = []
    for directory in (path, *path.parents):
        if directory.exists():
            break
        missing.append(directory)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:  # another process made it first: theirs, as they made it
            continue
        directory.chmod(0o700)
    return path


def _default_state_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/homediag-cloud")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "homediag-cloud"


class CarePlan(BaseModel):
    """A plan the care warnings may offer (``HOMEDIAG_CARE_PLANS``, a JSON list of these)."""

    name: str = Field(min_length=1, max_length=64)
    cap_gb: float = Field(gt=0)
    price: float = Field(ge=0)


class TierRule(BaseModel):
    """What one subscriber tier gets from remote assistance (configuration, see Settings.tier_policy)."""

    #: Commands that need the subscriber's consent in this tier, beyond the catalogue's own.
    consent: list[str] = []
    #: Commands this tier does not get at all (premium setup help, for instance).
    refused: list[str] = []


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    environment: Literal["development", "production"] = "development"
    state_dir: Path = Path()
    #: SQLAlchemy URL; empty means SQLite in the state directory.
    db_url: str = ""
    #: External broker (``mqtt://host:port``); empty means the embedded broker.
    broker_url: str = ""
    embedded_broker_host: str = "127.0.0.1"
    embedded_broker_port: int = 1883
    #: CA bundle to verify an ``mqtts://`` broker; empty means the system's trust store.
    broker_ca_file: str = ""
    #: The broker address handed to agents at enrollment, if it differs from ours.
    public_broker_url: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_token: SecretStr | None = None
    #: Reverse proxies whose X-Forwarded-For/-Proto are believed (addresses or networks, as JSON:
    #: ``["10.0.0.5"]``). Empty: the headers are ignored, the client is the socket's peer, which is
    #: what the login lockout counts (docs/operations.md).
    trusted_proxies: list[str] = []
    #: Request bodies beyond this many bytes are refused (413) before they are read.
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1024)
    #: Password hashes (Argon2id, 64 MiB each) at once in this process, and how long a login waits.
    password_hash_concurrency: int = Field(default=PASSWORD_HASH_CONCURRENCY, ge=1, le=64)
    password_hash_wait_s: float = Field(default=PASSWORD_HASH_WAIT_S, gt=0, le=60)
    pairing_code_ttl_s: int = 900
    #: Lifetime of agent client certificates; agents renew when a third is left.
    cert_validity_days: float = 90.0
    #: Where the CRL is written for the broker (mosquitto ``crlfile``); empty: STATE_DIR/pki/crl.pem.
    crl_file: str = ""
    #: The cloud's own client certificate and key for a broker that requires one (mTLS).
    broker_cert_file: str = ""
    broker_key_file: str = ""
    #: MQTT shared-subscription group: several ingest processes split the agents' messages.
    ingest_share_group: str = ""
    ingest_batch_max: int = 500
    ingest_batch_wait_s: float = 0.02
    log_level: str = "INFO"
    #: Remote assistance per subscriber tier (cloud/remote.py, TierRule): which commands need
    #: consent beyond the catalogue's, and which the tier does not get. As JSON in
    #: HOMEDIAG_TIER_POLICY. Homes without a subscriber follow the catalogue alone.
    tier_policy: dict[str, TierRule] = {
        "standard": TierRule(refused=["add_printer"]),
        "premium": TierRule(),
    }
    #: Retention (cloud/retention.py): raw reports and samples, then hourly roll-ups; 0 s: no job.
    retention_raw_days: float = 30.0
    retention_rollup_days: float = 400.0
    retention_interval_s: float = 3600.0
    # Proactive care (cloud/care, docs/care.md). Seconds between passes of the care loop; 0: off.
    care_interval_s: float = 300.0
    care_thresholds_percent: list[int] = [50, 75, 90, 100]
    #: An agent not seen for this long gets one "offline" notification per outage.
    care_offline_after_s: float = 6 * 3600.0
    #: SMTP relay for e-mail; empty host: no e-mail is sent (such notifications are skipped).
    care_smtp_host: str = ""
    care_smtp_port: int = 25
    care_smtp_starttls: bool = False
    care_smtp_user: str = ""
    care_smtp_password: SecretStr | None = None
    care_smtp_from: str = "care@homediag.invalid"
    care_smtp_timeout_s: float = 10.0
    #: HMAC-SHA256 key of webhook signatures; required before any webhook is sent.
    care_webhook_secret: SecretStr | None = None
    care_webhook_timeout_s: float = 10.0
    #: What webhooks may reach beyond public addresses (cloud/care/egress.py), as JSON: networks
    #: (``"10.2.0.0/16"``), endpoints (``"127.0.0.1:9000"``, ``"[::1]:9000"``) or names with a port
    #: (``"hooks.internal:443"``). Empty: loopback, private, link-local, metadata... are refused.
    care_webhook_allow: list[str] = []
    #: Bounded exponential back-off: base * 2**(attempt-1), at most max, then a dead letter.
    care_retry_attempts: int = 6
    care_retry_base_s: float = 30.0
    care_retry_max_s: float = 3600.0
    #: Plans for the next-plan-up offer, as JSON: [{"name": "Plus", "cap_gb": 400, "price": 35}].
    care_plans: list[CarePlan] = []
    care_overage_price_per_gb: float = 0.0
    care_currency: str = "EUR"
    #: Base of links in notifications (unsubscribe); empty: the API URL.
    care_public_url: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy)  # strict, as uvicorn reads it: 10.0.0.0/8, not 10.0.0.1/8
            except ValueError:
                raise ValueError(
                    f"HOMEDIAG_TRUSTED_PROXIES: {proxy[:64]!r} is not an IP address or network;"
                    " write one like 10.0.0.5 or 10.0.0.0/24"
                ) from None
        return value

    @field_validator("care_webhook_allow")
    @classmethod
    def _webhook_allow(cls, value: list[str]) -> list[str]:
        from .care.egress import policy_for  # noqa: PLC0415 - cloud.care imports this module

        try:
            policy_for(tuple(value))
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.state_dir == Path():
            self.state_dir = _default_state_dir()
        if self.environment == "production" and self.api_token is None:
            raise ValueError("HOMEDIAG_API_TOKEN must be set outside development")
        if self.api_token is not None and len(self.api_token.get_secret_value()) < 16:
            raise ValueError("HOMEDIAG_API_TOKEN must be at least 16 characters")
        return self

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.state_dir / DB_FILE}"

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def crl_path(self) -> Path:
        return Path(self.crl_file) if self.crl_file else self.pki_dir / "crl.pem"

    @property
    def uses_embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or f"mqtt://{self.embedded_broker_host}:{self.embedded_broker_port}"

    @property
    def agent_broker_url(self) -> str:
        return self.public_broker_url or self.effective_broker_url

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    def resolved_api_token(self) -> str:
        """The API token; in development one is generated once and kept in the state directory."""
        if self.api_token is not None:
            return self.api_token.get_secret_value()
        if self.environment != "development":
            raise ConfigError("no API token configured")
        path = make_private_dir(self.state_dir) / API_TOKEN_FILE
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            token = secrets.token_urlsafe(24)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(token + "\n")
            return token


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
