"""Encryption at rest: the values of chosen resources (Secrets) are encrypted in etcd.

The configuration has the shape of Kubernetes' EncryptionConfiguration
(`apiserver.config.k8s.io/v1`), and stored values have its prefixes, so whoever knows
Kubernetes can read both:

    resources:
    - resources: [secrets]
      providers:
      - aesgcm: {keys: [{name: key2, secret: <base64 of 16, 24 or 32 bytes>}]}
      - aescbc: {keys: [{name: key1, secret: ...}]}
      - identity: {}

- A write uses the first provider (and its first key): `k8s:enc:aesgcm:v1:key2:` then a
  random 12-byte nonce and the AES-GCM ciphertext (or `k8s:enc:aescbc:v1:<key>:`, a random
  IV and AES-CBC with PKCS#7 padding). `identity` as first provider stores plaintext.
- A read picks the provider and key from the value's prefix, so after a rotation (a new
  key put first) old values stay readable until they are rewritten; a value without a
  prefix is read only when `identity` is listed.

Errors name the file and the field. The transformer is set for the whole process
(`set_transformer`), as the API server's other process-wide settings are.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from client import errors

PREFIX = b"k8s:enc:"
KEY_SIZES = (16, 24, 32)


class EncryptionConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Key:
    name: str
    secret: bytes


@dataclass(frozen=True)
class Provider:
    """One provider: "aesgcm", "aescbc" or "identity", with its keys (first one writes)."""

    kind: str
    keys: tuple[Key, ...] = ()

    def prefix(self, key: Key) -> bytes:
        return PREFIX + f"{self.kind}:v1:{key.name}:".encode()

    def encrypt(self, plain: bytes) -> bytes:
        if self.kind == "identity":
            return plain
        key = self.keys[0]
        if self.kind == "aesgcm":
            nonce = os.urandom(12)
            return self.prefix(key) + nonce + AESGCM(key.secret).encrypt(nonce, plain, None)
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key.secret), modes.CBC(iv)).encryptor()
        return self.prefix(key) + iv + encryptor.update(padded) + encryptor.finalize()

    def decrypt(self, key: Key, data: bytes) -> bytes:
        if self.kind == "aesgcm":
            return AESGCM(key.secret).decrypt(data[:12], data[12:], None)
        decryptor = Cipher(algorithms.AES(key.secret), modes.CBC(data[:16])).decryptor()
        padded = decryptor.update(data[16:]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()


@dataclass
class Transformer:
    """Encrypts and decrypts the stored values of the configured resources."""

    providers: Mapping[str, tuple[Provider, ...]] = field(default_factory=dict)
    """resource -> its providers, in order."""

    def encrypts(self, resource: str) -> bool:
        return resource in self.providers

    def to_storage(self, resource: str, plain: bytes) -> bytes:
        found = self.providers.get(resource)
        return plain if not found else found[0].encrypt(plain)

    def from_storage(self, resource: str, stored: bytes) -> bytes:
        found = self.providers.get(resource)
        if not found:
            return stored
        if not stored.startswith(PREFIX):
            if any(p.kind == "identity" for p in found):
                return stored
            raise errors.ApiError(
                f"a stored {resource} value is not encrypted and identity is not a provider"
            )
        for provider in found:
            for key in provider.keys:
                prefix = provider.prefix(key)
                if stored.startswith(prefix):
                    try:
                        return provider.decrypt(key, stored[len(prefix) :])
                    except Exception as e:  # a wrong key or a damaged value
                        raise errors.ApiError(
                            f"cannot decrypt a stored {resource} value with {provider.kind} "
                            f"key {key.name}: {type(e).__name__}"
                        ) from None
        raise errors.ApiError(
            f"no provider of {resource} has the key this value was encrypted with "
            f"({stored[: stored.find(b':', len(PREFIX) + 12) + 1].decode(errors='replace')})"
        )


def _keys(path: Path, where: str, spec: Any) -> tuple[Key, ...]:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("keys"), list) or not spec["keys"]:
        raise EncryptionConfigError(f"{path}: {where}.keys: at least one key is required")
    keys = []
    for i, entry in enumerate(spec["keys"]):
        at = f"{where}.keys[{i}]"
        if not isinstance(entry, Mapping) or not entry.get("name"):
            raise EncryptionConfigError(f"{path}: {at}.name: required")
        try:
            secret = base64.b64decode(str(entry.get("secret", "")), validate=True)
        except (binascii.Error, ValueError):
            raise EncryptionConfigError(f"{path}: {at}.secret: not base64") from None
        if len(secret) not in KEY_SIZES:
            raise EncryptionConfigError(
                f"{path}: {at}.secret: {len(secret)} bytes; AES needs 16, 24 or 32"
            )
        keys.append(Key(str(entry["name"]), secret))
    return tuple(keys)


def parse(text: str, path: Path) -> Transformer:
    """The transformer an EncryptionConfiguration describes."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise EncryptionConfigError(f"{path}: not YAML: {e}") from None
    if not isinstance(doc, Mapping) or doc.get("kind") != "EncryptionConfiguration":
        raise EncryptionConfigError(f"{path}: kind: must be EncryptionConfiguration")
    rules = doc.get("resources")
    if not isinstance(rules, list):
        raise EncryptionConfigError(f"{path}: resources: a list is required")
    providers: dict[str, tuple[Provider, ...]] = {}
    for i, rule in enumerate(rules):
        where = f"resources[{i}]"
        if not isinstance(rule, Mapping) or not isinstance(rule.get("resources"), list):
            raise EncryptionConfigError(f"{path}: {where}.resources: a list is required")
        chain = []
        for j, entry in enumerate(rule.get("providers") or []):
            at = f"{where}.providers[{j}]"
            if not isinstance(entry, Mapping) or len(entry) != 1:
                raise EncryptionConfigError(f"{path}: {at}: exactly one provider per entry")
            (kind, spec), = entry.items()
            if kind == "identity":
                chain.append(Provider("identity"))
            elif kind in ("aesgcm", "aescbc"):
                chain.append(Provider(kind, _keys(path, f"{at}.{kind}", spec)))
            else:
                raise EncryptionConfigError(
                    f"{path}: {at}: unsupported provider {kind!r} (aesgcm, aescbc, identity)"
                )
        if not chain:
            raise EncryptionConfigError(f"{path}: {where}.providers: at least one is required")
        for resource in rule["resources"]:
            name = str(resource).split(".")[0]
            providers.setdefault(name, tuple(chain))
    return Transformer(providers)


def load(path: Path) -> Transformer:
    try:
        return parse(path.read_text(), path)
    except OSError as e:
        raise EncryptionConfigError(f"{path}: cannot read: {e.strerror}") from None


_CURRENT = Transformer()


def current() -> Transformer:
    """The process' transformer (none encrypts until one is set)."""
    return _CURRENT


def set_transformer(transformer: Transformer) -> Transformer:
    """Use `transformer` from now on; the previous one, to put back."""
    global _CURRENT
    previous, _CURRENT = _CURRENT, transformer
    return previous
