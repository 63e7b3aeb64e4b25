"""Election settings are checked when they are made, naming the bad setting."""

from __future__ import annotations

import pytest

from master.leaderelection.election import ConfigError, ElectionConfig, LeaderElector, Leadership


def test_defaults_renew_three_times_per_ttl_and_stop_before_it_ends():
    cfg = ElectionConfig("tug-scheduler", identity="a")
    assert cfg.lease_ttl == 3.0
    assert cfg.renew_interval == pytest.approx(1.0)
    assert cfg.renew_interval < cfg.renew_deadline < cfg.lease_ttl
    assert cfg.key == "/tugboat/leaders/tug-scheduler"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"renew_interval": 3.0}, "renew_interval", id="renew-interval-equal-to-ttl"),
        pytest.param({"renew_interval": 5.0}, "renew_interval", id="renew-interval-above-ttl"),
        pytest.param({"renew_interval": -1.0}, "renew_interval", id="negative-renew-interval"),
        pytest.param(
            {"renew_interval": 1.0, "renew_deadline": 0.5},
            "renew_deadline",
            id="deadline-below-interval",
        ),
        pytest.param({"renew_deadline": 3.0}, "renew_deadline", id="deadline-equal-to-ttl"),
        pytest.param({"lease_ttl": 0.5}, "lease_ttl", id="ttl-below-one-second"),
        pytest.param({"identity": ""}, "identity", id="empty-identity"),
        pytest.param({"retry_interval": 0.0}, "retry_interval", id="zero-retry-interval"),
    ],
)
def test_an_impossible_setting_is_refused_naming_it(kwargs, field):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        ElectionConfig("tug-scheduler", **kwargs)


def test_a_component_name_with_a_slash_is_refused():
    with pytest.raises(ConfigError, match=r"^component:"):
        ElectionConfig("a/b", identity="x")


def test_an_elector_needs_an_etcd_endpoint():
    with pytest.raises(ConfigError, match="etcd_endpoints"):
        LeaderElector([], ElectionConfig("tug-scheduler", identity="x"))


def test_the_fence_is_the_key_and_its_create_revision():
    term = Leadership("/tugboat/leaders/x", 42, "me", 7, 0.0)
    assert term.fence.key == "/tugboat/leaders/x"
    assert term.fence.revision == 42


def test_a_leader_past_its_renew_deadline_is_unhealthy():
    now = [100.0]
    elector = LeaderElector(
        ["127.0.0.1:1"], ElectionConfig("c", identity="x"), clock=lambda: now[0]
    )
    assert elector.healthy()
    elector.leadership = Leadership("/k", 1, "x", 1, 100.0)
    elector.last_renewal = 100.0
    assert elector.is_leader()
    now[0] = 100.0 + elector.config.renew_deadline
    assert not elector.healthy()
    assert not elector.is_leader()
