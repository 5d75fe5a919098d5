"""mDNS/DNS-SD (RFC 6762/6763) with python-zeroconf's asyncio API: browse, enumerate, resolve.

Browses the curated types of :mod:`.const` and every type the ``_services._dns-sd._udp`` meta-query
names (up to ``MAX_TYPES``), resolves up to ``MAX_INSTANCES`` instances, and parses TXT records from
their raw bytes (RFC 6763 §6) so that binary junk, oversized or duplicate keys are bounded and
counted here instead of trusted. Runs in the caller's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

from .const import (
    CURATED_TYPES,
    MAX_HOST_NAME_LEN,
    MAX_INSTANCE_NAME_LEN,
    MAX_INSTANCES,
    MAX_INSTANCES_PER_TYPE,
    MAX_SERVICE_NAME_LEN,
    MAX_TARGET_LEN,
    MAX_TXT_KEY_LEN,
    MAX_TXT_KEYS,
    MAX_TXT_VALUE_LEN,
    MAX_TYPES,
    RECEIVE_BUFFER_BYTES,
    RESOLVE_CONCURRENCY,
    SERVICES_META_TYPE,
)
from .model import DEFAULT_HOST_TTL_S, MDNS, Service, Sighting
from .sanitize import Counters, clean_text, is_binary

_LOGGER = logging.getLogger(__name__)
#: RFC 1035 section 3.2.2/3.2.4: the SRV type (RFC 2782) and the IN class, as zeroconf's cache keys them.
_TYPE_SRV = 33
_CLASS_IN = 1


def parse_txt(raw: bytes, counters: Counters) -> dict[str, str]:
    """TXT rdata as key/value text (RFC 6763 §6.3-6.4): first key wins, junk counted and dropped."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        length = raw[pos]
        item = raw[pos + 1 : pos + 1 + length]
        pos += 1 + length
        if not item:
            continue
        key_raw, sep, value_raw = item.partition(b"=")
        if not key_raw or is_binary(key_raw):
            counters["txt_binary"] += 1
            continue
        key = clean_text(key_raw, MAX_TXT_KEY_LEN, counters, "txt_key")
        if not key or key.lower() in (k.lower() for k in out):
            counters["txt_duplicate"] += 1
            continue
        if len(out) >= MAX_TXT_KEYS:
            counters["txt_keys_dropped"] += 1
            continue
        if sep and is_binary(value_raw):
            counters["txt_binary"] += 1
            out[key] = f"<binary, {len(value_raw)} bytes>"
            continue
        out[key] = clean_text(value_raw, MAX_TXT_VALUE_LEN, counters, "txt_value") if sep else ""
    return out


def instance_name(full: str, service_type: str, counters: Counters) -> str:
    name = full[: -len(service_type) - 1] if full.endswith("." + service_type) else full
    return clean_text(name, MAX_INSTANCE_NAME_LEN, counters, "name")


def short_type(service_type: str) -> str:
    return service_type.removesuffix(".local.").removesuffix(".")


def host_name(server: str | None, counters: Counters) -> str:
    if not server:
        return ""
    return clean_text(
        server.removesuffix(".").removesuffix(".local"), MAX_HOST_NAME_LEN, counters, "hostname"
    )


def srv_fields(zeroconf: Any, name: str, info: Any, counters: Counters) -> dict[str, Any]:
    """The SRV record's target, priority, weight, TTL and arrival (wall clock) for ``name``.

    The TTL is the record's own (RFC 2782; zeroconf keeps it on the cached record, not on the
    ServiceInfo); zeroconf stamps a record with its monotonic clock in milliseconds.
    """
    fields: dict[str, Any] = {
        "target": clean_text(info.server or "", MAX_TARGET_LEN, counters, "target"),
        "priority": _uint16(info.priority),
        "weight": _uint16(info.weight),
        "ttl_s": DEFAULT_HOST_TTL_S,
        "updated": time.time(),
    }
    try:
        record = zeroconf.cache.get_by_details(name, _TYPE_SRV, _CLASS_IN)
    except Exception:  # the cache is zeroconf's: a change of it must not end the cycle
        record = None
    if record is not None:
        fields["ttl_s"] = max(0, min(int(getattr(record, "ttl", DEFAULT_HOST_TTL_S)), 2_147_483_647))
        created = getattr(record, "created", None)
        if isinstance(created, int | float):
            age_s = max(0.0, time.monotonic() - created / 1000)
            fields["updated"] = time.time() - age_s
    return fields


def _uint16(value: object) -> int:
    return value if isinstance(value, int) and 0 <= value <= 65535 else 0


def enlarge_receive_buffers(zeroconf: Any, size: int = RECEIVE_BUFFER_BYTES) -> int:
    """Give zeroconf's sockets room for bursts; returns how many sockets it could enlarge.

    A responder that floods the group fills the kernel's default 208 KB while the loop parses, and
    the kernel then drops the next datagrams, the real printer's answer among them. As root
    ``SO_RCVBUFFORCE`` passes ``net.core.rmem_max``; otherwise ``SO_RCVBUF`` up to it. zeroconf
    keeps its sockets on its engine without a public name: if that changes, we do without.
    """
    engine = getattr(zeroconf, "engine", None)
    sockets = [getattr(engine, "_listen_socket", None), *getattr(engine, "_respond_sockets", [])]
    done = 0
    for sock in {s for s in sockets if isinstance(s, socket.socket)}:
        for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if option is None:
                continue
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, size)
            except OSError:
                continue
            done += 1
            break
    return done


class MdnsCollector:
    """Collects (type, instance) pairs from browsers, bounded; used by :func:`browse`."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self.types: set[str] = set()
        self.instances: dict[tuple[str, str], None] = {}
        self.per_type: dict[str, int] = {}
        self.new_types: asyncio.Queue[str] = asyncio.Queue()

    def on_type(self, service_type: str) -> None:
        service_type = service_type.lower()
        if service_type in self.types:
            return
        if not service_type.endswith(("._tcp.local.", "._udp.local.")) or len(service_type) > 80:
            self.counters["mdns_bad_type"] += 1
            return
        if len(service_type.split(".")[0].lstrip("_")) > MAX_SERVICE_NAME_LEN:
            self.counters["mdns_bad_type"] += 1  # RFC 6763 section 7.2: 15 characters at most
            return
        if len(self.types) >= MAX_TYPES:
            self.counters["mdns_types_dropped"] += 1
            return
        self.types.add(service_type)
        self.new_types.put_nowait(service_type)

    def on_instance(self, service_type: str, name: str) -> None:
        key = (service_type, name)
        if key in self.instances:
            return
        per_type = self.per_type.get(service_type, 0)
        if len(self.instances) >= MAX_INSTANCES or per_type >= MAX_INSTANCES_PER_TYPE:
            self.counters["mdns_instances_dropped"] += 1
            return
        self.per_type[service_type] = per_type + 1
        self.instances[key] = None


async def browse(
    timeout_s: float, interface_addresses: list[str] | None = None, counters: Counters | None = None
) -> list[Sighting]:
    """Browse for ``timeout_s`` (60% listening, the rest resolving); one sighting per service address.

    ``interface_addresses`` are our addresses on the links to browse (a gateway leaves its WAN out);
    None browses on every interface.
    """
    from zeroconf import BadTypeInNameException, InterfaceChoice, IPVersion, ServiceStateChange  # noqa: PLC0415
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf  # noqa: PLC0415

    counters = counters if counters is not None else Counters()
    collector = MdnsCollector(counters)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    interfaces: Any = list(interface_addresses) if interface_addresses else InterfaceChoice.All
    aiozc = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    browsers: list[AsyncServiceBrowser] = []
    enlarge_receive_buffers(aiozc.zeroconf)

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            return
        if service_type == SERVICES_META_TYPE:
            collector.on_type(name)
        else:
            collector.on_instance(service_type, name)

    try:
        browsers.append(AsyncServiceBrowser(aiozc.zeroconf, [SERVICES_META_TYPE], handlers=[on_change]))
        for service_type in CURATED_TYPES:
            collector.on_type(service_type)
        listen_until = loop.time() + timeout_s * 0.6
        while (remaining := listen_until - loop.time()) > 0:
            try:
                first = await asyncio.wait_for(collector.new_types.get(), remaining)
            except TimeoutError:
                break
            batch = [first]
            while not collector.new_types.empty():
                batch.append(collector.new_types.get_nowait())
            # One browser per type: a query carries its known answers (RFC 6762 §7.1), and a type
            # flooded with thousands of them must not truncate or delay the questions for the others.
            browsers += [AsyncServiceBrowser(aiozc.zeroconf, [t], handlers=[on_change]) for t in batch]
        semaphore = asyncio.Semaphore(RESOLVE_CONCURRENCY)

        async def resolve(service_type: str, name: str) -> list[Sighting]:
            try:
                info = AsyncServiceInfo(service_type, name)
            except BadTypeInNameException:  # control characters: illegal in RFC 6763 §4.1.1 names
                counters["mdns_bad_instance_name"] += 1
                return []
            # Most answers carry SRV, TXT and A as additional records (RFC 6763 §12): no query needed.
            try:
                cached = info.load_from_cache(aiozc.zeroconf)
            except Exception:  # a malformed cached record: ask instead
                cached = False
            if not cached:
                async with semaphore:
                    left_ms = (deadline - loop.time()) * 1000
                    if left_ms < 50:
                        counters["mdns_unresolved"] += 1  # out of time: a flood must not stretch the cycle
                        return []
                    try:
                        if not await info.async_request(aiozc.zeroconf, left_ms):
                            counters["mdns_unresolved"] += 1
                            return []
                    except Exception as exc:  # a malformed record must not end the cycle
                        counters["mdns_resolve_errors"] += 1
                        _LOGGER.debug("resolving %r failed: %s", name, exc)
                        return []
            service = Service(
                type=short_type(service_type),
                name=instance_name(name, service_type, counters),
                port=int(info.port or 0),
                txt=parse_txt(info.text or b"", counters),
                server=host_name(info.server, counters),
                **srv_fields(aiozc.zeroconf, name, info, counters),
            )
            addresses = info.parsed_addresses(IPVersion.V4Only)[:4]
            if not addresses:
                counters["mdns_no_address"] += 1
            return [Sighting(MDNS, ip=a, hostname=service.server, services=[service]) for a in addresses]

        # Curated types first: when the semaphore is the bottleneck, they are not stuck behind a flood.
        order = sorted(collector.instances, key=lambda tn: tn[0] not in CURATED_TYPES)
        results = await asyncio.gather(*(resolve(t, n) for t, n in order))
        return [s for group in results for s in group]
    finally:
        for browser in browsers:
            await browser.async_cancel()
        await aiozc.async_close()
