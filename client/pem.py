"""PEM blocks read as Go's encoding/pem reads them, by everyone who must agree on them.

A CertificateSigningRequest's `spec.request` is read by the API server (validation, the
CertificateSubjectRestriction check) and by the controller manager's signer, and
`kubectl describe csr` reads it with Go. If any of them read another block than the
others, an approver could be shown one subject while another is signed; so there is one
reader, here, and it picks blocks as Go's `pem.Decode` does: a BEGIN line at the start of
a line (trailing spaces and tabs allowed) ending in `-----`, the first END line after it
naming the same type, an optional header section, a base64 body; text around and between
blocks, and a block that breaks these rules, are skipped.

The scan is linear in the input: every BEGIN and END line is found in one pass each and a
block's END is looked up by position, so a request made of thousands of unterminated
BEGIN lines costs no more than its length (a backtracking pattern took seconds on 72 KB,
on the API server's event loop).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Block", "blocks"]

_BEGIN = re.compile(rb"(?m)^-----BEGIN ([^\r\n-]*)-----[ \t]*\r?$")
_END = re.compile(rb"(?m)^-----END ([^\r\n]*)$")


@dataclass(frozen=True)
class Block:
    """One PEM block: its type, whether it had headers, its DER bytes."""

    type: str
    headers: bool
    der: bytes


def blocks(data: bytes) -> Iterator[Block]:
    """The valid PEM blocks of `data`, in order."""
    ends = [(m.start(), m.end(), m.group(1).rstrip(b" \t\r")) for m in _END.finditer(data)]
    starts = [e[0] for e in ends]
    after = 0
    for begin in _BEGIN.finditer(data):
        if begin.start() < after:
            continue  # inside the block before
        i = bisect.bisect_left(starts, begin.end())
        if i == len(ends) or ends[i][2] != begin.group(1) + b"-----":
            continue  # Go's Decode: the first END line after BEGIN must close its type
        body = data[begin.end() : ends[i][0]]
        found = _block(begin.group(1), body)
        if found is not None:
            after = ends[i][1]
            yield found


def _block(kind: bytes, body: bytes) -> Block | None:
    lines = body.lstrip(b"\r\n").split(b"\n")
    # Headers, as Go reads them: the lines before the first one without a colon.
    count = next((n for n, line in enumerate(lines) if b":" not in line), len(lines))
    try:
        text = b"".join(b"".join(line.split()) for line in lines[count:])
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return Block(kind.decode(errors="replace"), count > 0, der)
