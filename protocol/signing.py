"""Ed25519 keys: generation and (de)serialisation.

Public keys travel as the raw 32 bytes in unpadded base64url, which is what an
operator can paste and compare; private keys are stored as PKCS#8 PEM.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import MalformedMessage

__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "b64decode",
    "b64encode",
    "generate_private_key",
    "load_private_key_pem",
    "load_public_key",
    "private_key_pem",
    "public_key_text",
]


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str | bytes) -> bytes:
    raw = text.encode("ascii") if isinstance(text, str) else text
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedMessage("invalid base64url") from exc


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return b64encode(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def load_public_key(text: str) -> Ed25519PublicKey:
    raw = b64decode(text)
    if len(raw) != 32:
        raise MalformedMessage("an Ed25519 public key is 32 bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise MalformedMessage("invalid Ed25519 public key") from exc


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key_pem(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise MalformedMessage("invalid private key file") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise MalformedMessage("private key is not Ed25519")
    return key
