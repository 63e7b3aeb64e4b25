"""SPDY/3.1 frames as kubectl's port forwarding sends and expects them."""

from __future__ import annotations

import zlib

import pytest

from master.apiserver.rest import spdy


def syn_stream(deflate: zlib._Compress, stream_id: int, headers: dict[str, str]) -> bytes:
    block = deflate.compress(spdy.encode_block(headers)) + deflate.flush(zlib.Z_SYNC_FLUSH)
    payload = stream_id.to_bytes(4, "big") + bytes(4) + bytes([0, 0]) + block
    head = (0x8000 | 3).to_bytes(2, "big") + spdy.SYN_STREAM.to_bytes(2, "big")
    return head + bytes([0]) + len(payload).to_bytes(3, "big") + payload


def test_stream_headers_share_one_compression_context_across_frames_and_cuts():
    client = zlib.compressobj(zdict=spdy.DICTIONARY)
    wire = syn_stream(client, 1, {"streamType": "error", "port": "80", "requestID": "0"})
    wire += syn_stream(client, 3, {"streamType": "data", "port": "80", "requestID": "0"})
    wire += spdy.data(3, b"GET / HTTP/1.0\r\n\r\n", fin=True)
    reader = spdy.FrameReader()
    frames = [f for i in range(0, len(wire), 7) for f in reader.feed(wire[i : i + 7])]
    assert [(f.kind, f.stream_id) for f in frames] == [(1, 1), (1, 3), (0, 3)]
    assert frames[1].header("streamtype") == "data"  # names are lower-cased on the wire
    assert frames[1].header("requestid") == "0"
    assert frames[2].data == b"GET / HTTP/1.0\r\n\r\n" and frames[2].fin


def test_a_reply_decompresses_with_the_spdy_dictionary():
    writer = spdy.FrameWriter()
    reader = spdy.FrameReader()
    first = reader.feed(writer.syn_reply(1))
    second = reader.feed(writer.syn_reply(3, {"x": "y"}))
    assert [(f.kind, f.stream_id) for f in first + second] == [(2, 1), (2, 3)]
    assert second[0].header("x") == "y"


def test_ping_reset_and_goaway_carry_their_ids():
    reader = spdy.FrameReader()
    ping, reset, away = reader.feed(
        spdy.ping(7) + spdy.rst_stream(5, spdy.RST_CANCEL) + spdy.goaway(9)
    )
    assert (ping.kind, ping.stream_id) == (spdy.PING, 7)
    assert (reset.kind, reset.stream_id, reset.status) == (spdy.RST_STREAM, 5, spdy.RST_CANCEL)
    assert (away.kind, away.stream_id) == (spdy.GOAWAY, 9)


def test_another_spdy_version_is_refused():
    frame = bytearray(spdy.ping(1))
    frame[1] = 2
    with pytest.raises(spdy.ProtocolError, match="version 2"):
        spdy.FrameReader().feed(bytes(frame))
