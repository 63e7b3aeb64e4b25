"""Static bearer tokens from a file, as kube-apiserver's `--token-auth-file`.

One token per line, CSV: `token,user,uid,"group1,group2"` (the groups column is
optional). Blank lines and lines starting with `#` are skipped. A malformed line is an
error naming the file and the line, so a typo never silently locks a user out.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from master.apiserver.auth.user import UserInfo

__all__ = ["TokenFileError", "load_token_file", "parse_tokens"]


class TokenFileError(ValueError):
    """A token file that cannot be used; the message names the file and line."""


def parse_tokens(text: str, source: str) -> dict[str, UserInfo]:
    """Token -> user for every line of `text`; `source` names it in errors."""
    users: dict[str, UserInfo] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            row = next(csv.reader(io.StringIO(line)))
        except csv.Error as e:
            raise TokenFileError(f"{source}:{number}: {e}") from None
        if len(row) < 3:
            raise TokenFileError(
                f"{source}:{number}: expected token,user,uid[,\"group1,group2\"], "
                f"got {len(row)} column(s)"
            )
        token, name, uid = (c.strip() for c in row[:3])
        if not token or not name:
            raise TokenFileError(f"{source}:{number}: the token and the user must not be empty")
        if token in users:
            raise TokenFileError(f"{source}:{number}: this token is already given to another line")
        groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
        users[token] = UserInfo(name, groups, uid).with_authenticated()
    return users


def load_token_file(path: Path) -> dict[str, UserInfo]:
    """The tokens of `path`; TokenFileError when it cannot be read or parsed."""
    try:
        text = path.read_text()
    except OSError as e:
        raise TokenFileError(f"--token-auth-file {path}: {e.strerror}") from None
    return parse_tokens(text, str(path))

