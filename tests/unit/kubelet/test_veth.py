"""veth.attach refuses what it cannot plumb before running any command."""

from __future__ import annotations

import pytest

from kubelet.network import veth
from kubelet.network.veth import Attachment, VethError, attach, host_end

AT = Attachment(bridge="br-0123456789ab", prefix=17, gateway="172.30.0.1")
CID = "0123456789abcdef" * 4


@pytest.fixture(autouse=True)
def no_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(argv: list[str], commands: str) -> None:
        raise AssertionError(f"ran {argv} with {commands!r}")

    monkeypatch.setattr(veth, "_run", refuse)


def test_the_host_end_is_named_within_the_kernels_fifteen_characters() -> None:
    assert host_end(CID) == "tbv0123456789ab"
    assert len(host_end(CID)) <= 15


@pytest.mark.parametrize(
    ("pid", "ip", "at", "said"),
    [
        (0, "172.30.1.2", AT, "has no process"),
        (42, "", AT, "cannot be empty"),
        (42, "172.30.1.2", Attachment("br-x", 17, ""), "cannot be empty"),
        (42, "172.30.1.2", Attachment("", 17, "172.30.0.1"), "bad attachment"),
        (42, "172.30.1.2", Attachment("br-x", 0, "172.30.0.1"), "bad attachment"),
    ],
)
def test_an_empty_or_malformed_plan_is_refused_before_any_command(
    pid: int, ip: str, at: Attachment, said: str
) -> None:
    with pytest.raises(VethError, match=said):
        attach(pid, CID, ip, at)
