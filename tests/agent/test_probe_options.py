"""Every probe's options are a msgspec Struct: unknown keys refused, bounds in the types, the defaults
the config file always had, and an error a person can read that names the option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent import ConfigError, load_config, probes
from agent.discovery import SweepOptions
from agent.probes import ProbeConfigError, create
from agent.probes.base import ProbeOptions
from agent.probes.connectivity import ConnectivityProbe
from agent.probes.ping import PingProbe
from agent.probes.throughput import DownloadProbe

#: A probe's required options, the least it can be created with.
REQUIRED: dict[str, dict[str, Any]] = {
    "ping": {"host": "192.0.2.1"},
    "traceroute": {"host": "192.0.2.1"},
    "dns": {"names": ["example.com"]},
    "http": {"urls": ["http://192.0.2.1/"]},
    "download": {"url": "http://192.0.2.1/speedtest"},
    "upload": {"url": "http://192.0.2.1/speedtest"},
}

#: What each probe keeps of its defaults: the values before the options became Structs.
DEFAULTS: dict[str, dict[str, Any]] = {
    "netdev": {"interval_s": 60.0, "include": frozenset(), "skip_loopback": False},
    "usage": {"interval_s": 60.0, "interface": ""},
    "device_usage": {
        "interval_s": 5.0,
        "report_s": 60.0,
        "enable_accounting": False,
        "wan": None,
        "lan": None,
        "method": "conntrack",
        "interface": None,
    },
    "ping": {"interval_s": 60.0, "count": 4, "timeout_s": 1.0, "echo_interval_s": 0.2, "method": "auto"},
    "traceroute": {"interval_s": 3600.0, "max_hops": 30, "method": "auto"},
    "dns": {"interval_s": 300.0, "names": ["example.com"], "server": None, "timeout_s": 2.0},
    "http": {"interval_s": 300.0, "urls": ["http://192.0.2.1/"]},
    "download": {
        "interval_s": 6 * 3600.0,
        "duration_s": 10.0,
        "connections": 4,
        "busy_threshold_mbit": 1.0,
        "busy_policy": "refuse",
    },
    "upload": {"interval_s": 6 * 3600.0, "duration_s": 10.0, "connections": 4, "busy_policy": "refuse"},
    "discovery": {
        "interval_s": 300.0,
        "timeout_s": 5.0,
        "interface": None,
        "full_every_s": 3600.0,
        "sweep": SweepOptions(enabled=True, rate_pps=2000.0, max_hosts=1024, allow_public=False),
    },
    "wifi": {"interval_s": 60.0, "interface": None},
    "connectivity": {
        "interval_s": 60.0,
        "gateway": None,
        "targets": [],
        "dns_names": [],
        "dns_server": None,
        "count": 20,
        "echo_interval_s": 0.5,
        "timeout_s": 1.0,
        "loss_pct": 2.0,
        "latency_ms": 100.0,
        "jitter_ms": 30.0,
        "dns_ms": 300.0,
        "method": "auto",
    },
}


def _message(cls: type[ProbeOptions], field: str) -> str | None:
    for klass in cls.__mro__:
        message = vars(klass).get("messages", {}).get(field)
        if message:
            return str(message)
    return None


def test_every_probe_has_a_struct_that_refuses_unknown_keys_and_words_for_every_field() -> None:
    assert set(DEFAULTS) == set(probes.registered())
    for name, cls in probes.registered().items():
        options = cls.Options
        assert issubclass(options, ProbeOptions) and options is not ProbeOptions, name
        assert options.__struct_config__.forbid_unknown_fields, name
        missing = [f for f in options.__struct_fields__ if _message(options, f) is None]
        assert not missing, f"{name}: no message for {missing}"


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_the_defaults_are_unchanged(name: str) -> None:
    probe = create(name, REQUIRED.get(name, {}))
    assert probe.enabled is True
    kept = {key: getattr(probe, key) for key in DEFAULTS[name]}
    assert kept == DEFAULTS[name]
    assert isinstance(probe.interval_s, float)


@pytest.mark.parametrize(
    ("name", "options", "words"),
    [
        ("netdev", {"interval_s": 0}, "netdev: interval_s must be between 0.05 and 86400 seconds"),
        ("netdev", {"interval_s": True}, "netdev: interval_s must be between 0.05 and 86400 seconds"),
        ("netdev", {"bogus": 1, "also": 2}, "netdev: unknown options ['also', 'bogus']"),
        ("netdev", {"interfaces": "eth0"}, "netdev: interfaces must be a list of interface names"),
        ("netdev", {"enabled": "no"}, "netdev: enabled must be true or false"),
        ("ping", {}, "ping: host is required"),
        ("ping", {"host": ""}, "ping: host is required"),
        ("ping", {"host": "h", "count": 2.5}, "ping: count must be an integer in [1, 1000]"),
        ("ping", {"host": "h", "timeout_s": 11}, "ping: timeout_s must be a number in [0.01, 10]"),
        ("ping", {"host": "h", "method": "pigeon"}, "ping: method must be one of auto, ICMPRaw"),
        ("traceroute", {"host": "h", "max_hops": "30"}, "traceroute: max_hops must be a whole number"),
        ("traceroute", {"host": "h", "method": "TCPConnect"}, "traceroute: needs ICMP"),
        ("dns", {"names": []}, "dns: names must be a non-empty list of host names"),
        ("dns", {"names": ["a"], "server": 53}, "dns: server must be a string"),
        ("http", {"urls": ["ftp://x/"]}, "http: ftp://x/ is not an http(s) URL"),
        ("download", {"url": "https://x/"}, "download: url must be the cloud's http:// speed-test URL"),
        ("upload", {"url": "http://x/", "connections": 17}, "upload: duration_s in [1, 60] and connections"),
        ("upload", {"url": "http://x/", "busy_policy": "maybe"}, "upload: busy_policy is flag or refuse"),
        ("device_usage", {"lan": ["10.0.0.0/8", "x"]}, "device_usage: lan: 'x' does not appear"),
        ("device_usage", {"method": "tcpdump"}, "device_usage: method must be conntrack or capture"),
        ("device_usage", {"enable_accounting": 1}, "device_usage: enable_accounting must be true or false"),
        ("discovery", {"timeout_s": "3"}, "discovery: timeout_s must be a number between 1.0 and 60.0"),
        ("discovery", {"arp_sweep": "yes"}, "discovery: arp_sweep and allow_public are true or false"),
        ("discovery", {"max_hosts": 0}, "discovery: max_hosts must be a number between 1 and 65534"),
        ("wifi", {"interface": 1}, "wifi: interface must be a string"),
        ("usage", {"interface": ["eth0"]}, "usage: interface must be a string"),
        ("connectivity", {"targets": ["a", ""]}, "connectivity: targets must be a list of host names"),
        ("connectivity", {"count": 0}, "connectivity: count in [1, 1000], echo_interval_s in [0.002, 10]"),
        ("connectivity", {"interval_s": 1, "count": 100}, "connectivity: count * echo_interval_s must fit"),
    ],
)
def test_a_bad_option_is_named_in_plain_words(name: str, options: dict[str, Any], words: str) -> None:
    with pytest.raises(ProbeConfigError) as caught:
        create(name, options)
    text = str(caught.value)
    assert text.startswith(words)
    assert "Expected" not in text and "$." not in text, "no msgspec developer text"
    assert isinstance(caught.value, ConfigError)


def test_environment_overrides_still_reach_the_probes(tmp_path: Path) -> None:
    """config.py reads an override as a TOML scalar (3600 is a number, 192.0.2.1 a string)."""
    path = tmp_path / "agent.toml"
    path.write_text("")
    config = load_config(
        path,
        environ={
            "HOMEDIAG_AGENT_PROBES__NETDEV__INTERVAL_S": "3600",
            "HOMEDIAG_AGENT_PROBES__USAGE__ENABLED": "0",
            "HOMEDIAG_AGENT_PROBES__PING__HOST": "192.0.2.1",
            "HOMEDIAG_AGENT_PROBES__PING__COUNT": "3",
            "HOMEDIAG_AGENT_PROBES__PING__ENABLED": "false",
            "HOMEDIAG_AGENT_PROBES__CONNECTIVITY__TARGETS": '["192.0.2.1"]',
        },
    )
    made = {name: create(name, options) for name, options in config.probes.items()}
    ping, connectivity = made["ping"], made["connectivity"]
    assert isinstance(ping, PingProbe) and isinstance(connectivity, ConnectivityProbe)
    assert made["netdev"].interval_s == 3600.0
    assert made["usage"].enabled is False and ping.enabled is False
    assert (ping.host, ping.count) == ("192.0.2.1", 3)
    assert connectivity.targets == ["192.0.2.1"]


def test_probes_that_read_numbers_with_float_still_take_them_as_strings() -> None:
    connectivity = create("connectivity", {"count": "10", "echo_interval_s": "0.1", "timeout_s": "2"})
    assert isinstance(connectivity, ConnectivityProbe)
    assert (connectivity.count, connectivity.echo_interval_s, connectivity.timeout_s) == (10, 0.1, 2.0)
    download = create("download", {"url": "http://x/", "duration_s": "5", "connections": "2"})
    assert isinstance(download, DownloadProbe)
    assert (download.duration_s, download.connections) == (5.0, 2)
    with pytest.raises(ProbeConfigError, match="max_hops"):  # elsewhere a number is a TOML number
        create("traceroute", {"host": "h", "max_hops": "30"})
