"""Care webhooks and the egress policy (issue 17, finding 5): only tenant administrators set a
webhook; every internal address form is refused when it is set and again when the socket is
opened, which resolves once and connects to the checked address (no DNS rebinding); the
operator's allowlist opens a real loopback receiver; a subscriber reads "delivery failed".

Nothing here leaves loopback: ``net`` answers host names from a table (never from the host's
resolver) and refuses, and records, any connection to an address outside loopback, so a
regression shows as a recorded attempt, not as a packet."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from cloud import ConfigError, load_settings
from cloud.care import CareLoop
from cloud.care.delivery import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Message,
    RetryPolicy,
    WebhookSender,
    deliver_due,
    enqueue,
    verify,
)
from cloud.care.egress import EgressPolicy, EgressRefused
from cloud.errors import DeliveryFailed
from cloud.storage import Agent, CareNotification, CarePreference, make_engine, make_sessionmaker, migrate
from tests.care_peers import WebhookReceiver
from tests.cloud.accounts_world import World, make_world
from tests.support import free_port

SECRET = b"egress-test-secret"
NAME = "hooks.isp.example"
#: What the fake resolver answers for a "public" name: a real public address, which the set-time
#: check accepts; nothing connects to it (``net`` would refuse and record it).
PUBLIC = "93.184.215.14"

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


@dataclass
class Net:
    """The test's resolver and its loopback-only fence."""

    #: name -> successive answers (the last one repeats).
    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    refused: list[Any] = field(default_factory=list)

    def getaddrinfo(
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[Any]:
        try:  # numeric forms are parsed by the C library itself, as in production
            return _real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            if flags & socket.AI_NUMERICHOST:
                raise
        name = str(host).lower()
        self.asked.append(name)
        if name not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        queue = self.answers[name]
        texts = queue.pop(0) if len(queue) > 1 else queue[0]
        return [_real_getaddrinfo(t, port, family, type, proto, socket.AI_NUMERICHOST)[0] for t in texts]

    def allowed(self, sock: socket.socket, address: Any) -> bool:
        if sock.family == socket.AF_UNIX:
            return True
        if ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback:
            return True
        self.refused.append(address)
        return False


@pytest.fixture(autouse=True)
def net(monkeypatch: pytest.MonkeyPatch) -> Net:
    fence = Net()

    def connect(sock: socket.socket, address: Any) -> None:
        if not fence.allowed(sock, address):
            raise ConnectionRefusedError(f"test fence: no connection to {address}")
        _real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if not fence.allowed(sock, address):
            raise ConnectionRefusedError(f"test fence: no connection to {address}")
        return _real_connect_ex(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", fence.getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    return fence


@dataclass
class Receiver:
    """An HTTP(S) receiver on any loopback address; records each POST and each TLS SNI name."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    tls: ssl.SSLContext | None = None
    hits: list[dict[str, str]] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.hits.append({"path": self.path, **dict(self.headers.items())})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        if self.tls is not None:
            self.tls.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._server.block_on_close = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="egress-receiver")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _notification(url: str) -> CareNotification:
    return CareNotification(key="home|cap|75|2026-11-01|webhook", target=url, payload={"kind": "cap"})


def _send(url: str, policy: EgressPolicy | None = None, tls: ssl.SSLContext | None = None) -> None:
    sender = WebhookSender(SECRET, timeout_s=2.0, egress=policy or EgressPolicy(), tls=tls)
    sender.send(_notification(url), "http://127.0.0.1:1/api/v1/care/unsubscribe/t")


# Every form an attacker tried, or could: (host as written in the URL, the reason given).
REFUSED_HOSTS = [
    ("127.0.0.1", "loopback address"),
    ("0x7f000001", "loopback address"),
    ("2130706433", "loopback address"),
    ("0177.0.0.1", "loopback address"),
    ("127.1", "loopback address"),
    ("127.0.0.2", "loopback address"),
    ("localhost", "loopback address"),
    ("[::1]", "loopback address"),
    ("[::ffff:127.0.0.1]", "loopback address"),
    ("[::127.0.0.1]", "loopback address"),  # IPv4-compatible
    ("[2002:7f00:1::]", "loopback address"),  # 6to4
    ("[64:ff9b::7f00:1]", "loopback address"),  # NAT64
    ("10.0.0.1", "private address"),
    ("172.16.5.4", "private address"),
    ("192.168.1.1", "private address"),
    ("[fd00::1]", "private address"),
    ("[64:ff9b::a00:1]", "private address"),
    ("100.64.0.1", "shared (carrier-grade NAT) address"),
    ("169.254.169.254", "cloud metadata address"),
    ("169.254.170.2", "cloud metadata address"),
    ("[::ffff:a9fe:a9fe]", "cloud metadata address"),
    ("[fd00:ec2::254]", "cloud metadata address"),
    ("169.254.10.10", "link-local address"),
    ("[fe80::1]", "link-local address"),
    ("224.0.0.251", "multicast address"),
    ("[ff02::1]", "multicast address"),
    ("0.0.0.0", "unspecified address"),
    ("[::]", "unspecified address"),
    ("255.255.255.255", "broadcast address"),
    ("192.0.2.10", "documentation address"),
    ("[2001:db8::1]", "documentation address"),
    ("198.18.0.1", "benchmarking address"),
    ("240.0.0.1", "reserved address"),
    ("[2001::1]", "reserved address"),  # Teredo
]


@pytest.mark.parametrize(("host", "reason"), REFUSED_HOSTS)
def test_every_internal_form_is_refused_at_delivery_before_any_connection(
    net: Net, host: str, reason: str
) -> None:
    # A live receiver on loopback: had the sender connected, it would have had the POST.
    with WebhookReceiver() as hook, pytest.raises(EgressRefused) as refused:
        _send(f"http://{host}:{hook.port}/hook")
    assert refused.value.reason == reason
    assert str(refused.value).startswith(f"refused by the egress policy: {reason}")
    assert hook.hits == []
    assert net.refused == []


def test_a_name_that_resolves_to_loopback_is_refused_when_the_socket_is_opened(net: Net) -> None:
    net.answers[NAME] = [["127.0.0.1"]]
    with WebhookReceiver() as hook, pytest.raises(EgressRefused, match="loopback address"):
        _send(f"http://{NAME}:{hook.port}/hook")
    assert hook.hits == []


def test_a_name_with_one_internal_answer_among_public_ones_is_refused_whole(net: Net) -> None:
    net.answers[NAME] = [[PUBLIC, "10.0.0.7"]]
    with pytest.raises(EgressRefused, match="private address"):
        _send(f"http://{NAME}/hook")
    assert net.refused == []


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(net: Net) -> None:
    """DNS rebinding: the first answer is allowed (127.0.0.2, allowlisted), every later one is
    127.0.0.1, where an internal service listens on the same port. Only the checked address
    may get the request, and it must still be addressed to the name."""
    port = free_port()
    net.answers[NAME] = [["127.0.0.2"], ["127.0.0.1"]]
    policy = EgressPolicy.from_entries(["127.0.0.2/32"])
    with Receiver("127.0.0.2", port) as allowed, Receiver("127.0.0.1", port) as internal:
        _send(f"http://{NAME}:{port}/hook", policy)
    assert internal.hits == []
    assert [(h["path"], h["Host"]) for h in allowed.hits] == [("/hook", f"{NAME}:{port}")]
    assert net.asked == [NAME]


def _tls(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a certificate for ``name``, client context trusting only its CA)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "egress test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return server, ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))


def test_https_to_the_checked_address_keeps_sni_and_verifies_the_name(net: Net, tmp_path: Path) -> None:
    net.answers[NAME] = [["127.0.0.2"]]
    policy = EgressPolicy.from_entries(["127.0.0.2/32"])
    server, client = _tls(tmp_path, NAME)
    with Receiver("127.0.0.2", tls=server) as hook:
        _send(f"https://{NAME}:{hook.port}/hook", policy, tls=client)
    assert hook.sni == [NAME]
    assert [h["Host"] for h in hook.hits] == [f"{NAME}:{hook.port}"]

    # A certificate for another name is refused, although the address is allowed.
    server, client = _tls(tmp_path, "other.isp.example")
    with Receiver("127.0.0.2", tls=server) as hook, pytest.raises(DeliveryFailed, match="certificate"):
        _send(f"https://{NAME}:{hook.port}/hook", policy, tls=client)
    assert hook.hits == []


def test_environment_proxies_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy would be the address the policy checks, and the webhook's host would be the
    proxy's business: webhooks never go through one."""
    policy = EgressPolicy.from_entries(["127.0.0.1/32"])
    with Receiver() as proxy, Receiver() as hook:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        _send(f"http://127.0.0.1:{hook.port}/hook", policy)
    assert (len(hook.hits), proxy.hits) == (1, [])


def test_the_allowlist_lets_a_loopback_receiver_get_the_post(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with WebhookReceiver() as hook, WebhookReceiver() as other:
        with sessions.begin() as session:
            session.add_all([Agent(id=a, public_key="k" * 43) for a in ("home-1", "home-2")])
            session.flush()
            for agent, url in (("home-1", hook.url), ("home-2", other.url)):
                session.add(
                    CarePreference(
                        agent_id=agent, webhook_url=url, muted_kinds=[], unsubscribe_token=f"t-{agent}"
                    )
                )
        now = datetime(2026, 11, 20, 12, tzinfo=UTC)
        for agent in ("home-1", "home-2"):
            with sessions.begin() as session:
                message = Message(agent, "cap", "75", "2026-11-01", "75% used", "Three quarters.", {})
                enqueue(session, message, session.get(CarePreference, agent), email_enabled=False, now=now)
        # The entry names the one receiver's port: the other port on the same address stays shut.
        sender = WebhookSender(SECRET, 2.0, egress=EgressPolicy.from_entries([f"127.0.0.1:{hook.port}"]))
        deliver_due(
            sessions, {"webhook": sender}, RetryPolicy(), lambda t: f"http://127.0.0.1:1/u/{t}", now=now
        )
        with sessions() as session:
            rows = {
                n.agent_id: (n.status, n.last_error)
                for n in session.scalars(
                    select(CareNotification).where(CareNotification.channel == "webhook")
                )
            }
    engine.dispose()
    assert rows["home-1"] == ("sent", "")
    assert rows["home-2"] == ("pending", "refused by the egress policy: loopback address (127.0.0.1)")
    assert other.hits == []
    [hit] = hook.hook_hits()
    assert verify(SECRET, hit.headers[TIMESTAMP_HEADER], hit.body, hit.headers[SIGNATURE_HEADER])
    assert hit.headers[KEY_HEADER] == "home-1|cap|75|2026-11-01|webhook"
    assert json.loads(hit.body)["unsubscribe_url"] == "http://127.0.0.1:1/u/t-home-1"


def test_the_setting_reaches_the_care_loop_and_a_bad_entry_stops_the_start(tmp_path: Path) -> None:
    settings = load_settings(
        state_dir=tmp_path,
        care_webhook_secret="s" * 32,
        care_webhook_allow=["10.2.0.0/16", "[::1]:9000", "hooks.internal:443"],
    )
    sender = CareLoop(settings, make_sessionmaker(make_engine("sqlite://"))).senders["webhook"]
    assert isinstance(sender, WebhookSender)
    assert sender.egress.refusal(ipaddress.ip_address("10.2.3.4"), 443) is None
    assert sender.egress.refusal(ipaddress.ip_address("10.3.0.1"), 443) == "private address"
    assert sender.egress.refusal(ipaddress.ip_address("::1"), 9000) is None
    assert sender.egress.refusal(ipaddress.ip_address("::1"), 9001) == "loopback address"
    assert sender.egress.refusal(ipaddress.ip_address("10.9.9.9"), 443, "Hooks.Internal.") is None
    for entry in ("10.2.0.1/16", "hooks.internal", "127.0.0.1:70000", "http://10.0.0.1/"):
        with pytest.raises(ConfigError, match="HOMEDIAG_CARE_WEBHOOK_ALLOW"):
            load_settings(state_dir=tmp_path, care_webhook_allow=[entry])


def test_a_wide_allowlist_entry_does_not_open_the_metadata_service() -> None:
    wide = EgressPolicy.from_entries(["169.254.0.0/16", "fd00::/8"])
    assert wide.refusal(ipaddress.ip_address("169.254.1.1"), 80) is None
    assert wide.refusal(ipaddress.ip_address("169.254.169.254"), 80) == "cloud metadata address"
    assert wide.refusal(ipaddress.ip_address("::ffff:169.254.169.254"), 80) == "cloud metadata address"
    assert wide.refusal(ipaddress.ip_address("fd00:ec2::254"), 80) == "cloud metadata address"
    named = EgressPolicy.from_entries(["169.254.169.254"])
    assert named.refusal(ipaddress.ip_address("169.254.169.254"), 80) is None


# ---- the API: who may set a webhook, the set-time check, what each role reads -------------------


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)


def _put(world: World, headers: dict[str, str], body: dict[str, Any], agent: str = "") -> Any:
    home = agent or world.ids["alpha"].agent
    return world.client.put(f"/api/v1/agents/{home}/care/preferences", json=body, headers=headers)


def _stored_webhook(world: World) -> str | None:
    with world.sessions() as session:
        pref = session.get(CarePreference, world.ids["alpha"].agent)
        return pref.webhook_url if pref is not None else None


def _plain(detail: Any) -> None:
    assert isinstance(detail, str)
    assert detail[0].isupper() and detail.endswith(".")
    assert "Traceback" not in detail and "Error" not in detail and "^" not in detail


@pytest.mark.parametrize(("host", "reason"), [(h, r) for h, r in REFUSED_HOSTS if h != "[2001::1]"])
def test_an_admin_cannot_set_a_webhook_to_an_internal_address(
    world: World, net: Net, host: str, reason: str
) -> None:
    response = _put(world, world.headers("alpha", "admin"), {"webhook_url": f"http://{host}:8080/hook"})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    _plain(detail)
    assert f"refused by the egress policy: {reason}" in detail
    assert _stored_webhook(world) is None
    assert net.refused == []


@pytest.mark.parametrize(
    ("url", "answer", "words"),
    [
        (f"http://{NAME}/hook", ["127.0.0.1"], "loopback address"),
        (f"https://{NAME}/hook", [PUBLIC, "192.168.0.9"], "private address"),
        ("http://nowhere.isp.example/hook", None, "could not find the host nowhere.isp.example"),
        (f"http://user:secret@{NAME}/hook", [PUBLIC], "must not contain a user name or password"),
    ],
)
def test_the_set_time_check_resolves_names_and_refuses_user_info(
    world: World, net: Net, url: str, answer: list[str] | None, words: str
) -> None:
    if answer is not None:
        net.answers[NAME] = [answer]
    response = _put(world, world.headers("alpha", "admin"), {"webhook_url": url})
    assert response.status_code == 422, response.text
    _plain(response.json()["detail"])
    assert words in response.json()["detail"]
    assert _stored_webhook(world) is None


def test_only_a_tenant_admin_sets_changes_or_clears_a_webhook(world: World, net: Net) -> None:
    net.answers[NAME] = [[PUBLIC]]
    url = f"https://{NAME}/care"
    for role in ("subscriber", "csr", "technician", "supervisor"):
        response = _put(world, world.headers("alpha", role), {"webhook_url": url})
        assert response.status_code == 403, (role, response.text)
        _plain(response.json()["detail"])
        assert "administrator" in response.json()["detail"]
    assert _stored_webhook(world) is None

    admin = world.headers("alpha", "admin")
    assert _put(world, admin, {"webhook_url": url, "email": "home@example.org"}).status_code == 200
    assert _stored_webhook(world) == url
    assert net.refused == []  # the set-time check resolves; it connects to nothing

    # The household changes its e-mail: the webhook is left alone, and cannot be cleared.
    subscriber = world.headers("alpha", "subscriber")
    assert _put(world, subscriber, {"email": "new@example.org"}).status_code == 200
    assert _put(world, subscriber, {"email": "new@example.org", "webhook_url": url}).status_code == 200
    assert _stored_webhook(world) == url
    assert _put(world, subscriber, {"webhook_url": None}).status_code == 403
    assert _stored_webhook(world) == url
    # What a non-administrator reads is where it goes, not its path (which may hold a secret);
    # sending that shortened form back changes nothing.
    shown = world.client.get(
        f"/api/v1/agents/{world.ids['alpha'].agent}/care/preferences", headers=subscriber
    )
    assert shown.json()["webhook_url"] == f"https://{NAME}/…"
    assert (
        _put(
            world, subscriber, {"email": "x@example.org", "webhook_url": shown.json()["webhook_url"]}
        ).status_code
        == 200
    )
    assert _stored_webhook(world) == url
    read = world.client.get(f"/api/v1/agents/{world.ids['alpha'].agent}/care/preferences", headers=admin)
    assert read.json()["webhook_url"] == url
    assert _put(world, admin, {"webhook_url": None}).status_code == 200
    assert _stored_webhook(world) is None


def test_the_operator_allowlist_applies_at_set_time(world: World) -> None:
    settings = world.app.state.settings
    world.app.state.settings = settings.model_copy(update={"care_webhook_allow": ["127.0.0.1:9000"]})
    admin = world.headers("alpha", "admin")
    assert _put(world, admin, {"webhook_url": "http://127.0.0.1:9000/hook"}).status_code == 200
    assert _put(world, admin, {"webhook_url": "http://127.0.0.1:9001/hook"}).status_code == 422


def test_only_an_admin_reads_why_a_delivery_failed(world: World) -> None:
    alpha = world.ids["alpha"]
    reason = "refused by the egress policy: loopback address (127.0.0.1)"
    now = datetime.now(UTC)
    with world.sessions.begin() as session:
        session.add(
            CarePreference(
                agent_id=alpha.agent,
                webhook_url="http://127.0.0.1:8080/",
                muted_kinds=[],
                unsubscribe_token="t",
            )
        )
        for n, (status, error) in enumerate(
            (
                ("dead", reason),
                ("pending", "the webhook answered HTTP 404"),
                ("skipped", "unsubscribed or muted"),
            )
        ):
            session.add(
                CareNotification(
                    key=f"k{n}",
                    agent_id=alpha.agent,
                    kind="cap",
                    threshold=str(n),
                    cycle="c",
                    channel="webhook",
                    target="http://127.0.0.1:8080/",
                    subject="s",
                    body="b",
                    payload={},
                    status=status,
                    attempts=1,
                    created_at=now,
                    next_attempt_at=now,
                    last_error=error,
                )
            )
    path = f"/api/v1/agents/{alpha.agent}/care/notifications"

    def errors(role: str) -> list[str]:
        response = world.client.get(path, headers=world.headers("alpha", role))
        assert response.status_code == 200
        return sorted(n["last_error"] for n in response.json())

    for role in ("subscriber", "csr", "supervisor"):
        assert errors(role) == ["delivery failed", "delivery failed", "unsubscribed or muted"], role
    assert errors("admin") == sorted([reason, "the webhook answered HTTP 404", "unsubscribed or muted"])
    preferences = world.client.get(
        f"/api/v1/agents/{alpha.agent}/care/preferences", headers=world.headers("alpha", "subscriber")
    )
    assert "refused" not in preferences.text and "HTTP" not in preferences.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/care/daily-list?day=0001-01-01"),
        ("GET", "/api/v1/care/daily-list?day=9999-12-31"),
        ("POST", f"/api/v1/care/daily-list/{2**63}/feedback"),
        ("POST", "/api/v1/care/daily-list/0/feedback"),
        ("GET", f"/api/v1/agents/{'a' * 65}/care/notifications?limit=5"),
        ("GET", "/api/v1/agents/x/care/notifications?limit=501"),
        ("GET", f"/api/v1/care/unsubscribe/{'t' * 65}"),
    ],
)
def test_care_parameters_out_of_range_are_422_not_500(world: World, method: str, path: str) -> None:
    response = world.client.request(
        method, path, json={"verdict": "confirmed"}, headers=world.headers("alpha", "admin")
    )
    assert response.status_code == 422, response.text
