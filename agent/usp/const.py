"""Constants of the USP agent: TR-369 error codes, versions, limits and defaults."""

from __future__ import annotations

from typing import Final

#: The USP versions this agent answers in (GetSupportedProtocol); records of other versions are
#: still read, and answered in the version they came in.
SUPPORTED_VERSIONS: Final = ("1.2", "1.3", "1.4")
DEFAULT_VERSION: Final = "1.4"

#: Largest record accepted (bytes); a bigger one is dropped and counted. Controllers ask with
#: path lists; 64 KiB holds thousands of paths.
MAX_RECORD_BYTES: Final = 64 * 1024
#: Largest record sent: a Get of the whole model on a busy home is a few hundred KiB at most.
MAX_SENT_RECORD_BYTES: Final = 4 * 1024 * 1024
#: Paths in one request, subscriptions and requests kept: bounded so no controller fills memory.
MAX_PATHS_PER_REQUEST: Final = 256
MAX_SUBSCRIPTIONS: Final = 64
MAX_REQUESTS: Final = 16
#: Host keys remembered with their instance numbers before those of hosts gone are forgotten.
MAX_KNOWN_HOSTS: Final = 4096
#: How often the Hosts table is read for ValueChange on ``Device.Hosts.Host.{i}.Active``.
VALUE_CHANGE_POLL_S: Final = 5.0

#: The MQTT binding (TR-369 section "MQTT Binding"): the CONNECT user property naming us, and the
#: Content Type of every USP record published.
ENDPOINT_ID_PROPERTY: Final = "usp-endpoint-id"
CONTENT_TYPE: Final = "usp.msg"

#: The local audit of every controller action, beside the agent's other state (JSON lines).
AUDIT_FILE: Final = "usp-audit.jsonl"
AUDIT_MAX_BYTES: Final = 1024 * 1024
#: Subscriptions a controller made ``Persistent``, kept across restarts (so ``Boot!`` reaches it).
SUBSCRIPTIONS_FILE: Final = "usp-subscriptions.json"

#: TR-369 error codes used here (section "Error Codes").
ERR_MESSAGE_FAILED: Final = 7000
ERR_MESSAGE_NOT_SUPPORTED: Final = 7001
ERR_REQUEST_DENIED: Final = 7002
ERR_INTERNAL: Final = 7003
ERR_INVALID_ARGUMENTS: Final = 7004
ERR_RESOURCES_EXCEEDED: Final = 7005
ERR_PERMISSION_DENIED: Final = 7006
ERR_INVALID_PATH_SYNTAX: Final = 7008
ERR_UNSUPPORTED_PARAMETER: Final = 7010
ERR_INVALID_TYPE: Final = 7011
ERR_INVALID_VALUE: Final = 7012
ERR_NOT_WRITABLE: Final = 7013
ERR_OBJECT_NOT_EXIST: Final = 7016
ERR_OBJECT_NOT_CREATED: Final = 7017
ERR_NOT_A_TABLE: Final = 7018
ERR_NOT_CREATABLE: Final = 7019
ERR_REQUIRED_PARAM_FAILED: Final = 7021
ERR_COMMAND_FAILURE: Final = 7022
ERR_DUPLICATE_KEY: Final = 7025
ERR_INVALID_PATH: Final = 7026
ERR_INVALID_COMMAND_ARGS: Final = 7027
