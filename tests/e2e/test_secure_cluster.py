"""`tug up --secure`: every component speaks TLS to the API servers and authenticates with
its own client certificate, the API servers authorize with Node and RBAC, and the cluster
works as before: pods run, services answer, kubectl talks HTTPS with the admin's token; a
request without credentials, or a node reaching beyond its own pods, is refused."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli.cluster.pki import CertificateAuthority
from client import errors
from client.api import ApiClient, ClientOptions
from client.tls import ClientCredentials, dial
from tests.chaos.helpers import web_app
from tests.e2e.tables import http_get
from tests.support.cluster import Cluster, running_cluster
from tests.support.waiting import eventually, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("secure") / "tug-home"
    with running_cluster(home, name="sec", masters=1, nodes=2, extra=("--secure",)) as c:
        yield c


UNUSED_SECRET = """
apiVersion: v1
kind: Secret
metadata: {name: unused}
stringData: {k: v}
"""


def _credentials(cluster: Cluster, identity: str = "") -> ClientCredentials:
    """The cluster CA, with `identity`'s client certificate (none when "")."""
    auth = cluster.root / "auth"
    if not identity:
        return ClientCredentials.from_files(auth / "ca.crt")
    return ClientCredentials.from_files(
        auth / "ca.crt", auth / f"{identity}.crt", auth / f"{identity}.key"
    )


def _issued(cluster: Cluster, user: str) -> ClientCredentials:
    """A certificate of the cluster's own CA for `user`, who has no role."""
    auth = cluster.root / "auth"
    pair = CertificateAuthority.load(auth / "ca.crt", auth / "ca.key").issue(user, client=True)
    return ClientCredentials((auth / "ca.crt").read_bytes(), pair.cert, pair.key)


def test_every_credential_file_is_private_to_its_owner(secure: Cluster):
    auth = secure.root / "auth"
    assert stat.S_IMODE(auth.stat().st_mode) == 0o700
    for path in auth.iterdir():
        if path.suffix in (".token", ".key", ".csv"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_cluster_runs_a_service_with_every_component_authenticated(secure: Cluster):
    secure.tug("apply", "-f", "-", stdin=web_app("guarded", 2, 30211)).ok()
    secure.tug("rollout", "status", "deployment/guarded", "--timeout", "120s").ok()
    url = f"http://{secure.node_ip(0)}:30211/"
    wait_until(lambda: http_get(url), timeout=60, interval=0.5, what=f"{url} answering")
    logs = "".join(
        p.read_text(errors="replace")
        for p in (secure.root / "logs").iterdir()
        if not p.name.endswith(".audit.jsonl")
    )
    assert "PERMISSION_DENIED" not in logs and "UNAUTHENTICATED" not in logs
    audit = (secure.root / "logs" / "apiserver-0.audit.jsonl").read_text().splitlines()
    users = {json.loads(line)["user"] for line in audit}
    assert {"admin", "system:kube-scheduler", "system:kube-controller-manager"} <= users
    assert f"system:node:{secure.node_name(0)}" in users


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="make setup installs kubectl")
def test_kubectl_speaks_https_with_the_admins_token_from_the_kubeconfig(secure: Cluster):
    path = secure.tug("config", "kubeconfig-path").ok().strip()
    done = subprocess.run(
        ["kubectl", "get", "nodes", "-o", "name"],
        env={**os.environ, "KUBECONFIG": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == [f"node/{secure.node_name(j)}" for j in range(2)]


def _kubectl_of(kubeconfig: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """kubectl run with `kubeconfig`, its output captured."""
    env = {**os.environ, "KUBECONFIG": kubeconfig}

    def kubectl(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", *argv],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return kubectl


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="make setup installs kubectl")
def test_requests_are_dispatched_by_the_built_in_flow_schemas_node_heartbeats_apart(
    secure: Cluster,
):
    kubectl = _kubectl_of(secure.tug("config", "kubeconfig-path").ok().strip())
    listed = kubectl("get", "flowschemas", "--no-headers")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()}
    assert rows["exempt"][1:4] == ["exempt", "1", "<none>"]
    assert rows["system-node-high"][1:4] == ["node-high", "400", "ByUser"]
    assert all(row[-1] == "False" for row in rows.values()), listed.stdout

    def dispatched(schema: str, level: str) -> float:
        scraped = kubectl("get", "--raw", "/metrics")
        assert scraped.returncode == 0, scraped.stderr
        series = (
            "apiserver_flowcontrol_dispatched_requests_total"
            f'{{flow_schema="{schema}",priority_level="{level}"}}'
        )
        found = [line for line in scraped.stdout.splitlines() if line.startswith(series)]
        return float(found[0].split()[-1]) if found else 0.0

    # The kubelets' Lease renewals, in node-high; the scheduler's and the controller
    # manager's work, in workload-high.
    wait_until(
        lambda: dispatched("system-node-high", "node-high") > 0,
        timeout=30,
        what="node heartbeats dispatched in node-high",
    )
    wait_until(
        lambda: dispatched("kube-controller-manager", "workload-high") > 0,
        timeout=30,
        what="the controller manager's requests dispatched in workload-high",
    )


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="make setup installs kubectl")
def test_kubectl_auth_can_i_and_whoami_answer_for_the_admin_over_https(secure: Cluster):
    kubectl = _kubectl_of(secure.tug("config", "kubeconfig-path").ok().strip())
    can = kubectl("auth", "can-i", "delete", "pods", "-n", "kube-system")
    assert (can.returncode, can.stdout.strip()) == (0, "yes"), can.stderr
    whoami = kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert (whoami.returncode, whoami.stdout) == (0, "admin"), whoami.stderr
    # The admin may act as anyone (cluster-admin holds `impersonate`): answered for them.
    posing = kubectl("auth", "can-i", "delete", "pods", "--as", "nobody")
    assert (posing.returncode, posing.stdout.strip()) == (1, "no"), posing
    whoami = kubectl("auth", "whoami", "--as", "nobody", "-o", "jsonpath={.status.userInfo}")
    assert json.loads(whoami.stdout)["username"] == "nobody", whoami


def test_no_credentials_are_refused_over_https_and_grpc(secure: Cluster):
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    url = f"https://127.0.0.1:{secure.base_port + 10}/api/v1/pods"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10, context=insecure)
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["reason"] == "Unauthorized"
    # /metrics is closed too (only system:monitoring, Prometheus' group, reads it).
    metrics = f"https://127.0.0.1:{secure.base_port + 10}/metrics"
    with pytest.raises(urllib.error.HTTPError) as closed:
        urllib.request.urlopen(metrics, timeout=10, context=insecure)
    assert closed.value.code == 401

    async def anonymous() -> None:
        # Plaintext, and TLS without a client certificate: no gRPC call gets through.
        for tls in (None, _credentials(secure)):
            options = ClientOptions(max_retries=1, retry_deadline=2.0, tls=tls)
            async with ApiClient(secure.servers, options) as api:
                with pytest.raises(errors.Unavailable):
                    await api.list("pods")

    asyncio.run(anonymous())


def test_a_nodes_certificate_reaches_only_its_own_node_and_pods(secure: Cluster):
    secure.tug("apply", "-f", "-", stdin=UNUSED_SECRET).ok()
    node0 = secure.node_name(0)

    async def probe() -> None:
        tls = _credentials(secure, f"node-{node0}")
        async with ApiClient(secure.servers, ClientOptions(tls=tls, max_retries=1)) as api:
            own = await api.get("nodes", "", node0)
            assert own.metadata.name == node0
            with pytest.raises(errors.Forbidden):
                await api.get("secrets", "default", "unused")
            other = await api.get("nodes", "", secure.node_name(1))
            with pytest.raises(errors.Forbidden):
                await api.update(other)
            with pytest.raises(errors.Forbidden):
                await api.list("secrets")

            async def still_refused() -> bool:
                try:
                    await api.list("pods")
                except errors.Forbidden:
                    return True
                return False

            await eventually(still_refused, timeout=5, what="a node listing every pod refused")

    asyncio.run(probe())


def test_tug_auth_can_i_and_whoami_answer_for_the_admin_and_for_others(secure: Cluster):
    assert secure.tug("auth", "can-i", "delete", "pods").ok().strip() == "yes"
    refused = secure.tug("auth", "can-i", "get", "secrets", "--as", "nobody")
    assert (refused.code, refused.out.strip()) == (1, "no")
    node = f"system:node:{secure.node_name(0)}"
    asked = secure.tug("auth", "can-i", "update", "nodes", secure.node_name(1), "--as", node,
                       "--as-group", "system:nodes")  # fmt: skip
    assert asked.out.strip() == "no"
    who = secure.tug("auth", "whoami").ok()
    assert "Username: admin" in who and "system:masters" in who


def test_logs_through_the_api_server_need_a_caller_allowed_to_read_them(secure: Cluster):
    secure.tug("apply", "-f", "-", stdin=web_app("talker", 1, 30212)).ok()
    secure.tug("rollout", "status", "deployment/talker", "--timeout", "120s").ok()
    pod = secure.tug("get", "pods", "-l", "app=talker", "-o", "name").ok().split()[0]
    assert secure.tug("logs", pod.split("/")[1]).code == 0

    async def anonymous_logs() -> None:
        import grpc

        from proto import nodeagent_pb2, nodeagent_pb2_grpc

        request = nodeagent_pb2.LogsRequest(namespace="default", pod=pod.split("/")[1])
        for tls, code in (
            (None, grpc.StatusCode.UNAVAILABLE),
            (_credentials(secure), grpc.StatusCode.UNAVAILABLE),
            (_issued(secure, "nobody"), grpc.StatusCode.PERMISSION_DENIED),
        ):
            async with dial(secure.servers[0], tls) as channel:
                stub = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    async for _ in stub.Logs(request, timeout=10):
                        pass
                assert refused.value.code() == code

    asyncio.run(anonymous_logs())


def test_a_secrets_value_is_not_in_etcd_in_plaintext(secure: Cluster):
    from master.etcdclient import etcd_client
    from tests.chaos.helpers import layout_of

    secure.tug("apply", "-f", "-", stdin=UNUSED_SECRET.replace("unused", "sealed")).ok()
    assert "sealed" in secure.tug("get", "secret", "sealed", "-o", "yaml").ok()
    port = layout_of(secure).etcd_client_port(0)

    async def raw() -> bytes:
        tls = _credentials(secure, "kube-apiserver-etcd-client")
        async with etcd_client(f"127.0.0.1:{port}", tls) as c:
            found = await c.get(b"/registry/secrets/default/sealed")
            assert found is not None
            return bytes(found.value)

    value = asyncio.run(raw())
    assert value.startswith(b"k8s:enc:aesgcm:v1:key1:")
    assert b"k: v" not in value and b"\x12\x01v" not in value


ASKER = """
apiVersion: v1
kind: Pod
metadata: {name: asker}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: ask
    image: busybox:1.35
    command: ["sleep", "3600"]
"""

VIEWER_BINDING = """
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: default-views}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: default, namespace: default}]
"""

# What a process in a pod does to call the API: its mounted token, the `kubernetes`
# Service. By its ClusterIP rather than its DNS name: other test clusters on this machine
# share the cluster DNS address, and the first one's proxy answers it.
LIST_PODS = (
    'wget -q -O - --no-check-certificate --header "Authorization: Bearer '
    '$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)" '
    "https://{ip}/api/v1/namespaces/$(cat "
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace)/pods"
)


def test_from_inside_a_pod_its_token_lists_pods_exactly_when_a_role_binding_allows(
    secure: Cluster,
):
    secure.tug("apply", "-f", "-", stdin=ASKER).ok()
    try:

        def running() -> bool:
            found = json.loads(secure.tug("get", "pod", "asker", "-o", "json").ok())
            return bool(found.get("status", {}).get("phase") == "Running")

        wait_until(running, timeout=120, interval=0.5, what="pod asker running")
        service = json.loads(secure.tug("get", "service", "kubernetes", "-o", "json").ok())
        list_pods = LIST_PODS.format(ip=service["spec"]["clusterIP"])
        ca = secure.tug("exec", "asker", "--", "cat",
                        "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt").ok()  # fmt: skip
        assert ca.startswith("-----BEGIN CERTIFICATE-----")

        def refused() -> bool:
            # The first answers may be no answer: the pod's DNS and the proxy's rules for
            # the `kubernetes` Service come up on their own schedules.
            done = secure.tug("exec", "asker", "--", "sh", "-c", list_pods)
            assert done.code != 0, "listed pods before any RoleBinding allowed it"
            return "403" in done.err

        wait_until(refused, timeout=60, interval=1, what="a 403 for the pod's token")
        secure.tug("apply", "-f", "-", stdin=VIEWER_BINDING).ok()

        def allowed() -> bool:
            done = secure.tug("exec", "asker", "--", "sh", "-c", list_pods)
            return done.code == 0 and '"asker"' in done.out

        wait_until(allowed, timeout=60, interval=1, what="the pod listing pods with its token")
    finally:
        secure.tug("delete", "pod", "asker", "--grace-period", "0", "--force")
        secure.tug("delete", "rolebinding", "default-views")


def test_a_node_agent_serves_only_the_api_servers_over_tls(secure: Cluster):
    """Another node's certificate, a certificate-less TLS client and plaintext are all
    refused by node 1's agent; only the API servers' certificate may read its stats."""
    import grpc

    from proto import nodeagent_pb2, nodeagent_pb2_grpc
    from tests.chaos.helpers import layout_of

    node1 = secure.node_name(1)
    target = f"{secure.node_ip(1)}:{layout_of(secure).kubelet_port()}"
    request = nodeagent_pb2.StatsRequest(node=node1)

    async def ask(tls: ClientCredentials | None) -> grpc.StatusCode:
        async with dial(target, tls) as channel:
            stub = nodeagent_pb2_grpc.NodeAgentStub(channel)  # type: ignore[no-untyped-call]
            try:
                await stub.Stats(request, timeout=10)
            except grpc.aio.AioRpcError as e:
                return e.code()
            return grpc.StatusCode.OK

    async def probe() -> None:
        assert await ask(None) == grpc.StatusCode.UNAVAILABLE
        assert await ask(_credentials(secure)) == grpc.StatusCode.UNAVAILABLE
        other_node = _credentials(secure, f"node-{secure.node_name(0)}")
        assert await ask(other_node) == grpc.StatusCode.PERMISSION_DENIED
        apiserver = _credentials(secure, "kube-apiserver-kubelet-client")

        async def answered() -> bool:  # stats come after the first collection
            return await ask(apiserver) == grpc.StatusCode.OK

        await eventually(answered, timeout=60, what="node 1's stats for the API servers' cert")

    asyncio.run(probe())


CSR = """
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {{name: myuser}}
spec:
  request: {request}
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 86400
  usages: [client auth]
"""


def _etcd_answers(endpoint: str, ca: Path, cert: Path, key: Path) -> bool:
    """Whether etcd at `endpoint` (host:port) answers /version to a TLS client showing
    `cert`. Under TLS 1.3 a server refuses a client certificate after the client's side of
    the handshake is done, so the refusal shows on the first read, as an error or EOF."""
    host, _, port = endpoint.rpartition(":")
    assert host and port.isdigit(), f"no etcd address in {endpoint!r}"
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(cert, key)
    request = f"GET /version HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    try:
        with (
            socket.create_connection((host, int(port)), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.sendall(request)
            return tls.recv(64).startswith(b"HTTP/1.1 200")
    except (ssl.SSLError, ConnectionError):
        return False


def _signed_by_the_client_signer_and_refused_by_etcd(
    cluster: Cluster, certificate: Path, key: Path
) -> None:
    """A certificate the controller manager issued chains to the client signer, not to the
    cluster CA, which etcd trusts: with it a user would read and write etcd past RBAC."""
    from cli.cluster import credentials
    from tests.chaos.helpers import layout_of

    layout = layout_of(cluster)
    signer, _ = credentials.signing_ca_files(layout)
    ca = credentials.ca_file(layout)
    for trusted, chains in ((signer, True), (ca, False)):
        verified = subprocess.run(
            ["openssl", "verify", "-CAfile", str(trusted), str(certificate)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (verified.returncode == 0) is chains, (trusted, verified.stdout, verified.stderr)
    endpoints = layout.etcd_endpoints()
    assert endpoints and endpoints[0], "the secure cluster has no etcd endpoint"
    # The check itself works: the API servers' own etcd certificate is answered.
    own = credentials.certificate_files(layout, credentials.ETCD_CLIENT)
    assert _etcd_answers(endpoints[0], ca, *own), "etcd refused the API servers' certificate"
    assert not _etcd_answers(endpoints[0], ca, certificate, key), "etcd admitted a user"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="make setup installs kubectl")
@pytest.mark.skipif(shutil.which("openssl") is None, reason="the docs' flow makes keys with it")
def test_a_normal_user_gets_a_client_certificate_through_a_signing_request(
    secure: Cluster, tmp_path: Path
):
    """The docs' "normal user" flow, word for word: openssl's key and request, the admin's
    `kubectl certificate approve`, the certificate read back from the status, then kubectl
    as that user, allowed exactly what a RoleBinding grants. The certificate is the client
    signer's, which etcd does not trust."""
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(secure.tug("config", "kubeconfig-path").ok().strip(), kubeconfig)
    kubectl = _kubectl_of(str(kubeconfig))
    key, request = tmp_path / "myuser.key", tmp_path / "myuser.csr"
    for argv in (
        ["openssl", "genrsa", "-out", str(key), "2048"],
        ["openssl", "req", "-new", "-key", str(key), "-out", str(request), "-subj", "/CN=myuser"],
    ):
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    encoded = base64.b64encode(request.read_bytes()).decode()
    try:
        created = kubectl("apply", "-f", "-", stdin=CSR.format(request=encoded))
        assert created.returncode == 0, created.stderr
        listed = kubectl("get", "csr", "myuser", "--no-headers")
        assert listed.stdout.split()[2:] == [
            "kubernetes.io/kube-apiserver-client", "admin", "24h", "Pending"
        ], listed  # fmt: skip
        approved = kubectl("certificate", "approve", "myuser")
        assert approved.returncode == 0, approved.stderr

        def issued() -> str:
            shown = kubectl("get", "csr", "myuser", "-o", "jsonpath={.status.certificate}")
            return shown.stdout

        pem = base64.b64decode(wait_until(issued, timeout=30, interval=0.5, what="issued"))
        certificate = tmp_path / "myuser.crt"
        certificate.write_bytes(pem)
        listed = kubectl("get", "csr", "myuser", "--no-headers")
        assert listed.stdout.split()[-1] == "Approved,Issued", listed
        _signed_by_the_client_signer_and_refused_by_etcd(secure, certificate, key)

        for argv in (
            ["create", "role", "developer", "--verb=get", "--verb=list", "--resource=pods"],
            ["create", "rolebinding", "developer-myuser", "--role=developer", "--user=myuser"],
            ["config", "set-credentials", "myuser", f"--client-key={key}",
             f"--client-certificate={certificate}", "--embed-certs=true"],
            ["config", "set-context", "myuser", "--user=myuser",
             "--cluster=" + kubectl("config", "view", "-o",
                                    "jsonpath={.clusters[0].name}").stdout],
        ):  # fmt: skip
            done = kubectl(*argv)
            assert done.returncode == 0, (argv, done.stderr)
        whoami = kubectl("--context", "myuser", "auth", "whoami", "-o", "jsonpath={.status}")
        assert json.loads(whoami.stdout)["userInfo"]["username"] == "myuser", whoami
        pods = kubectl("--context", "myuser", "get", "pods")
        assert pods.returncode == 0, pods.stderr
        secrets = kubectl("--context", "myuser", "get", "secrets")
        assert secrets.returncode == 1
        assert 'User "myuser" cannot list resource "secrets"' in secrets.stderr
    finally:
        kubectl("delete", "csr", "myuser", "--ignore-not-found")
        kubectl("delete", "rolebinding", "developer-myuser", "--ignore-not-found")
        kubectl("delete", "role", "developer", "--ignore-not-found")
