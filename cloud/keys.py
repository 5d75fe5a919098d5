"""The cloud's signing keys: acks and commands are signed with the active one; agents pin them.

Rotation without re-enrolling anyone:

1. ``homediag-cloud rotate-key begin`` creates the *next* key. While it exists, every agent
   that says hello gets a ``trust_cloud_key`` command (signed with the active key) and pins it.
2. ``homediag-cloud rotate-key finish`` makes the next key active and keeps the old one as
   *retired*; agents that say hello now get ``retire_cloud_key`` for it (signed with the new key,
   which they already trust).

An agent pins at most three keys, so a rotation can be begun again once the last one is done.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import protocol
from protocol import Ed25519PrivateKey
from protocol.signing import write_private_key_file

from .config import make_private_dir
from .const import CLOUD_KEY_FILE
from .errors import ConfigError

NEXT_KEY_FILE = "cloud-key.next.pem"
RETIRED_KEY_FILE = "cloud-key.retired.pem"


def _load(path: Path) -> Ed25519PrivateKey:
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} is readable by others; chmod 600 it")
    try:
        return protocol.load_private_key_pem(path.read_bytes())
    except protocol.ProtocolError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _create(path: Path) -> Ed25519PrivateKey:
    make_private_dir(path.parent)
    key = protocol.generate_private_key()
    write_private_key_file(path, protocol.private_key_pem(key))
    return key


def load_or_create_cloud_key(state_dir: Path) -> Ed25519PrivateKey:
    path = state_dir / CLOUD_KEY_FILE
    if path.exists():
        return _load(path)
    try:
        return _create(path)
    except FileExistsError:
        # Another process (API worker, CLI) created it first: use theirs.
        return _load(path)


@dataclass(frozen=True)
class CloudKeys:
    active: Ed25519PrivateKey
    next: Ed25519PrivateKey | None = None
    retired: Ed25519PrivateKey | None = None

    @classmethod
    def load(cls, state_dir: Path) -> CloudKeys:
        active = load_or_create_cloud_key(state_dir)
        nxt, retired = state_dir / NEXT_KEY_FILE, state_dir / RETIRED_KEY_FILE
        return cls(
            active=active,
            next=_load(nxt) if nxt.exists() else None,
            retired=_load(retired) if retired.exists() else None,
        )

    def pinned_at_enrollment(self) -> list[str]:
        """What a newly enrolled agent pins: the active key, and the next one during a rotation."""
        keys = [self.active] + ([self.next] if self.next else [])
        return [protocol.public_key_text(k) for k in keys]


def begin_rotation(state_dir: Path) -> str:
    if (state_dir / NEXT_KEY_FILE).exists():
        raise ConfigError("a rotation is already in progress; finish it first")
    load_or_create_cloud_key(state_dir)
    return protocol.public_key_text(_create(state_dir / NEXT_KEY_FILE))


def finish_rotation(state_dir: Path) -> str:
    nxt, active, retired = state_dir / NEXT_KEY_FILE, state_dir / CLOUD_KEY_FILE, state_dir / RETIRED_KEY_FILE
    if not nxt.exists():
        raise ConfigError("no rotation in progress; run `rotate-key begin` first")
    os.replace(active, retired)
    os.replace(nxt, active)
    return protocol.public_key_text(_load(active))


class KeyRing:
    """The keys as they are on disk now: ``rotate-key`` takes effect in a running cloud (and in
    every API worker) without a restart. Re-reads only when a key file changed."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._stamp: tuple[tuple[bool, int], ...] = ()
        self._keys: CloudKeys | None = None

    def _files_stamp(self) -> tuple[tuple[bool, int], ...]:
        stamp = []
        for name in (CLOUD_KEY_FILE, NEXT_KEY_FILE, RETIRED_KEY_FILE):
            try:
                stamp.append((True, (self.state_dir / name).stat().st_mtime_ns))
            except FileNotFoundError:
                stamp.append((False, 0))
        return tuple(stamp)

    def get(self) -> CloudKeys:
        stamp = self._files_stamp()
        if self._keys is None or stamp != self._stamp:
            self._keys = CloudKeys.load(self.state_dir)
            self._stamp = self._files_stamp()
        return self._keys
