"""Defaults of the cloud, in one place."""

from typing import Final

CLOUD_VERSION: Final = "0.1.0"
ENV_PREFIX: Final = "HOMEDIAG_"
CLOUD_KEY_FILE: Final = "cloud-key.pem"
API_TOKEN_FILE: Final = "api-token"  # noqa: S105 - a file name
DB_FILE: Final = "homediag.sqlite"
#: HS256 key of the API's access tokens (32 random bytes, generated once, 0600).
TOKEN_KEY_FILE: Final = "token-key"  # noqa: S105 - a file name

#: Accounts (issue 9): token lifetimes and login lockout (docs/security.md).
ACCESS_TOKEN_TTL_S: Final = 15 * 60
REFRESH_TOKEN_TTL_S: Final = 14 * 86400
LOGIN_FAILURES_PER_ACCOUNT: Final = 5
LOGIN_FAILURES_PER_SOURCE: Final = 20
LOGIN_LOCKOUT_WINDOW_S: Final = 15 * 60
#: Argon2id takes 64 MiB and ~0.2 s of a core per check: at most this many at once in a process;
#: a login that waits longer than the wait for a turn is answered 503 with Retry-After (issue 17).
PASSWORD_HASH_CONCURRENCY: Final = 2
PASSWORD_HASH_WAIT_S: Final = 5.0

#: Request bodies beyond this are refused with 413 before they are read (issue 17); routes that
#: need more say so in ``cloud/api/app.py`` (the speed-test upload bounds itself).
MAX_BODY_BYTES: Final = 1024 * 1024

#: Crockford's base32 alphabet without I, L, O, U: no letter a subscriber can misread.
PAIRING_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAIRING_CODE_GROUPS: Final = 2
PAIRING_CODE_GROUP_LEN: Final = 4

INGEST_BATCH_MAX: Final = 500
INGEST_BATCH_WAIT_S: Final = 0.02
#: An unknown agent id is looked up in the database at most this often.
UNKNOWN_AGENT_RECHECK_S: Final = 5.0
#: A known agent's key (and revocation) is re-read from the database at least this often.
KEY_CACHE_TTL_S: Final = 10.0

#: Speed-test endpoints (issue 5): what one anonymous request may cost, and how many run at once.
SPEEDTEST_CHUNK_BYTES: Final = 64 * 1024
SPEEDTEST_MAX_BYTES: Final = 10 * 10**9
SPEEDTEST_MAX_DURATION_S: Final = 30.0
SPEEDTEST_MAX_STREAMS: Final = 64

#: Where the public API is mounted (the console and its auth cookie are scoped to it).
API_PREFIX: Final = "/api/v1"

#: Messages the ingest keeps in memory while the database is slow or down; beyond it a message is
#: refused unacknowledged (its agent re-sends it later), so an outage cannot exhaust memory.
INGEST_MAX_PENDING: Final = 20_000
#: The writer's back-off while the database does not answer.
INGEST_RETRY_MIN_S: Final = 1.0
INGEST_RETRY_MAX_S: Final = 30.0
#: How often a revoked agent that keeps sending is told, signed, that it is revoked.
REVOKED_NOTICE_INTERVAL_S: Final = 60.0

#: An audit row's details, JSON-encoded, are at most this big (issue 17: refused commands were
#: audited with 20 MiB of parameters); beyond it values are cut and marked, whoever the caller.
AUDIT_DETAILS_MAX_BYTES: Final = 8 * 1024
#: Live command streams (server-sent events, issue 17): each is an open socket and a read every
#: poll, so a login holds a few and a process a bounded number; beyond either, 429.
COMMAND_STREAMS_PER_LOGIN: Final = 4
COMMAND_STREAMS_MAX: Final = 200
COMMAND_STREAM_RETRY_AFTER_S: Final = 5
#: A stream polls often while a command moves and backs off while it waits, and ends after this
#: long at most (the console then reads the command once, as after any cut stream).
COMMAND_STREAM_POLL_MIN_S: Final = 0.25
COMMAND_STREAM_POLL_MAX_S: Final = 2.0
COMMAND_STREAM_MAX_S: Final = 300.0
#: The audit log pages: a page holds at most this many rows (each at most the bound above).
AUDIT_PAGE_MAX: Final = 500
