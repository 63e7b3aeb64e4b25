"""The pieces of `tug up`: etcd version policy, port layout, PID identity, config file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli import config as configfile
from cli.cluster.components import parse_etcd_version, refuse_bad_etcd
from cli.cluster.layout import Layout
from cli.cluster.processes import Record, alive, start_time
from cli.errors import CliError


@pytest.mark.parametrize("version", ["3.5.0", "3.5.1", "3.5.2"])
def test_etcd_releases_that_can_lose_data_are_refused(version):
    with pytest.raises(CliError, match="13766"):
        refuse_bad_etcd(parse_etcd_version(f"etcd Version: {version}\nGit SHA: x\n"))


@pytest.mark.parametrize("version", ["3.4.23", "3.5.6", "3.5.17", "3.6.0"])
def test_other_etcd_releases_are_accepted(version):
    refuse_bad_etcd(parse_etcd_version(f"etcd Version: {version}\n"))


def test_an_unreadable_etcd_version_is_an_error():
    with pytest.raises(CliError, match="cannot tell the etcd version"):
        parse_etcd_version("something else")


def test_ports_follow_the_base_port_in_blocks_of_ten():
    layout = Layout("dev", base_port=7000, masters=3)
    assert layout.servers() == ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"]
    assert layout.apiserver_http_port(1) == 7011
    assert layout.etcd_client_port() == 7020


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"name": "Bad_Name"}, "--name"),
        ({"masters": 0}, "--masters"),
        ({"base_port": 80}, "--base-port"),
    ],
)
def test_bad_cluster_flags_are_named(kwargs, flag):
    args = {"name": "local", **kwargs}
    with pytest.raises(CliError, match=flag):
        Layout(**args)


def test_the_cluster_lives_under_tug_home(monkeypatch, tmp_path):
    monkeypatch.setenv("TUG_HOME", str(tmp_path))
    assert Layout("dev").root == tmp_path / "clusters" / "dev"


def test_a_recorded_pid_with_another_start_time_is_not_ours():
    me = os.getpid()
    assert alive(Record("me", me, start_time(me), [], ""))
    assert not alive(Record("recycled", me, start_time(me) + 1, [], ""))


def test_the_config_file_round_trips_and_names_bad_fields(tmp_path: Path):
    path = tmp_path / "config"
    cfg = configfile.Config(
        clusters={"a": ["127.0.0.1:1", "127.0.0.1:2"]},
        contexts={"a": configfile.Context("a", "a", "team")},
        current_context="a",
    )
    configfile.save(cfg, path)
    assert configfile.load(path) == cfg
    path.write_text("clusters:\n- name: x\n  cluster: {servers: 5}\n")
    with pytest.raises(CliError, match=r"clusters\[0\].cluster.servers"):
        configfile.load(path)


def test_a_missing_config_file_is_an_empty_config(tmp_path: Path):
    assert configfile.load(tmp_path / "none") == configfile.Config()


def test_each_master_lists_its_own_api_server_first():
    layout = Layout("dev", base_port=7000, masters=3)
    assert layout.servers_for(1) == ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7000"]


def test_each_node_gets_its_own_loopback_address():
    layout = Layout("dev", nodes=3)
    assert [layout.node_address(j) for j in range(3)] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
