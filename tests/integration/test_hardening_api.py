"""Issue 17, findings 2 and 4 against real `homediag-cloud serve` processes: request bodies are bounded
before they are read, validation errors do not echo what was sent, parallel password guesses count
each other (in one process and across two on one PostgreSQL), Argon2 runs a bounded number at once,
and X-Forwarded-For is believed only from configured proxies."""

from __future__ import annotations

import json
import select
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloud.config import load_settings
from cloud.const import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_SOURCE, MAX_BODY_BYTES
from cloud.errors import ConfigError
from tests.support import CloudProcess, PostgresServer

pytestmark = pytest.mark.slow
MIB = 1024 * 1024
PASSWORD = "the right password, at last"
TOKEN = "/api/v1/auth/token"


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[CloudProcess]:
    service = CloudProcess(tmp_path)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def _peak_rss_mib(cloud: CloudProcess) -> float:
    """The process's high-water mark of resident memory (VmHWM), which no sampling can miss."""
    assert cloud.proc is not None
    for line in Path(f"/proc/{cloud.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


def _raw_post(port: int, path: str, headers: dict[str, str], chunks: Iterator[bytes]) -> tuple[int, bytes]:
    """POST the chunks until the server answers or closes; (status, whole answer). Stops sending as
    soon as an answer is readable, as a client honouring an early 413 would."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
                if b"\r\n\r\n" in answer and _complete(answer):
                    break
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split()[1]), answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def _chunked(total: int, piece: bytes) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        sent += len(piece)
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


def _pieces(total: int, piece: bytes) -> Iterator[bytes]:
    for _ in range(total // len(piece)):
        yield piece


def _login(cloud: CloudProcess, form: dict[str, str], headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(
        cloud.api_url + TOKEN, data=urllib.parse.urlencode(form).encode(), headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code)


def _in_parallel(n: int, call: Any) -> Counter[int]:
    """``call(i)`` from n threads released together; the count of each status answered."""
    start = threading.Barrier(n)
    statuses: list[int] = []

    def run(i: int) -> None:
        start.wait()
        statuses.append(call(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(statuses) == n, "a login did not finish"
    return Counter(statuses)


def _account(cloud: CloudProcess, username: str = "carol") -> None:
    assert cloud.post("/api/v1/tenants", {"id": "acme"})[0] in (201, 409, 422)
    login = {"username": username, "role": "csr", "password": PASSWORD, "tenant": "acme"}
    status, body = cloud.post("/api/v1/users", login)
    assert status == 201, body


def test_a_body_over_the_limit_is_refused_before_it_is_read(cloud: CloudProcess) -> None:
    before = _peak_rss_mib(cloud)
    json_headers = {"Content-Type": "application/json"}
    # Declared: answered on the headers alone, nothing of the 100 MiB is read.
    declared = {**json_headers, "Content-Length": str(100 * MIB)}
    status, answer = _raw_post(
        cloud.api_port, "/api/v1/enrollments", declared, _pieces(100 * MIB, b"[" * MIB)
    )
    assert status == 413, answer[:300]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert "larger than 1 MiB" in problem["detail"]
    assert (problem["type"], problem["status"]) == ("/problems/too-large", 413)
    # Chunked, no length: counted as it streams, reading stops at the limit.
    streamed = {**json_headers, "Transfer-Encoding": "chunked"}
    status, answer = _raw_post(
        cloud.api_port, "/api/v1/enrollments", streamed, _chunked(100 * MIB, b"[" * MIB)
    )
    assert status == 413, answer[:300]
    # The login form too (it is parsed before the route runs).
    form = {"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"}
    status, _ = _raw_post(cloud.api_port, TOKEN, form, _chunked(20 * MIB, b"password=" + b"x" * MIB))
    assert status == 413
    grown = _peak_rss_mib(cloud) - before
    assert grown < 64, f"the peak RSS grew by {grown:.0f} MiB for bodies that were refused"
    assert cloud.get("/api/v1/ingest/stats")["running"]  # still serving


def test_the_speed_test_upload_still_takes_large_bodies(cloud: CloudProcess) -> None:
    size = 8 * MAX_BODY_BYTES
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
    status, answer = _raw_post(
        cloud.api_port, "/api/v1/speedtest/upload", headers, _pieces(size, b"\0" * MIB)
    )
    assert status == 200, answer[:300]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["bytes"] == size


def test_validation_errors_name_the_field_but_never_echo_it(cloud: CloudProcess) -> None:
    marker = "EchoedBack"
    status, body = cloud.post(
        "/api/v1/enrollments", {"code": marker * 50_000, "public_key": marker * 50_000, "hostname": [marker]}
    )
    assert status == 422
    text = json.dumps(body)
    assert marker not in text, text[:300]
    assert len(text) < 8192
    assert {tuple(error["loc"]) for error in body["errors"]} >= {("body", "code"), ("body", "public_key")}
    assert all(
        set(error) == {"loc", "field", "sentence", "type"} and error["sentence"] for error in body["errors"]
    )
    assert isinstance(body["detail"], str) and body["detail"].startswith("The code ")
    # A form field over its bound (the login form) is not echoed either.
    request = urllib.request.Request(
        cloud.api_url + TOKEN, data=urllib.parse.urlencode({"username": marker * 1000}).encode()
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    with refused.value as reply:
        assert reply.code == 422
        assert marker.encode() not in reply.read()


def test_parallel_wrong_guesses_are_checked_at_most_the_limit(cloud: CloudProcess) -> None:
    _account(cloud)
    wrong = {"tenant": "acme", "username": "carol", "password": "a wrong guess"}
    statuses = _in_parallel(40, lambda _i: _login(cloud, wrong))
    assert set(statuses) <= {400, 429}, statuses
    assert statuses[400] <= LOGIN_FAILURES_PER_ACCOUNT, statuses
    with cloud.db() as db:
        (failures,) = db.execute(
            "SELECT count(*) FROM login_failures WHERE account = 'acme/carol'"
        ).fetchone()
    assert failures == statuses[400]
    # Locked: the right password is refused until the window passes.
    assert _login(cloud, {**wrong, "password": PASSWORD}) == 429


def test_parallel_logins_hash_a_bounded_number_of_passwords_at_once(cloud: CloudProcess) -> None:
    """40 right-password logins to 4 accounts: each Argon2id check takes 64 MiB, two run at once."""
    names = [f"csr-{n}" for n in range(4)]
    for name in names:
        _account(cloud, name)
    before = _peak_rss_mib(cloud)  # the users' creation has already hashed
    statuses = _in_parallel(
        40, lambda i: _login(cloud, {"tenant": "acme", "username": names[i % 4], "password": PASSWORD})
    )
    # Attempts under way count against the account and the address until they succeed (429); one
    # that waited past its turn for Argon2 is told to come back (503 with Retry-After); never a 500.
    assert set(statuses) <= {200, 429, 503}, statuses
    assert statuses[200] >= len(names)
    grown = _peak_rss_mib(cloud) - before
    assert grown < 3 * 64, f"the peak RSS grew by {grown:.0f} MiB for 40 logins"


def test_x_forwarded_for_does_not_change_the_lockout_key_by_default(cloud: CloudProcess) -> None:
    for n in range(LOGIN_FAILURES_PER_SOURCE):
        forwarded = {"X-Forwarded-For": f"127.0.0.{n + 2}"}
        assert _login(cloud, {"tenant": "acme", "username": f"guess-{n}", "password": "x"}, forwarded) == 400
    # Every guess came from 127.0.0.1, whatever the header said: the address is locked.
    forwarded = {"X-Forwarded-For": "127.0.0.200"}
    assert _login(cloud, {"tenant": "acme", "username": "another", "password": "x"}, forwarded) == 429


def test_a_configured_proxy_is_believed(tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path)
    cloud.env["HOMEDIAG_TRUSTED_PROXIES"] = '["127.0.0.1"]'
    cloud.start()
    try:
        for n in range(LOGIN_FAILURES_PER_SOURCE):
            form = {"tenant": "acme", "username": f"guess-{n}", "password": "x"}
            assert _login(cloud, form, {"X-Forwarded-For": "127.0.0.2"}) == 400
        form = {"tenant": "acme", "username": "another", "password": "x"}
        assert _login(cloud, form, {"X-Forwarded-For": "127.0.0.2"}) == 429
        assert _login(cloud, form, {"X-Forwarded-For": "127.0.0.3"}) == 400  # another client
    finally:
        cloud.stop()


def test_a_trusted_proxy_is_an_address_or_a_network() -> None:
    assert (
        load_settings(trusted_proxies=["10.0.0.5", "10.0.1.0/24", "::1"]).trusted_proxies[1] == "10.0.1.0/24"
    )
    assert load_settings().trusted_proxies == []  # nobody's X-Forwarded-For is believed by default
    for wrong in ("proxy.internal", "10.0.0.1/8", "*"):
        with pytest.raises(ConfigError, match="is not an IP address or network"):
            load_settings(trusted_proxies=[wrong])


def test_parallel_guesses_across_two_api_processes_share_one_count(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    """Two `serve` processes on one PostgreSQL: the reservation is serialised by the database."""
    db_url = postgres.new_database()
    first = CloudProcess(tmp_path / "a", db_url=db_url)
    second = CloudProcess(tmp_path / "b", db_url=db_url)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first.start()
    try:
        second.start()
        try:
            _account(first)
            wrong = {"tenant": "acme", "username": "carol", "password": "a wrong guess"}
            statuses = _in_parallel(40, lambda i: _login((first, second)[i % 2], wrong))
            assert set(statuses) <= {400, 429}, statuses
            assert statuses[400] <= LOGIN_FAILURES_PER_ACCOUNT, statuses
        finally:
            second.stop()
    finally:
        first.stop()
