"""Where the cloud may connect on a tenant's say-so: the egress policy of care webhooks.

A webhook URL is typed in by a tenant's administrator, and the cloud POSTs to it. Without a
policy that makes the cloud a proxy into its own network: its admin ports on loopback, the
database on the private network, the cloud provider's metadata service (issue 17, finding 5;
docs/security.md). So only globally routable unicast addresses are connected to. Refused, each
with a reason an administrator can read:

- loopback, unspecified, broadcast, multicast;
- private (RFC 1918, unique-local fc00::/7, site-local), shared CGNAT space (RFC 6598),
  link-local (169.254/16, fe80::/10);
- documentation, benchmarking and other reserved ranges (IANA special-purpose registries);
- the metadata services of the big clouds (``const.METADATA_ADDRESSES``);
- an IPv6 address that carries an IPv4 one (mapped, compatible, 6to4, NAT64) is judged by the
  IPv4 address inside, so ``::ffff:127.0.0.1`` is loopback.

The operator may allow some of them (``HOMEDIAG_CARE_WEBHOOK_ALLOW``): networks (``10.2.0.0/16``),
endpoints (``127.0.0.1:9000``, ``[::1]:9000``) or names (``hooks.internal:443``). A metadata
address is opened only by an entry naming that address alone, so allowing 169.254.0.0/16 for a
link-local receiver does not hand out the host's cloud credentials.

The check is made where the socket is opened, not on the URL's text: the connection's host is
resolved once with ``getaddrinfo`` (which reads 0x7f000001, 2130706433, 0177.0.0.1 and 127.1
as the socket would), every answer is checked, and the socket connects to a checked address,
never to the name again, so no DNS answer can change between the check and the connection
(DNS rebinding). The Host header, TLS SNI and certificate verification keep the name.
:func:`checked_opener` is the urllib opener built that way: http and https only, no proxy (a
proxy would move the check to the proxy's address), no redirects (a 3xx is an answer, not a hop).

Errors: :class:`EgressRefused` (a ``DeliveryFailed``: at send time it is a failed attempt).
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from ..errors import ConfigError, DeliveryFailed
from .const import METADATA_ADDRESSES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: Final = "loopback address"
PRIVATE: Final = "private address"
METADATA: Final = "cloud metadata address"
RESERVED: Final = "reserved address"

# IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and successors); first match.
_V4_REFUSED: Final = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "unspecified address"),  # "this network", RFC 791
        ("10.0.0.0/8", PRIVATE),  # RFC 1918
        ("100.64.0.0/10", "shared (carrier-grade NAT) address"),  # RFC 6598
        ("127.0.0.0/8", LOOPBACK),  # RFC 1122
        ("169.254.0.0/16", "link-local address"),  # RFC 3927
        ("172.16.0.0/12", PRIVATE),
        ("192.0.0.0/24", RESERVED),  # IETF protocol assignments, RFC 6890
        ("192.0.2.0/24", "documentation address"),  # TEST-NET-1, RFC 5737
        ("192.88.99.0/24", RESERVED),  # the former 6to4 relay anycast, RFC 7526
        ("192.168.0.0/16", PRIVATE),
        ("198.18.0.0/15", "benchmarking address"),  # RFC 2544
        ("198.51.100.0/24", "documentation address"),
        ("203.0.113.0/24", "documentation address"),
        ("224.0.0.0/4", "multicast address"),  # RFC 5771
        ("255.255.255.255/32", "broadcast address"),  # RFC 919
        ("240.0.0.0/4", RESERVED),  # RFC 1112
    )
)
_V6_REFUSED: Final = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified address"),  # RFC 4291
        ("::1/128", LOOPBACK),
        ("64:ff9b:1::/48", PRIVATE),  # local-use NAT64, RFC 8215
        ("100::/64", RESERVED),  # discard-only, RFC 6666
        ("2001::/32", RESERVED),  # Teredo, RFC 4380: a tunnel to wherever its client says
        ("2001:2::/48", "benchmarking address"),  # RFC 5180
        ("2001:db8::/32", "documentation address"),  # RFC 3849
        ("2001::/23", RESERVED),  # IETF protocol assignments, RFC 2928
        ("3fff::/20", "documentation address"),  # RFC 9637
        ("5f00::/16", RESERVED),  # SRv6 SIDs, RFC 9602
        ("fc00::/7", PRIVATE),  # unique-local, RFC 4193
        ("fe80::/10", "link-local address"),  # RFC 4291
        ("fec0::/10", PRIVATE),  # site-local, deprecated by RFC 3879
        ("ff00::/8", "multicast address"),
    )
)
_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")  # RFC 4291: all else is unassigned
_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")  # IPv4-compatible, deprecated (RFC 4291 2.5.5.1)
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
_METADATA: Final = frozenset(ipaddress.ip_address(a) for a in METADATA_ADDRESSES)


class EgressRefused(DeliveryFailed):
    """A webhook URL or address the policy does not let the cloud connect to."""

    def __init__(self, reason: str, address: str = "") -> None:
        self.reason = reason
        self.address = address
        super().__init__(f"refused by the egress policy: {reason}" + (f" ({address})" if address else ""))


def _v4_reason(address: ipaddress.IPv4Address) -> str | None:
    if address in _METADATA:
        return METADATA
    return next((reason for net, reason in _V4_REFUSED if address in net), None)


def refusal_reason(address: IPAddress) -> str | None:
    """Why the policy refuses ``address`` before any allowlist, or None for a public address."""
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_reason(address)
    if address.scope_id is not None:
        address = ipaddress.IPv6Address(address.compressed.split("%")[0])
    if address in _METADATA:
        return METADATA
    if address.ipv4_mapped is not None:
        return _v4_reason(address.ipv4_mapped)
    for net, reason in _V6_REFUSED[:2]:  # :: and ::1 lie inside the compatible range
        if address in net:
            return reason
    if address in _COMPATIBLE:
        return _v4_reason(ipaddress.IPv4Address(int(address))) or RESERVED
    if address in _NAT64:
        return _v4_reason(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        return _v4_reason(address.sixtofour)
    for net, reason in _V6_REFUSED[2:]:
        if address in net:
            return reason
    if address not in _GLOBAL_UNICAST or not address.is_global:
        return RESERVED
    return None


def _allow_entry(entry: str) -> IPNetwork | tuple[IPAddress, int] | tuple[str, int]:
    try:  # a network or an address; IPv6 needs brackets to carry a port, as in URLs
        return ipaddress.ip_network(entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry)
    except ValueError:
        pass
    host, sep, port = entry.rpartition(":")
    if sep and host:
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        try:
            return ipaddress.ip_address(host), _port(port, entry)
        except ValueError:
            pass
        if not any(c in host for c in ":/[] "):
            return _name(host), _port(port, entry)
    raise ConfigError(
        f"HOMEDIAG_CARE_WEBHOOK_ALLOW: {entry!r} is not a network, an address:port or a name:port"
    )


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"HOMEDIAG_CARE_WEBHOOK_ALLOW: {entry!r} has no valid port")
    return int(text)


def _name(host: str) -> str:
    return host.lower().rstrip(".")


@dataclass(frozen=True)
class EgressPolicy:
    """The refused ranges above, less what the operator allows. The default allows nothing."""

    networks: tuple[IPNetwork, ...] = ()
    endpoints: frozenset[tuple[IPAddress, int]] = frozenset()
    #: (name, port): a host name the operator vouches for, whatever it resolves to.
    names: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> EgressPolicy:
        """Parse ``HOMEDIAG_CARE_WEBHOOK_ALLOW``: networks or addresses, ``address:port``,
        ``[v6]:port``, ``name:port``. Raises ConfigError naming the entry it cannot read."""
        networks: list[IPNetwork] = []
        endpoints: set[tuple[IPAddress, int]] = set()
        names: set[tuple[str, int]] = set()
        for raw in entries:
            entry = _allow_entry(raw.strip())
            if isinstance(entry, ipaddress.IPv4Network | ipaddress.IPv6Network):
                networks.append(entry)
            elif isinstance(entry[0], str):
                names.add((entry[0], entry[1]))
            else:
                endpoints.add((entry[0], entry[1]))
        return cls(tuple(networks), frozenset(endpoints), frozenset(names))

    def refusal(self, address: IPAddress, port: int, host: str = "") -> str | None:
        """Why a connection to ``address``:``port`` (found for ``host``) is refused, or None."""
        reason = refusal_reason(address)
        if reason is None:
            return None
        plain = address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            plain = address.ipv4_mapped  # the kernel connects to the IPv4 address inside
        if (plain, port) in self.endpoints or (address, port) in self.endpoints:
            return None
        if reason == METADATA:  # only an entry naming this one address opens it
            alone = any(net.num_addresses == 1 and plain in net for net in self.networks)
            return None if alone else reason
        if (_name(host), port) in self.names or any(plain in net for net in self.networks):
            return None
        return reason

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host``, once, each checked; raises EgressRefused at the first one
        refused (a name with one bad answer is refused whole), DeliveryFailed if none is found."""
        name = _name(host)
        if name == "localhost" or name.endswith(".localhost"):  # RFC 6761 6.3: never asked of DNS
            addresses: list[IPAddress] = [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
        else:
            try:
                answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise DeliveryFailed(f"could not find the host {host}") from exc
            addresses = [_address(sockaddr) for _family, _, _, _, sockaddr in answers]
        if not addresses:
            raise DeliveryFailed(f"could not find the host {host}")
        for address in addresses:
            reason = self.refusal(address, port, host)
            if reason is not None:
                raise EgressRefused(reason, str(address))
        return list(dict.fromkeys(addresses))

    def check_url(self, url: str) -> None:
        """What can be known before sending: the URL's form and where its host resolves to now.
        Raises EgressRefused, or DeliveryFailed (a malformed URL, a host not found). The check
        when the socket is opened still decides: DNS answers change."""
        host, port = url_endpoint(url)
        self.resolve(host, port)

    def create_connection(
        self,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        """``socket.create_connection`` to a checked address of ``address``'s host."""
        host, port = address
        error: OSError | None = None
        for ip in self.resolve(host, port):
            try:
                # A numeric host: create_connection parses it, it asks no resolver again.
                return socket.create_connection((str(ip), port), timeout, source_address)
            except OSError as exc:
                error = exc
        assert error is not None  # resolve() returns at least one address
        raise error


def _address(sockaddr: tuple[Any, ...]) -> IPAddress:
    text = str(sockaddr[0])
    if len(sockaddr) == 4 and sockaddr[3]:  # an IPv6 scope id (fe80::1%2)
        text = f"{text.split('%', maxsplit=1)[0]}%{sockaddr[3]}"
    return ipaddress.ip_address(text)


def url_endpoint(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL without user info; DeliveryFailed for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DeliveryFailed("a webhook address starts with http:// or https://")
    if "@" in parts.netloc:
        raise DeliveryFailed("a webhook address must not contain a user name or password")
    try:
        port = parts.port
    except ValueError:
        raise DeliveryFailed("the webhook address has an invalid port") from None
    if not parts.hostname:
        raise DeliveryFailed("the webhook address has no host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


@functools.lru_cache(maxsize=8)
def policy_for(entries: tuple[str, ...]) -> EgressPolicy:
    """The policy of a setting's entries, parsed once per distinct setting."""
    return EgressPolicy.from_entries(entries)


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, policy: EgressPolicy, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        # http.client opens every socket through this hook (CPython's own tests replace it);
        # the connection keeps ``host`` for the Host header.
        self._create_connection = policy.create_connection


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, *, policy: EgressPolicy, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        # The socket goes to the checked address; SNI and certificate checks use ``host``.
        self._create_connection = policy.create_connection


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, policy: EgressPolicy) -> None:
        super().__init__()
        self._policy = policy

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_CheckedHTTPConnection, policy=self._policy), req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, policy: EgressPolicy, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._policy = policy
        self._tls = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            functools.partial(_CheckedHTTPSConnection, policy=self._policy), req, context=self._tls
        )


def checked_opener(
    policy: EgressPolicy, context: ssl.SSLContext | None = None
) -> urllib.request.OpenerDirector:
    """A urllib opener that connects only where ``policy`` allows; ``context``: the TLS trust
    (default: the system's, with host name verification)."""
    opener = urllib.request.OpenerDirector()
    # Deliberately not build_opener(): it adds a ProxyHandler (environment proxies), a redirect
    # handler, and file:, ftp: and data: schemes.
    for handler in (
        _CheckedHTTPHandler(policy),
        _CheckedHTTPSHandler(policy, context or ssl.create_default_context()),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.UnknownHandler(),
    ):
        opener.add_handler(handler)
    return opener
