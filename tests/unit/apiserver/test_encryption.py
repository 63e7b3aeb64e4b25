import base64
from pathlib import Path

import pytest

from client import errors
from master.apiserver import encryption

KEY1 = base64.b64encode(b"1" * 32).decode()
KEY2 = base64.b64encode(b"2" * 32).decode()
WHERE = Path("enc.yaml")


def config(*providers: str) -> encryption.Transformer:
    body = "\n".join(f"      - {p}" for p in providers)
    text = (
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
        f"resources:\n  - resources: [secrets]\n    providers:\n{body}\n"
    )
    return encryption.parse(text, WHERE)


@pytest.mark.parametrize("kind", ["aesgcm", "aescbc"])
def test_a_value_is_stored_encrypted_with_kubernetes_prefix_and_read_back(kind: str):
    t = config(f"{kind}: {{keys: [{{name: key1, secret: {KEY1}}}]}}")
    stored = t.to_storage("secrets", b"hunter2")
    assert stored.startswith(f"k8s:enc:{kind}:v1:key1:".encode())
    assert b"hunter2" not in stored
    assert t.from_storage("secrets", stored) == b"hunter2"
    assert t.to_storage("secrets", b"hunter2") != stored, "a fresh nonce or IV every time"
    assert t.to_storage("configmaps", b"plain") == b"plain"


def test_after_a_rotation_old_values_stay_readable_and_new_ones_use_the_new_key():
    old = config(f"aesgcm: {{keys: [{{name: key1, secret: {KEY1}}}]}}")
    written = old.to_storage("secrets", b"v")
    rotated = config(
        f"aesgcm: {{keys: [{{name: key2, secret: {KEY2}}}, {{name: key1, secret: {KEY1}}}]}}"
    )
    assert rotated.from_storage("secrets", written) == b"v"
    assert rotated.to_storage("secrets", b"v").startswith(b"k8s:enc:aesgcm:v1:key2:")


def test_plaintext_is_read_only_when_identity_is_a_provider():
    with_identity = config(f"aesgcm: {{keys: [{{name: k, secret: {KEY1}}}]}}", "identity: {}")
    assert with_identity.from_storage("secrets", b"\x0a\x00") == b"\x0a\x00"
    strict = config(f"aesgcm: {{keys: [{{name: k, secret: {KEY1}}}]}}")
    with pytest.raises(errors.ApiError, match="not encrypted"):
        strict.from_storage("secrets", b"\x0a\x00")


def test_a_value_under_an_unknown_key_is_an_error_not_garbage():
    first = config(f"aesgcm: {{keys: [{{name: key1, secret: {KEY1}}}]}}")
    written = first.to_storage("secrets", b"v")
    other = config(f"aesgcm: {{keys: [{{name: key9, secret: {KEY2}}}]}}")
    with pytest.raises(errors.ApiError, match="no provider"):
        other.from_storage("secrets", written)


@pytest.mark.parametrize(
    ("provider", "field"),
    [
        ("aesgcm: {keys: []}", "providers[0].aesgcm.keys"),
        ("aesgcm: {keys: [{name: k, secret: bm90LWJhc2U2NA}]}", "keys[0].secret"),
        ("aesgcm: {keys: [{secret: " + KEY1 + "}]}", "keys[0].name"),
        ("kms: {name: x}", "providers[0]"),
    ],
)
def test_a_bad_configuration_names_the_file_and_the_field(provider: str, field: str):
    with pytest.raises(encryption.EncryptionConfigError) as raised:
        config(provider)
    assert str(raised.value).startswith("enc.yaml: ") and field in str(raised.value)
