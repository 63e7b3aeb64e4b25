"""The manifests behind `-f`: a file, every manifest file of a directory, or `-` for stdin.

Documents are loaded one by one, so that one broken document (or file) does not stop
the others from being applied: kubectl's behaviour. A YAML syntax error still spoils
its whole file, since the documents after it cannot be told apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import yaml

from cli.errors import CliError
from client import manifests
from client.manifests import Manifest, ManifestError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def expand(paths: list[str]) -> list[str]:
    """Each `-f` argument as the list of files (or "-") to read, in kubectl's order."""
    out: list[str] = []
    for given in paths:
        if given == manifests.STDIN:
            out.append(given)
            continue
        path = Path(given)
        if path.is_dir():
            found = sorted(
                str(p)
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in manifests.EXTENSIONS
            )
            if not found:
                raise CliError(f"{given}: no manifest files (.yaml, .yml, .json) in it")
            out.extend(found)
        elif path.exists():
            out.append(given)
        else:
            raise CliError(f'the path "{given}" does not exist')
    return out


def _file_documents(text: str, source: str) -> Iterator[Manifest | ManifestError]:
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError:
        # Let the manifest loader word the syntax error (file, document, line).
        try:
            list(manifests.parse_manifests(text, source))
        except ManifestError as e:
            yield e
        return
    for index, document in enumerate(documents, start=1):
        if document is None:
            continue
        try:
            yield from list(manifests._objects(document, source, index))
        except ManifestError as e:
            yield e


def load(paths: list[str], stdin: TextIO) -> list[Manifest | ManifestError]:
    """Every document of every `-f` source, each parsed or the error naming it."""
    out: list[Manifest | ManifestError] = []
    for source in expand(paths):
        if source == manifests.STDIN:
            out.extend(_file_documents(stdin.read(), "<stdin>"))
            continue
        if Path(source).suffix.lower() == ".json":
            try:
                out.extend(manifests.load_manifests(source))
            except ManifestError as e:
                out.append(e)
            continue
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            out.append(ManifestError(source, None, "", str(e)))
            continue
        out.extend(_file_documents(text, source))
    return out
