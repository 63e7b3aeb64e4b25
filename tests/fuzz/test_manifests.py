"""Random manifests through the manifest loader: an object, or an error naming the file,
the document and (for a value of the wrong shape) the field; never any other exception.

Valid manifests of every kind are drawn from the kinds' descriptors, then one value
somewhere in the tree is replaced by something of another shape (a string, a number,
a list, a map, null, a deep nest, unicode), and the text is written as YAML or JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import assume, event, given
from hypothesis import strategies as st

from client import codec, kinds
from client.kinds import Kind
from client.manifests import ManifestError, parse_manifests
from tests.fuzz.conftest import FUZZ
from tests.fuzz.messages import fill, message_of

SOURCE = "fuzz.yaml"

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["80", "1Gi", "true", "null", "0x10", "1e3", "🚢", "\x00"]),
)
json_values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=12,
)


def nest(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


replacements = st.one_of(json_values, st.integers(20, 300).map(nest))


@st.composite
def manifests(draw: st.DrawFn) -> tuple[Kind, dict[str, Any]]:
    """A valid manifest of a random kind, as the dict a YAML file would hold."""
    kind = draw(st.sampled_from(kinds.KINDS))
    obj = fill(kind.message(), draw(message_of(kind.message.DESCRIPTOR)))
    try:
        raw = codec.to_dict(obj)
    except ValueError:
        assume(False)  # RawJSON text that is not JSON: the API refuses it (test_api_requests)
    assert isinstance(raw, dict)
    raw.update(apiVersion=kind.api_version, kind=kind.kind)
    raw.setdefault("metadata", {})["name"] = "fuzzed"
    return kind, raw


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree, as keys and indexes from the top."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths(v, (*prefix, i))
    return found


def replaced(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {**tree, head: replaced(tree[head], rest, value)}
    copy = list(tree)
    copy[head] = replaced(copy[head], rest, value)
    return copy


def spelled(path: tuple[Any, ...]) -> str:
    """A path as the loader's errors spell it: spec.containers[0].image."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def flat(path: str) -> str:
    """A path without its punctuation: map keys are spelled `[key]`, fields `.name`."""
    return path.replace(".", "").replace("[", "").replace("]", "")


def load(text: str, *, json_only: bool = False) -> list[Any]:
    """The loader's answer, which must be objects or a ManifestError naming the file."""
    try:
        return list(parse_manifests(text, SOURCE, json_only=json_only))
    except ManifestError as e:
        assert str(e).startswith(SOURCE), e
        assert e.index is not None and e.index >= 1, e
        event("refused")
        return []


@FUZZ
@given(drawn=manifests(), data=st.data(), as_json=st.booleans())
def test_a_manifest_with_one_value_of_another_shape_loads_or_names_that_field(
    drawn: tuple[Kind, dict[str, Any]], data: st.DataObject, as_json: bool
) -> None:
    kind, raw = drawn
    # A drawn message can hold what no manifest spells (a number where fieldsV1 holds
    # JSON): such a draw is not a valid starting point.
    try:
        assert [m.kind for m in parse_manifests(yaml.safe_dump(raw), SOURCE)] == [kind]
    except ManifestError:
        assume(False)
    where = data.draw(st.sampled_from(paths(raw)[1:]), label="where")
    value = data.draw(replacements, label="value")
    mutated = replaced(raw, where, value)
    text = json.dumps(mutated) if as_json else yaml.safe_dump(mutated)
    try:
        loaded = list(parse_manifests(text, SOURCE, json_only=as_json))
    except ManifestError as e:
        event("refused")
        assert str(e).startswith(f"{SOURCE} (document 1)"), e
        if where[0] not in ("apiVersion", "kind"):
            # The error is at the replaced value or inside it (a list's first bad item).
            named, replaced_at = flat(e.path), flat(spelled(where))
            assert named.startswith(replaced_at) or replaced_at.startswith(named), (
                f"replaced {spelled(where)}, error names {e.path!r}: {e}"
            )
        return
    event("accepted")
    assert len(loaded) == 1


@FUZZ
@given(text=st.text(max_size=400))
def test_any_text_loads_or_names_the_file_and_document(text: str) -> None:
    load(text)
    load(text, json_only=True)


@pytest.mark.parametrize("depth", [100, 5_000])
def test_deeply_nested_documents_are_refused_by_field_not_by_a_crash(depth: int) -> None:
    head = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": '
    deep = "[" * depth + "]" * depth
    for text, as_json in ((head + deep + "}", True), (f"data: {deep}", False)):
        try:
            list(parse_manifests(text, SOURCE, json_only=as_json))
        except ManifestError as e:
            assert str(e).startswith(SOURCE), e
