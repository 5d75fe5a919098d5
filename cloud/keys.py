"""The cloud's signing key: acks and commands are signed with it, agents pin its public half."""

from __future__ import annotations

import os
from pathlib import Path

import protocol
from protocol import Ed25519PrivateKey

from .const import CLOUD_KEY_FILE
from .errors import ConfigError


def load_or_create_cloud_key(state_dir: Path) -> Ed25519PrivateKey:
    path = state_dir / CLOUD_KEY_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"{path} is readable by others; chmod 600 it")
        try:
            return protocol.load_private_key_pem(path.read_bytes())
        except protocol.ProtocolError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = protocol.generate_private_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process (API worker, CLI) created it first: use theirs.
        return load_or_create_cloud_key(state_dir)
    with os.fdopen(fd, "wb") as fh:
        fh.write(protocol.private_key_pem(key))
        fh.flush()
        os.fsync(fh.fileno())
    return key
