"""Reading manifests: multi-document YAML (or JSON) from a file, a directory or stdin.

A user's mistake must be findable at a glance, so every error names the file, the
document's number in it (1-based, counting `---`-separated documents as an editor shows
them) and the field path:

    examples/web.yaml (document 2): spec.template.spec.containers[0].ports[0].containerPort:
    expected an integer, got string 'eighty'

A directory is read like `kubectl apply -f DIR` without `-R`: every *.yaml, *.yml and
*.json file in it, sorted by name, not descending into sub-directories.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from client import codec, kinds
from client.kinds import Kind, Object

__all__ = ["Manifest", "ManifestError", "load_manifests", "parse_manifests"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader where PyYAML was built with it: several times faster."""

EXTENSIONS = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass
class Manifest:
    """One object of a manifest file, parsed into its message."""

    source: str
    """The file as the user named it, or "<stdin>"."""
    index: int
    """The document's number in the file, from 1."""
    kind: Kind
    obj: Object
    raw: dict[str, Any]
    """The document as written (one item of it, for a List)."""

    @property
    def where(self) -> str:
        """`file (document N)`, as errors print it."""
        return f"{self.source} (document {self.index})"


class ManifestError(ValueError):
    """A manifest that cannot be read; str() names the file, the document and the field."""

    def __init__(self, source: str, index: int | None, path: str, detail: str) -> None:
        where = source if index is None else f"{source} (document {index})"
        text = f"{where}: {path}: {detail}" if path else f"{where}: {detail}"
        super().__init__(text)
        self.source = source
        self.index = index
        self.path = path
        self.detail = detail


def load_manifests(path_or_dash: str | Path, stdin: TextIO | None = None) -> list[Manifest]:
    """Every object in a file, a directory's manifest files, or stdin ("-")."""
    if str(path_or_dash) == STDIN:
        stream = stdin if stdin is not None else sys.stdin
        return list(parse_manifests(stream.read(), "<stdin>"))
    path = Path(path_or_dash)
    if path.is_dir():
        found: list[Manifest] = []
        for child in sorted(path.iterdir()):
            if child.is_file() and child.suffix.lower() in EXTENSIONS:
                found.extend(_load_file(child, str(child)))
        return found
    return list(_load_file(path, str(path_or_dash)))


def _load_file(path: Path, source: str) -> Iterator[Manifest]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(source, None, "", "the path does not exist") from None
    except UnicodeDecodeError as e:
        raise ManifestError(source, None, "", f"not UTF-8 text ({e.reason})") from None
    except OSError as e:
        raise ManifestError(source, None, "", e.strerror or str(e)) from None
    return parse_manifests(text, source, json_only=path.suffix.lower() == ".json")


def parse_manifests(text: str, source: str, *, json_only: bool = False) -> Iterator[Manifest]:
    """The objects of one file's text; `source` names it in errors."""
    index = 1
    try:
        for index, document in _documents(text, source, json_only):
            if document is None:
                continue
            yield from _objects(document, source, index)
    except RecursionError:
        # The JSON and YAML readers and the codec recurse per level: a document nested
        # past Python's stack is refused by name rather than with a traceback.
        raise ManifestError(source, index, "", "nested too deeply to read") from None


def _documents(text: str, source: str, json_only: bool) -> Iterator[tuple[int, object]]:
    if json_only:
        try:
            yield 1, json.loads(text) if text.strip() else None
        except json.JSONDecodeError as e:
            raise ManifestError(
                source, 1, "", f"JSON syntax error at line {e.lineno}, column {e.colno}: {e.msg}"
            ) from None
        return
    index = 0
    try:
        for index, document in enumerate(yaml.load_all(text, Loader=_Loader), start=1):
            yield index, document
    except yaml.YAMLError as e:
        raise ManifestError(source, index + 1, "", _yaml_error(e)) from None


def _yaml_error(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        problem = error.problem or "invalid YAML"
        context = f" ({error.context})" if error.context else ""
        return (
            f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: "
            f"{problem}{context}"
        )
    return f"YAML syntax error: {error}"


def _objects(document: object, source: str, index: int) -> Iterator[Manifest]:
    if not isinstance(document, Mapping):
        raise ManifestError(
            source, index, "", f"expected an object with apiVersion and kind, got {_what(document)}"
        )
    raw = dict(document)
    if raw.get("kind") == "List" and "items" in raw:
        items = raw["items"]
        if not isinstance(items, list):
            raise ManifestError(source, index, "items", f"expected an array, got {_what(items)}")
        for i, item in enumerate(items):
            if item is None:
                continue
            if not isinstance(item, Mapping):
                raise ManifestError(
                    source, index, f"items[{i}]", f"expected an object, got {_what(item)}"
                )
            yield _object(dict(item), source, index, f"items[{i}]")
        return
    yield _object(raw, source, index, "")


def _object(raw: dict[str, Any], source: str, index: int, prefix: str) -> Manifest:
    def path(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    for required in ("apiVersion", "kind"):
        value = raw.get(required)
        if value is None or value == "":
            raise ManifestError(source, index, path(required), "required field is missing")
        if not isinstance(value, str):
            raise ManifestError(
                source, index, path(required), f"expected a string, got {_what(value)}"
            )
    try:
        kind = kinds.by_kind(raw["apiVersion"], raw["kind"])
    except kinds.UnknownKindError as e:
        raise ManifestError(source, index, path("kind"), str(e)) from None
    try:
        obj = codec.from_dict(kind.message, raw, path=prefix)
    except codec.FieldError as e:
        raise ManifestError(source, index, e.path, e.detail) from None
    if not obj.metadata.name and not obj.metadata.generate_name:  # type: ignore[attr-defined]
        raise ManifestError(
            source, index, path("metadata.name"), "name or generateName is required"
        )
    return Manifest(source=source, index=index, kind=kind, obj=obj, raw=raw)  # type: ignore[arg-type]


def _what(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
