"""The topic scheme: one subtree per agent, ``homediag/v1/agent/{agent_id}/{channel}``.

A broker ACL such as ``pattern readwrite homediag/v1/agent/%u/#`` can thus
confine an agent to its own topics. Channels are split by direction so the ACL
can also say who may write where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .const import AGENT_ID_PATTERN, TOPIC_ROOT
from .errors import TopicMismatch

_AGENT_ID_RE = re.compile(AGENT_ID_PATTERN)


class Channel(StrEnum):
    """Last topic level. Agent -> cloud unless marked otherwise."""

    HELLO = "hello"
    TELEMETRY = "telemetry"
    RESULT = "result"
    #: Retained; the agent's last will sets it to offline.
    STATUS = "status"
    #: Cloud -> agent.
    ACK = "ack"
    #: Cloud -> agent.
    COMMAND = "cmd"


UPLINK: frozenset[Channel] = frozenset({Channel.HELLO, Channel.TELEMETRY, Channel.RESULT, Channel.STATUS})
DOWNLINK: frozenset[Channel] = frozenset({Channel.ACK, Channel.COMMAND})


def is_valid_agent_id(agent_id: str) -> bool:
    return _AGENT_ID_RE.match(agent_id) is not None


def topic_for(agent_id: str, channel: Channel) -> str:
    if not is_valid_agent_id(agent_id):
        raise TopicMismatch(f"invalid agent id {agent_id!r}")
    return f"{TOPIC_ROOT}/{agent_id}/{channel.value}"


def subscription_for(channel: Channel, share_group: str | None = None) -> str:
    """Wildcard subscription for one channel of every agent (the cloud's side).

    With ``share_group`` the subscription is an MQTT shared subscription, so
    several ingest workers split the load.
    """
    topic = f"{TOPIC_ROOT}/+/{channel.value}"
    return f"$share/{share_group}/{topic}" if share_group else topic


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    agent_id: str
    channel: Channel


def parse_topic(topic: str) -> ParsedTopic:
    """Split a concrete topic into agent id and channel, or raise TopicMismatch."""
    prefix = TOPIC_ROOT + "/"
    if not topic.startswith(prefix):
        raise TopicMismatch(f"topic outside {TOPIC_ROOT}: {topic[:80]!r}")
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 2:
        raise TopicMismatch(f"unexpected topic depth: {topic[:80]!r}")
    agent_id, channel = parts
    if not is_valid_agent_id(agent_id):
        raise TopicMismatch(f"invalid agent id in topic: {agent_id[:80]!r}")
    try:
        return ParsedTopic(agent_id, Channel(channel))
    except ValueError:
        raise TopicMismatch(f"unknown channel {channel[:40]!r}") from None
