import stat
from pathlib import Path

from cli import config as configfile
from cli.cluster import credentials
from cli.cluster.layout import Layout


def test_secure_up_writes_one_private_token_per_identity_and_keeps_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TUG_HOME", str(tmp_path))
    layout = Layout("sec", nodes=2, secure=True)
    admin = credentials.ensure_tokens(layout)
    lines = credentials.token_auth_file(layout).read_text().splitlines()
    users = [line.split(",")[1] for line in lines]
    assert users == [
        "admin",
        "system:kube-scheduler",
        "system:kube-controller-manager",
        "system:kube-proxy",
        "system:node:sec-node-0",
        "system:node:sec-node-1",
    ]
    assert lines[0] == f'{admin},admin,admin,"system:masters"'
    assert lines[-1].endswith(',"system:nodes"')
    assert len({line.split(",")[0] for line in lines}) == 6, "every token differs"
    for path in layout.auth_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # A restarted process reads the same token: ensure_tokens keeps what exists.
    assert credentials.ensure_tokens(layout) == admin


def test_the_ca_signs_the_api_servers_certificate_for_loopback(tmp_path, monkeypatch):
    from cryptography import x509

    monkeypatch.setenv("TUG_HOME", str(tmp_path))
    layout = Layout("sec", secure=True)
    ca = credentials.ensure_pki(layout)
    cert_path, key_path = credentials.apiserver_cert_files(layout)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.issuer == x509.load_pem_x509_certificate(ca).subject
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert credentials.ensure_pki(layout) == ca, "the CA is made once"


def test_a_context_user_s_token_round_trips_through_the_config_file(tmp_path):
    path = tmp_path / "config"
    cfg = configfile.Config()
    cfg.clusters["c"] = ["127.0.0.1:6443"]
    cfg.contexts["c"] = configfile.Context("c", "c", "default", "c-admin")
    cfg.users["c-admin"] = "secret-token"
    cfg.current_context = "c"
    configfile.save(cfg, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = configfile.load(path)
    assert loaded.token(loaded.context()) == "secret-token"
    assert loaded.token(configfile.Context("x", "c")) == ""


def test_every_identity_gets_a_client_certificate_naming_its_user_and_groups(tmp_path, monkeypatch):
    from client.tls import certificate_subject

    monkeypatch.setenv("TUG_HOME", str(tmp_path))
    layout = Layout("sec", nodes=2, secure=True)
    credentials.ensure_pki(layout)
    expected = {
        credentials.ADMIN: ("system:masters",),
        credentials.SCHEDULER: (),
        credentials.PROXY: (),
        "system:node:sec-node-1": ("system:nodes",),
        credentials.KUBELET_CLIENT: ("system:masters",),
    }
    for identity, groups in expected.items():
        cert, key = credentials.certificate_files(layout, identity)
        assert certificate_subject(cert.read_bytes()) == (identity, groups)
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_each_kubelet_serves_with_a_certificate_for_its_own_address(tmp_path, monkeypatch):
    from cryptography import x509

    monkeypatch.setenv("TUG_HOME", str(tmp_path))
    layout = Layout("sec", nodes=2, secure=True)
    credentials.ensure_pki(layout)
    for j in range(2):
        cert, key = credentials.kubelet_serving_files(layout, j)
        names = (
            x509.load_pem_x509_certificate(cert.read_bytes())
            .extensions.get_extension_for_class(x509.SubjectAlternativeName)
            .value
        )
        assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {
            layout.node_address(j)
        }
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_clusters_ca_and_a_users_certificate_round_trip_through_the_config_file(tmp_path):
    path = tmp_path / "config"
    cfg = configfile.Config()
    cfg.clusters["c"] = ["127.0.0.1:6443"]
    cfg.authorities["c"] = b"-----BEGIN CERTIFICATE-----\nCA\n"
    cfg.certificates["c-admin"] = (b"CERT", b"KEY")
    cfg.contexts["c"] = configfile.Context("c", "c", "default", "c-admin")
    cfg.current_context = "c"
    configfile.save(cfg, path)
    loaded = configfile.load(path)
    assert loaded.tls(loaded.context()) == (b"-----BEGIN CERTIFICATE-----\nCA\n", b"CERT", b"KEY")
    assert loaded.tls(configfile.Context("x", "other")) is None


def test_a_config_file_names_a_missing_client_key_and_an_unreadable_ca(tmp_path):
    import pytest

    from cli.errors import CliError

    path = tmp_path / "config"
    path.write_text(
        "clusters: [{name: c, cluster: {servers: ['127.0.0.1:1'], "
        "certificate-authority: missing-ca.crt}}]\n"
    )
    with pytest.raises(CliError, match=r"clusters\[0\]\.cluster\.certificate-authority: "):
        configfile.load(path)
    path.write_text("users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]\n")
    with pytest.raises(CliError, match=r"users\[0\]\.user\.client-key: required"):
        configfile.load(path)


def _flags(argv: list[str]) -> dict[str, str]:
    return dict(zip(argv[1::2], argv[2::2], strict=False))


def test_a_secure_cluster_s_controller_managers_sign_with_a_ca_of_their_own(tmp_path, monkeypatch):
    """Not the cluster CA, which etcd trusts for its clients: what the signer issues to a
    user would open etcd. The API servers trust both CAs; etcd and kubelets the cluster's."""
    from cryptography import x509

    from cli.cluster import components
    from master.controllers.certificates.authority import Authority

    monkeypatch.setenv("TUG_HOME", str(tmp_path))
    secure = Layout("sec", nodes=1, secure=True)
    cluster_ca = x509.load_pem_x509_certificate(credentials.ensure_pki(secure))
    flags = _flags(components.controller_manager(secure, 0).argv)
    cert, key = flags["--cluster-signing-cert-file"], flags["--cluster-signing-key-file"]
    assert (Path(cert), Path(key)) == credentials.signing_ca_files(secure)
    signer = x509.load_pem_x509_certificate(Authority.load(cert, key).cert_pem)
    assert signer.subject != cluster_ca.subject
    assert signer.public_key() != cluster_ca.public_key()
    assert stat.S_IMODE(Path(key).stat().st_mode) == 0o600
    bundle = credentials.client_ca_bundle(secure)
    assert x509.load_pem_x509_certificates(bundle.read_bytes()) == [cluster_ca, signer]
    assert _flags(components.apiserver(secure, 0).argv)["--client-ca-file"] == str(bundle)
    ca = str(credentials.ca_file(secure))
    etcd = _flags(components.etcd(secure, "etcd").argv)
    assert (etcd["--trusted-ca-file"], etcd["--peer-trusted-ca-file"]) == (ca, ca)
    assert _flags(components.kubelet(secure, 0).argv)["--client-ca-file"] == ca
    plain = components.controller_manager(Layout("plain"), 0).argv
    assert not [a for a in plain if a.startswith("--cluster-signing")]


def test_the_client_signer_is_made_once_and_added_to_a_cluster_made_without_it(
    tmp_path, monkeypatch
):
    from cryptography import x509

    monkeypatch.setenv("TUG_HOME", str(tmp_path))
    layout = Layout("sec", secure=True)
    ca = credentials.ensure_pki(layout)
    cert, key = credentials.signing_ca_files(layout)
    signer = cert.read_bytes()
    assert credentials.ensure_pki(layout) == ca and cert.read_bytes() == signer
    cert.unlink()
    key.unlink()
    assert credentials.ensure_pki(layout) == ca, "the cluster CA is kept"
    assert cert.read_bytes() != signer
    bundle = x509.load_pem_x509_certificates(credentials.client_ca_bundle(layout).read_bytes())
    assert bundle == [x509.load_pem_x509_certificate(p) for p in (ca, cert.read_bytes())]
