"""Continue tokens name the next key and the list's revision, and only fit their own list."""

from __future__ import annotations

import pytest

from client import errors
from master.apiserver.listing import decode_continue, encode_continue

PREFIX, END = b"/registry/pods/default/", b"/registry/pods/default0"


def test_a_token_round_trips_its_key_and_revision():
    token = encode_continue(PREFIX + b"web-1\0", 99)
    assert decode_continue(token, PREFIX, END) == (PREFIX + b"web-1\0", 99)


@pytest.mark.parametrize(
    "token",
    [
        "not base64 at all",
        encode_continue(b"/registry/secrets/default/x", 5),
        encode_continue(PREFIX + b"x", 0),
    ],
    ids=["garbage", "other-list", "no-revision"],
)
def test_a_token_that_is_not_for_this_list_is_invalid(token):
    with pytest.raises(errors.Invalid, match="continue"):
        decode_continue(token, PREFIX, END)
