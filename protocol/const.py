"""Numbers and names of the wire contract, in one place."""

from typing import Final

#: Envelope schema version. Additive fields inside bodies keep the version;
#: anything a v1 decoder would misread needs a new version.
SCHEMA_VERSION: Final = 1

#: Root of every topic. The version is in the topic so that a v2 fleet can
#: share a broker with a v1 fleet during a migration.
TOPIC_ROOT: Final = "homediag/v1/agent"

#: Largest MQTT payload either side accepts. A telemetry batch of a few
#: hundred samples fits comfortably; anything bigger is a bug or an attack.
MAX_PAYLOAD_BYTES: Final = 256 * 1024

#: Length of an Ed25519 signature once base64url-encoded without padding.
SIGNATURE_B64_LEN: Final = 86

#: Agent ids are topic levels, so they must never contain MQTT wildcards,
#: separators or anything a broker ACL pattern would treat specially.
AGENT_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{2,63}$"

#: The id the cloud uses as the sender of messages it signs.
CLOUD_SENDER: Final = "cloud"

#: Domain separation for the agent's signature on a certificate renewal request, so it can
#: never be confused with a signed message.
RENEWAL_CONTEXT: Final = b"homediag-renew\n"

MAX_SAMPLES_PER_BATCH: Final = 500
MAX_ACK_SEQS: Final = 5000
MAX_NAME_LEN: Final = 128

#: Times on the wire are seconds since the epoch, before this bound (2100-01-01T00:00:00Z): every
#: datetime type of every store holds them, so a report cannot carry a time the cloud cannot store.
MAX_UNIX_TIME: Final = 4_102_444_800.0

#: Free-form JSON in a sample's or a result's ``data``: bounds that every store (SQLite's and
#: PostgreSQL's JSON, Python's datetime and int64 columns) can hold, checked at decode.
MAX_DATA_DEPTH: Final = 8
MAX_DATA_ITEMS: Final = 20_000
MAX_DATA_TEXT_LEN: Final = 16_384
MAX_DATA_KEY_LEN: Final = 128
#: Integers fit a signed 64-bit column; floats are finite (JSON has no infinity, SQL columns none
#: that a fold could read back). The fields the cloud folds have tighter, typed bounds.
MAX_DATA_INT: Final = 2**63 - 1

#: Byte counts and other running totals in usage samples: an hour of a 100 Gbit/s line is 4.5e13,
#: so a thousand times that is no real home's figure.
MAX_BYTE_COUNT: Final = 10**16
#: A latency, response time or duration in milliseconds: an hour is already no answer.
MAX_MILLISECONDS: Final = 3_600_000.0
#: A throughput in Mbit/s (10 Tbit/s).
MAX_MBPS: Final = 10_000_000.0
