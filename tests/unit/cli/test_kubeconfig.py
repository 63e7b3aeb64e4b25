import pytest
import yaml

from cli.cluster import kubeconfig


def test_up_writes_a_kubeconfig_kubectl_reads_next_to_the_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("TUG_HOME", str(tmp_path))
    path = kubeconfig.write("local", "http://127.0.0.1:6453")
    assert path == tmp_path / "clusters" / "local" / "kubeconfig"
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "local"
    assert config["clusters"] == [{"name": "local", "cluster": {"server": "http://127.0.0.1:6453"}}]
    assert config["contexts"][0]["context"]["namespace"] == "default"


@pytest.mark.parametrize("server", ["127.0.0.1:6453", "http://:8443", "http://10.0.0.1:"])
def test_a_server_without_scheme_host_or_port_is_refused(tmp_path, monkeypatch, server):
    monkeypatch.setenv("TUG_HOME", str(tmp_path))
    with pytest.raises(ValueError, match="not a URL"):
        kubeconfig.write("local", server)
