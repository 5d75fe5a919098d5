"""Per-device, per-class usage from flow metadata: who moved how many bytes of what kind, per hour.

Input is flow *counters* (a connection's 5-tuple and its byte and packet counts, as the kernel's
connection tracking keeps them); there is no payload anywhere in this module. What leaves the home
is per device (MAC), per traffic class and per hour: bytes each way, new flows, the number of
distinct remote hosts and of outbound SMTP connections. Remote addresses stay here, and only as
keyed hashes, kept just long enough to count them (see :class:`DeviceHours`).

Bytes are IP-layer bytes (IP and transport headers included, link-layer framing not), which is what
crossed the gateway; the lab measured the header share at under 0.2% for bulk TCP, because the
gateway sees GRO-coalesced packets (docs/usage.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TCP, UDP, ICMP, GRE, ESP = 6, 17, 1, 47, 50

#: The classes a flow can fall in; the cloud's detector keys on these names.
CLASSES = ("web", "video", "gaming", "calls", "mail", "smtp", "dns", "vpn", "p2p", "other")

#: Outbound port 25 is a mail server talking to another: the spambot signal, a class of its own.
SMTP_PORT = 25

_PORT_CLASSES: list[tuple[str, frozenset[int], Iterable[int]]] = [
    ("dns", frozenset({TCP, UDP}), (53, 853, 5353)),
    ("smtp", frozenset({TCP}), (SMTP_PORT,)),
    ("mail", frozenset({TCP}), (110, 143, 465, 587, 993, 995)),
    ("web", frozenset({TCP}), (80, 443, 8080, 8443)),
    ("web", frozenset({UDP}), (443,)),  # QUIC
    ("video", frozenset({TCP, UDP}), (554, 1935, 8554)),  # RTSP, RTMP
    ("calls", frozenset({UDP, TCP}), (3478, 3479, 3480, 3481, 5060, 5061, *range(8801, 8811), 19302)),
    ("gaming", frozenset({UDP, TCP}), (3074, 3658, 25565, *range(27015, 27031), 9308)),
    ("vpn", frozenset({UDP}), (500, 4500, 1194, 51820)),
    ("vpn", frozenset({TCP}), (1194, 1723)),
    ("p2p", frozenset({TCP, UDP}), (*range(6881, 6890), 51413, 4662, 4672)),
]
_BY_PORT: dict[tuple[int, int], str] = {}
for _cls, _protos, _ports in _PORT_CLASSES:
    for _proto in _protos:
        for _port in _ports:
            _BY_PORT.setdefault((_proto, _port), _cls)


def classify(proto: int, remote_port: int) -> str:
    """The traffic class of a flow from its protocol and the remote (service) port."""
    if proto in (GRE, ESP):
        return "vpn"
    return _BY_PORT.get((proto, remote_port), "other")


@dataclass(frozen=True, slots=True)
class Flow:
    """One tracked connection as the gateway sees it, already oriented to the home device."""

    key: str  # stable for the connection's life (conntrack id + tuple)
    proto: int
    device_ip: str
    remote_ip: str
    remote_port: int
    bytes_tx: int  # device to remote, cumulative
    bytes_rx: int  # remote to device, cumulative
    packets_tx: int = 0
    packets_rx: int = 0


def orient(
    proto: int,
    orig: tuple[str, int, str, int],
    reply: tuple[str, int, str, int],
    counters: tuple[int, int, int, int],
    *,
    lan: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    local: set[str],
) -> tuple[str, str, int, int, int, int, int] | None:
    """(device_ip, remote_ip, remote_port, tx, rx, packets tx, packets rx) of a connection, or None.

    ``orig``/``reply`` are (src, sport, dst, dport); ``counters`` are orig bytes, orig packets, reply
    bytes, reply packets. A connection a home device opened has the device as the original source;
    one forwarded to it (a port forward) has the device as the reply's source. Connections to or
    from the gateway itself and ones between two home devices are not the line's traffic.
    """
    o_src, _o_sport, o_dst, o_dport = orig
    r_src, r_sport, _r_dst, _r_dport = reply
    ob, op, rb, rp = counters

    def in_lan(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in lan)

    if not_routed(o_dst):
        return None  # multicast, broadcast, link-local: never crossed the line
    if in_lan(o_src) and o_src not in local:
        if in_lan(o_dst) or o_dst in local or (in_lan(r_src) and r_src not in local):
            return None  # to the gateway itself, or device to device
        return o_src, o_dst, o_dport, ob, rb, op, rp
    if in_lan(r_src) and r_src not in local and not in_lan(o_src) and o_src not in local:
        return r_src, o_src, r_sport, rb, ob, rp, op
    return None


def not_routed(address: str) -> bool:
    """Multicast, broadcast and link-local destinations stay on the LAN (mDNS, SSDP, DHCP)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True
    return ip.is_multicast or ip.is_link_local or ip == ipaddress.IPv4Address("255.255.255.255")


@dataclass
class Totals:
    bytes_rx: int = 0
    bytes_tx: int = 0
    packets_rx: int = 0
    packets_tx: int = 0
    flows: int = 0
    smtp_connections: int = 0


_SCHEMA = """
CREATE TABLE IF NOT EXISTS device_hours (
    hour INTEGER NOT NULL, device TEXT NOT NULL, class TEXT NOT NULL,
    bytes_rx INTEGER NOT NULL, bytes_tx INTEGER NOT NULL, flows INTEGER NOT NULL,
    packets_rx INTEGER NOT NULL DEFAULT 0, packets_tx INTEGER NOT NULL DEFAULT 0,
    smtp INTEGER NOT NULL, dirty INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (hour, device, class));
CREATE TABLE IF NOT EXISTS remote_hosts (
    hour INTEGER NOT NULL, device TEXT NOT NULL, class TEXT NOT NULL, host BLOB NOT NULL,
    PRIMARY KEY (hour, device, class, host)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_addresses (
    device TEXT NOT NULL, ip TEXT NOT NULL, seen INTEGER NOT NULL, PRIMARY KEY (device, ip));
CREATE TABLE IF NOT EXISTS flow_counters (
    key BLOB PRIMARY KEY, tx INTEGER, rx INTEGER, ptx INTEGER, prx INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB);
"""

#: How long the hashed remote addresses are kept: long enough to count an hour's distinct hosts.
REMOTE_RETENTION_S = 2 * 3600
#: How long hourly rows are kept on the agent after they were sent (for `homediag-agent usage`).
HOUR_RETENTION_S = 62 * 86400


class DeviceHours:
    """Hourly per-device, per-class totals on disk, and the last counters of each live flow.

    Everything a restart needs is in one SQLite file written in one transaction per poll: the hours,
    the counters each flow had at the last poll (so a restart neither re-counts a flow's history nor
    loses its growth) and the distinct remote hosts of recent hours, as keyed BLAKE2 hashes with a
    salt that never leaves the device.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        schema = sqlite3.connect(path, timeout=10)
        try:
            schema.executescript(_SCHEMA)  # commits on its own; IF NOT EXISTS makes it idempotent
        finally:
            schema.close()
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE name = 'salt'").fetchone()
            if row is None:
                self._salt = secrets.token_bytes(16)
                db.execute("INSERT INTO meta VALUES ('salt', ?)", (self._salt,))
            else:
                self._salt = bytes(row[0])

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before the first read (BEGIN IMMEDIATE): two pollers can never
        both read a connection's old counters and both add its growth."""
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def _hash(self, address: str) -> bytes:
        return hashlib.blake2b(address.encode(), key=self._salt, digest_size=12).digest()

    def update(self, flows: Iterable[Flow], macs: dict[str, str], now: float) -> dict[str, int]:
        """Fold one poll of the flow table into the current hour; returns what it counted."""
        hour = int(now // 3600 * 3600)
        counted = {"flows": 0, "new_flows": 0, "unattributed": 0, "baseline": 0}
        flows = list(flows)
        with self._connect() as db:
            last = {r[0]: r[1:] for r in db.execute("SELECT key, tx, rx, ptx, prx FROM flow_counters")}
            # The first poll ever is a baseline: what live connections moved before the agent was
            # installed is not this agent's to count. After it, restarts resume from saved counters.
            first = db.execute("SELECT 1 FROM meta WHERE name = 'baseline'").fetchone() is None
            if first:
                db.execute("INSERT INTO meta VALUES ('baseline', ?)", (int(now),))
                db.executemany(
                    "INSERT INTO flow_counters VALUES (?, ?, ?, ?, ?)",
                    [(self._hash(f.key), f.bytes_tx, f.bytes_rx, f.packets_tx, f.packets_rx) for f in flows],
                )
                counted["baseline"] = 1
                return counted
            seen: dict[bytes, tuple[int, int, int, int]] = {}
            add: dict[tuple[str, str], Totals] = {}
            hosts: set[tuple[str, str, bytes]] = set()
            addresses: set[tuple[str, str]] = set()
            for flow in flows:
                counted["flows"] += 1
                key = self._hash(flow.key)  # the key holds the remote address: never stored in clear
                current = (flow.bytes_tx, flow.bytes_rx, flow.packets_tx, flow.packets_rx)
                seen[key] = current
                device = macs.get(flow.device_ip)
                if device is None:
                    counted["unattributed"] += 1
                    device = "other"
                else:
                    addresses.add((device, flow.device_ip))
                cls = classify(flow.proto, flow.remote_port)
                totals = add.setdefault((device, cls), Totals())
                previous = last.get(key)
                if previous is None:
                    totals.flows += 1
                    counted["new_flows"] += 1
                    if cls == "smtp":
                        totals.smtp_connections += 1
                    previous = (0, 0, 0, 0)
                # A counter below the last one is a reused key: the connection's whole count is new.
                grown = [c - p if c >= p else c for c, p in zip(current, previous, strict=True)]
                totals.bytes_tx += grown[0]
                totals.bytes_rx += grown[1]
                totals.packets_tx += grown[2]
                totals.packets_rx += grown[3]
                hosts.add((device, cls, self._hash(flow.remote_ip)))
            db.execute("DELETE FROM flow_counters")
            db.executemany(
                "INSERT INTO flow_counters VALUES (?, ?, ?, ?, ?)", [(k, *v) for k, v in seen.items()]
            )
            db.executemany(
                "INSERT INTO device_hours (hour, device, class, bytes_rx, bytes_tx, packets_rx, packets_tx,"
                " flows, smtp, dirty) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (hour, device, class)"
                " DO UPDATE SET bytes_rx = bytes_rx + excluded.bytes_rx,"
                " bytes_tx = bytes_tx + excluded.bytes_tx, packets_rx = packets_rx + excluded.packets_rx,"
                " packets_tx = packets_tx + excluded.packets_tx, flows = flows + excluded.flows,"
                " smtp = smtp + excluded.smtp, dirty = 1",
                [
                    (
                        hour,
                        d,
                        c,
                        t.bytes_rx,
                        t.bytes_tx,
                        t.packets_rx,
                        t.packets_tx,
                        t.flows,
                        t.smtp_connections,
                    )
                    for (d, c), t in add.items()
                    if t.bytes_rx or t.bytes_tx or t.flows
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO remote_hosts VALUES (?, ?, ?, ?)", [(hour, *h) for h in hosts]
            )
            db.executemany(
                "INSERT INTO device_addresses VALUES (?, ?, ?)"
                " ON CONFLICT (device, ip) DO UPDATE SET seen = ?",
                [(d, ip, int(now), int(now)) for d, ip in addresses],
            )
            db.execute("DELETE FROM remote_hosts WHERE hour < ?", (hour - REMOTE_RETENTION_S,))
            db.execute("DELETE FROM device_addresses WHERE seen < ?", (int(now) - HOUR_RETENTION_S,))
            db.execute("DELETE FROM device_hours WHERE hour < ? AND dirty = 0", (hour - HOUR_RETENTION_S,))
        return counted

    def take_dirty(self) -> list[dict[str, Any]]:
        """The hours that changed since the last report, as running totals (TR-181-style names).

        Totals, not increments: the cloud keeps the greatest value of each, so a report sent twice
        or out of order cannot double-count. Rows are marked clean only by :meth:`mark_sent`.
        """
        with self._connect() as db:
            rows = db.execute(
                "SELECT h.hour, h.device, h.class, h.bytes_rx, h.bytes_tx, h.packets_rx, h.packets_tx,"
                " h.flows, h.smtp,"
                " (SELECT count(*) FROM remote_hosts r WHERE r.hour = h.hour AND r.device = h.device"
                "  AND r.class = h.class) FROM device_hours h WHERE h.dirty = 1 ORDER BY h.hour, h.device"
            ).fetchall()
            ips: dict[str, list[str]] = {}
            for device, ip in db.execute("SELECT device, ip FROM device_addresses ORDER BY seen DESC"):
                ips.setdefault(device, []).append(ip)
        return [
            {
                "Hour": hour,
                "PhysAddress": device,
                "IPAddress": ips.get(device, [])[:8],
                "Class": cls,
                "BytesReceived": rx,
                "BytesSent": tx,
                "PacketsReceived": prx,
                "PacketsSent": ptx,
                "Flows": flows,
                "RemoteHosts": remote,
                "SMTPConnections": smtp,
            }
            for hour, device, cls, rx, tx, prx, ptx, flows, smtp, remote in rows
        ]

    def mark_sent(self, rows: list[dict[str, Any]]) -> None:
        """Clean the rows a sample carried, unless they grew since (then they stay dirty)."""
        with self._connect() as db:
            db.executemany(
                "UPDATE device_hours SET dirty = 0 WHERE hour = ? AND device = ? AND class = ?"
                " AND bytes_rx = ? AND bytes_tx = ? AND flows = ?",
                [
                    (r["Hour"], r["PhysAddress"], r["Class"], r["BytesReceived"], r["BytesSent"], r["Flows"])
                    for r in rows
                ],
            )

    def breakdown(self, since: float, until: float) -> list[dict[str, Any]]:
        """Per device: bytes each way and per class, between two instants (for the CLI)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT device, class, sum(bytes_rx), sum(bytes_tx), sum(packets_rx), sum(packets_tx),"
                " sum(flows) FROM device_hours"
                " WHERE hour >= ? AND hour < ? GROUP BY device, class",
                (int(since // 3600 * 3600), until),
            ).fetchall()
        devices: dict[str, dict[str, Any]] = {}
        for device, cls, rx, tx, prx, ptx, flows in rows:
            entry = devices.setdefault(
                device,
                {
                    "device": device,
                    "bytes_rx": 0,
                    "bytes_tx": 0,
                    "packets_rx": 0,
                    "packets_tx": 0,
                    "classes": {},
                },
            )
            entry["bytes_rx"] += rx
            entry["bytes_tx"] += tx
            entry["packets_rx"] += prx
            entry["packets_tx"] += ptx
            entry["classes"][cls] = {"bytes_rx": rx, "bytes_tx": tx, "flows": flows}
        return sorted(devices.values(), key=lambda d: -(d["bytes_rx"] + d["bytes_tx"]))
