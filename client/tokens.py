"""A component's bearer token, read from the file its `--token-file` flag names.

A token on the command line would show in `ps`; a file readable only by the component's
user does not. The whole file, stripped, is the token, as in a ServiceAccount's token file.
"""

from __future__ import annotations

from pathlib import Path


def read_token(path: str) -> str:
    """The token in `path`; "" for no path; ValueError naming the file when unusable."""
    if not path:
        return ""
    try:
        token = Path(path).read_text().strip()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the token: {e.strerror}") from None
    if not token or any(c.isspace() for c in token):
        raise ValueError(f"{path}: holds no token (one line, no spaces)")
    return token
