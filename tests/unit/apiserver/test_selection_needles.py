"""The bytes a stored object must hold to be selected: the values of a field selector's
equality requirements, so a list from etcd skips decoding the objects that lack them."""

from __future__ import annotations

import pytest

from master.apiserver.selection import parse


@pytest.mark.parametrize(
    ("labels", "fields", "needles"),
    [
        ("", "spec.nodeName=node-1", (b"node-1",)),
        ("", "spec.nodeName==node-1,status.phase=Running", (b"node-1", b"Running")),
        ("", "spec.nodeName=node-1,status.phase!=Failed", (b"node-1",)),
        ("", "spec.nodeName=", ()),
        ("app=web", "", ()),
        ("", "", ()),
    ],
)
def test_only_non_empty_equalities_of_fields_are_needles(labels, fields, needles):
    assert parse(labels, fields).needles() == needles
