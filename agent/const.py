"""Defaults of the agent, in one place."""

from typing import Final

AGENT_VERSION: Final = "0.1.0"
CONFIG_ENV: Final = "HOMEDIAG_AGENT_CONFIG"
ENV_PREFIX: Final = "HOMEDIAG_AGENT_"
DEFAULT_CONFIG_PATH: Final = "/etc/homediag/agent.toml"
DEFAULT_STATE_DIR_ROOT: Final = "/var/lib/homediag"

KEY_FILE: Final = "agent-key.pem"
ENROLLMENT_FILE: Final = "enrollment.json"
OUTBOX_FILE: Final = "outbox.sqlite"
STATUS_FILE: Final = "status.json"
COMMANDS_FILE: Final = "commands.sqlite"
PLAN_FILE: Final = "plan.json"
#: The cloud's signed word that this agent is revoked (agent/revocation.py).
REVOKED_FILE: Final = "revoked.json"
TLS_KEY_FILE: Final = "tls-key.pem"
TLS_CERT_FILE: Final = "tls-cert.pem"
CA_FILE: Final = "ca.pem"

#: How often the running agent refreshes status.json for `homediag-agent status`.
STATUS_WRITE_INTERVAL_S: Final = 2.0
ENROLL_TIMEOUT_S: Final = 15.0

#: Per-device, per-class hours kept by the device_usage probe (agent/usage/flows.py).
DEVICE_USAGE_FILE = "device-usage.sqlite"
