"""SPDY/3.1 framing, as far as Kubernetes' port forwarding uses it.

kubectl 1.32 forwards ports over a WebSocket (`SPDY/3.1+portforward.k8s.io`) whose binary
messages carry a SPDY/3.1 session byte for byte: kube-apiserver tunnels it to the kubelet,
which speaks SPDY. Tugboat ends the SPDY session in the API server itself and relays each
stream over gRPC, so only a server's share of the protocol is here: reading every frame a
client sends, and writing SYN_REPLY, DATA, RST_STREAM, PING and GOAWAY. spdystream (the
client kubectl uses) keeps no flow-control windows, so WINDOW_UPDATE is read and ignored.

Header blocks are zlib streams primed with the dictionary of the SPDY/3 specification;
each direction keeps one compression context for the whole session, so the reader and the
writer here live as long as the connection.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_CANCEL, RST_INTERNAL_ERROR = 1, 5, 6
MAX_DATA = (1 << 24) - 1

_WORDS = (
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
)
_TAIL = (
    "10010120120220520630030230330430530630740240540640740840941041141241341441541641"
    "7502504505203 Non-Authoritative Information204 No Content301 Moved Permanently40"
    "0 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept O"
    "ct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,imag"
    "e/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/"
    "javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1"
    ",utf-,*,enq=0."
)
DICTIONARY = b"".join(len(w).to_bytes(4, "big") + w.encode() for w in _WORDS) + _TAIL.encode()
"""The header compression dictionary of SPDY/3 (length-prefixed header names and
values, then common value fragments)."""


class ProtocolError(ValueError):
    """Bytes that are not a SPDY/3 session."""


@dataclass(frozen=True)
class Frame:
    """One frame: `kind` is the control frame type, or 0 for DATA."""

    kind: int
    flags: int
    stream_id: int = 0
    data: bytes = b""
    headers: dict[str, list[str]] = field(default_factory=dict)
    status: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower(), [])
        return values[0] if values else ""


class FrameReader:
    """Frames from the bytes of a session, fed as they arrive in any cut."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            length = int.from_bytes(self._buffer[5:8], "big")
            if len(self._buffer) < 8 + length:
                break
            head, payload = bytes(self._buffer[:8]), bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            flags = head[4]
            if head[0] & 0x80:
                version = int.from_bytes(head[0:2], "big") & 0x7FFF
                if version != VERSION:
                    raise ProtocolError(f"SPDY version {version} is not supported")
                frames.append(self._control(int.from_bytes(head[2:4], "big"), flags, payload))
            else:
                stream = int.from_bytes(head[0:4], "big") & 0x7FFFFFFF
                frames.append(Frame(0, flags, stream, payload))
        return frames

    def _control(self, kind: int, flags: int, payload: bytes) -> Frame:
        def word(at: int) -> int:
            if len(payload) < at + 4:
                raise ProtocolError(f"control frame {kind} is too short")
            return int.from_bytes(payload[at : at + 4], "big") & 0x7FFFFFFF

        if kind == SYN_STREAM:
            return Frame(kind, flags, word(0), headers=self._headers(payload[10:]))
        if kind in (SYN_REPLY, HEADERS):
            return Frame(kind, flags, word(0), headers=self._headers(payload[4:]))
        if kind == RST_STREAM:
            return Frame(kind, flags, word(0), status=word(4))
        if kind in (PING, WINDOW_UPDATE):
            return Frame(kind, flags, word(0), data=payload)
        if kind == GOAWAY:
            return Frame(kind, flags, word(0), status=word(4) if len(payload) >= 8 else 0)
        return Frame(kind, flags, data=payload)  # SETTINGS and unknown types: ignored

    def _headers(self, compressed: bytes) -> dict[str, list[str]]:
        try:
            block = self._inflate.decompress(compressed)
        except zlib.error as e:
            raise ProtocolError(f"bad header block: {e}") from None
        return parse_block(block)


def parse_block(block: bytes) -> dict[str, list[str]]:
    """The name/value pairs of an uncompressed header block."""

    def number(at: int) -> int:
        if len(block) < at + 4:
            raise ProtocolError("truncated header block")
        return int.from_bytes(block[at : at + 4], "big")

    headers: dict[str, list[str]] = {}
    at, count = 4, number(0)
    for _ in range(count):
        size = number(at)
        name = block[at + 4 : at + 4 + size].decode().lower()
        at += 4 + size
        size = number(at)
        value = block[at + 4 : at + 4 + size].decode()
        at += 4 + size
        headers.setdefault(name, []).extend(value.split("\x00"))
    return headers


def encode_block(headers: dict[str, str]) -> bytes:
    out = len(headers).to_bytes(4, "big")
    for name, value in headers.items():
        raw_name, raw_value = name.lower().encode(), value.encode()
        out += len(raw_name).to_bytes(4, "big") + raw_name
        out += len(raw_value).to_bytes(4, "big") + raw_value
    return out


def _control(kind: int, flags: int, payload: bytes) -> bytes:
    head = (0x8000 | VERSION).to_bytes(2, "big") + kind.to_bytes(2, "big")
    return head + bytes([flags]) + len(payload).to_bytes(3, "big") + payload


class FrameWriter:
    """Frames of the server's side; one per session, for its header compression."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zdict=DICTIONARY)

    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None) -> bytes:
        block = self._deflate.compress(encode_block(headers or {}))
        block += self._deflate.flush(zlib.Z_SYNC_FLUSH)
        return _control(SYN_REPLY, 0, stream_id.to_bytes(4, "big") + block)


def data(stream_id: int, payload: bytes, *, fin: bool = False) -> bytes:
    if len(payload) > MAX_DATA:
        raise ValueError("a DATA frame holds at most 16 MiB")
    flags = FLAG_FIN if fin else 0
    return stream_id.to_bytes(4, "big") + bytes([flags]) + len(payload).to_bytes(3, "big") + payload


def rst_stream(stream_id: int, status: int) -> bytes:
    return _control(RST_STREAM, 0, stream_id.to_bytes(4, "big") + status.to_bytes(4, "big"))


def ping(ping_id: int) -> bytes:
    return _control(PING, 0, ping_id.to_bytes(4, "big"))


def goaway(last_stream: int) -> bytes:
    return _control(GOAWAY, 0, last_stream.to_bytes(4, "big") + (0).to_bytes(4, "big"))
