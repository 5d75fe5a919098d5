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
