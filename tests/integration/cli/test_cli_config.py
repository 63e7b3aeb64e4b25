"""Which cluster and namespace `tug` talks to: --server, contexts, the config file."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.integration.cli.tugrun import run_tug as tug_plain


def write_config(home: Path, server: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config").write_text(yaml.safe_dump({
        "clusters": [
            {"name": "real", "cluster": {"servers": [server]}},
            {"name": "dead", "cluster": {"servers": ["127.0.0.1:1"]}},
        ],
        "contexts": [
            {"name": "team", "context": {"cluster": "real", "namespace": "team-a"}},
            {"name": "other", "context": {"cluster": "dead"}},
        ],
        "current-context": "team",
    }))


async def test_the_current_context_gives_the_server_and_the_namespace(tug, tug_home, apiserver):
    write_config(tug_home, apiserver.endpoint)
    await tug("create", "namespace", "team-a")
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    applied = await tug_plain("apply", "-f", "-", stdin=manifest)
    assert (applied.code, applied.out) == (0, "configmap/c created\n")
    listed = await tug_plain("get", "cm", "-A", "-o", "name")
    assert listed.out == "configmap/c\n"
    in_team = await tug_plain("get", "cm")
    assert in_team.out.splitlines()[1].split()[0] == "c"


async def test_context_flag_and_use_context_switch_clusters(tug_home, apiserver):
    write_config(tug_home, apiserver.endpoint)
    dead = await tug_plain("get", "pods", "--context", "other", "--request-timeout", "1s")
    assert dead.code == 1
    assert dead.err.startswith("error: cannot reach any API server (127.0.0.1:1)")
    switched = await tug_plain("config", "use-context", "other")
    assert (switched.code, switched.out) == (0, 'Switched to context "other".\n')
    current = await tug_plain("config", "current-context")
    assert current.out == "other\n"
    contexts = (await tug_plain("config", "get-contexts")).out.splitlines()
    assert contexts[0].split() == ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]
    assert contexts[1].split() == ["team", "real", "team-a"]
    assert contexts[2].split() == ["*", "other", "dead", "default"]


async def test_an_unknown_context_is_an_error(tug_home):
    result = await tug_plain("get", "pods", "--context", "nope")
    assert (result.code, result.err) == (1, 'error: context "nope" does not exist\n')
    switched = await tug_plain("config", "use-context", "nope")
    assert switched.err == 'error: no context exists with the name: "nope"\n'


async def test_a_broken_config_file_is_named_with_the_field(tug_home):
    tug_home.mkdir(parents=True, exist_ok=True)
    (tug_home / "config").write_text("clusters: {not: a list}\n")
    result = await tug_plain("get", "pods")
    assert result.code == 1
    assert result.err == f"error: {tug_home / 'config'}: clusters: expected a list\n"


async def test_config_view_prints_the_file(tug_home, apiserver):
    write_config(tug_home, apiserver.endpoint)
    view = yaml.safe_load((await tug_plain("config", "view")).out)
    assert view["current-context"] == "team"
    assert view["clusters"][0]["cluster"]["servers"] == [apiserver.endpoint]


async def test_a_usage_error_is_an_error_line_and_exit_1(tug_home):
    result = await tug_plain("get", "pods", "-o", "xml")
    assert result.code == 1
    assert result.err.startswith("error: argument -o/--output: invalid choice: 'xml'")
