"""One exception tree for the agent (agent/errors.py), without changing what callers catch."""

from __future__ import annotations

import errno

import pytest

from agent import probes
from agent.connectivity.icmp import IcmpUnavailable
from agent.discovery import IppError, SweepRefused
from agent.errors import AgentError


def test_discovery_and_icmp_errors_are_agent_errors_and_keep_their_old_bases() -> None:
    assert issubclass(SweepRefused, AgentError) and issubclass(SweepRefused, ValueError)
    assert issubclass(IppError, AgentError)
    unavailable = IcmpUnavailable(errno.EPERM, "no ICMP socket")
    assert isinstance(unavailable, AgentError) and isinstance(unavailable, OSError)
    assert unavailable.errno == errno.EPERM and unavailable.strerror == "no ICMP socket"
    assert IppError("Error_Timeout", "slow").status == "Error_Timeout"


@pytest.mark.parametrize("max_hops", ["thirty", "30", 2.5, True, 0, 65, None])
def test_a_bad_max_hops_is_a_config_error(max_hops: object) -> None:
    with pytest.raises(probes.ProbeConfigError):
        probes.create("traceroute", {"host": "192.0.2.1", "max_hops": max_hops})
