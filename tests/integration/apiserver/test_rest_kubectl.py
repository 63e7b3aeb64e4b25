"""The real kubectl drives the HTTP API of an API server: kubectl decides whether we got
Kubernetes' REST API right (discovery, OpenAPI, strict field validation, apply's
create/unchanged/configured, patches, Status errors, watch)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.integration.apiserver.kubectl import KUBECTL

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

DOCS = Path(__file__).resolve().parents[3] / "examples" / "kubernetes-docs"

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.14.2
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}]
"""


def configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{k: v}}\n"


async def test_kubectl_reads_the_servers_version_and_discovers_every_kind(kubectl):
    version = json.loads(await kubectl.ok("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].startswith("v1.32.0-tugboat")
    resources = await kubectl.ok("api-resources", "--no-headers")
    names = {line.split()[0] for line in resources.splitlines()}
    assert {"pods", "deployments", "services", "configmaps", "nodes", "jobs"} <= names
    assert "deploy" in next(line for line in resources.splitlines() if line.startswith("deploy"))


async def test_apply_creates_then_finds_nothing_to_change_then_configures_an_edit(kubectl):
    out = await kubectl.ok("apply", "-f", "-", stdin=DEPLOYMENT)
    assert out.strip() == "deployment.apps/web created"
    out = await kubectl.ok("apply", "-f", "-", stdin=DEPLOYMENT)
    assert out.strip() == "deployment.apps/web unchanged"
    edited = DEPLOYMENT.replace("replicas: 2", "replicas: 3").replace("1.14.2", "1.16.1")
    out = await kubectl.ok("apply", "-f", "-", stdin=edited)
    assert out.strip() == "deployment.apps/web configured"
    live = json.loads(await kubectl.ok("get", "deployment", "web", "-o", "json"))
    assert live["spec"]["replicas"] == 3
    (container,) = live["spec"]["template"]["spec"]["containers"]
    # The strategic merge kept the server's defaults inside the container it merged by name.
    assert container["image"] == "nginx:1.16.1"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["env"] == [{"name": "A", "value": "1"}]


async def test_every_kubernetes_docs_manifest_applies_created_then_unchanged(kubectl):
    # File by file: two of the docs' pods share the name dapi-test-pod, and a second apply
    # of a different pod under one name is refused by Kubernetes too (pod spec is immutable).
    for path in sorted(DOCS.glob("*.yaml")):
        manifests = [d for d in yaml.safe_load_all(path.read_text()) if d]
        out = await kubectl.ok("apply", "-f", str(path))
        created = [line for line in out.splitlines() if line.endswith(" created")]
        assert len(created) == len(manifests), f"{path.name}: {out}"
        again = await kubectl.ok("apply", "-f", str(path))
        assert all(line.endswith(" unchanged") for line in again.splitlines()), again
        await kubectl.ok("delete", "-f", str(path), "--grace-period=0", "--force", "--wait")


async def test_a_misspelt_field_is_refused_naming_the_field(kubectl):
    bad = DEPLOYMENT.replace("replicas: 2", "replica: 2")
    ran = await kubectl("apply", "-f", "-", stdin=bad)
    assert ran.code != 0
    assert 'unknown field "spec.replica"' in ran.err, ran.err
    assert "Error from server (BadRequest)" in ran.err, ran.err


async def test_an_invalid_value_is_printed_by_field_as_kubectl_prints_it(kubectl):
    bad = DEPLOYMENT.replace("replicas: 2", "replicas: -1")
    ran = await kubectl("apply", "-f", "-", stdin=bad)
    assert ran.code != 0
    assert 'The Deployment "web" is invalid' in ran.err, ran.err
    assert "spec.replicas" in ran.err, ran.err


async def test_a_kind_in_a_version_not_served_is_named_as_kubernetes_names_it(kubectl):
    # kubectl finds no schema in /openapi/v3, asks /openapi/v2, then maps the kind.
    removed = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: hello}\n"
    ran = await kubectl("apply", "-f", "-", stdin=removed)
    assert ran.code != 0
    assert 'no matches for kind "CronJob" in version "batch/v1beta1"' in ran.err, ran.err
    assert "failed to download openapi" not in ran.err, ran.err


async def test_a_quantity_written_as_a_number_is_stored_as_its_text(kubectl):
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: counted}\nspec:\n  containers:\n"
        "  - {name: c, image: busybox:1.35, resources: {requests: {cpu: 1, memory: 1e6}}}\n"
    )
    await kubectl.ok("apply", "-f", "-", stdin=pod)
    live = json.loads(await kubectl.ok("get", "pod", "counted", "-o", "json"))
    assert live["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "1",
        "memory": "1000000",
    }


async def test_a_missing_object_is_an_error_from_server_not_found(kubectl):
    ran = await kubectl("get", "configmap", "nope")
    assert ran.code == 1
    assert ran.err.strip() == 'Error from server (NotFound): configmaps "nope" not found'


async def test_get_yaml_label_annotate_scale_and_patch_change_the_stored_object(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=DEPLOYMENT)
    await kubectl.ok("label", "deployment", "web", "tier=front")
    await kubectl.ok("annotate", "deployment", "web", "owner=me")
    await kubectl.ok("scale", "deployment", "web", "--replicas", "5")
    await kubectl.ok("set", "image", "deployment/web", "web=nginx:stable")
    paused = '{"spec":{"paused":true}}'
    await kubectl.ok("patch", "deployment", "web", "--type", "merge", "-p", paused)
    await kubectl.ok(
        "patch", "deployment", "web", "--type", "json",
        "-p", '[{"op":"add","path":"/spec/minReadySeconds","value":4}]',
    )  # fmt: skip
    live = yaml.safe_load(await kubectl.ok("get", "deployment", "web", "-o", "yaml"))
    assert live["metadata"]["labels"]["tier"] == "front"
    assert live["metadata"]["annotations"]["owner"] == "me"
    assert live["spec"]["replicas"] == 5
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:stable"
    assert live["spec"]["paused"] is True
    assert live["spec"]["minReadySeconds"] == 4
    await kubectl.ok("label", "deployment", "web", "tier-")
    live = json.loads(await kubectl.ok("get", "deployment", "web", "-o", "json"))
    assert "tier" not in live["metadata"]["labels"]


async def test_get_lists_by_label_and_delete_waits_until_the_object_is_gone(kubectl):
    for name, tier in (("a", "x"), ("b", "y")):
        await kubectl.ok("create", "-f", "-", stdin=configmap(name))
        await kubectl.ok("label", "configmap", name, f"tier={tier}")
    out = await kubectl.ok("get", "configmaps", "-l", "tier=x", "-o", "name")
    assert out.split() == ["configmap/a"]
    out = await kubectl.ok("delete", "configmap", "a", "--wait", "--timeout", "20s")
    assert out.strip() == 'configmap "a" deleted'
    assert (await kubectl("get", "configmap", "a")).code == 1


async def test_get_watch_sees_the_existing_objects_then_a_new_one(kubectl):
    await kubectl.ok("create", "-f", "-", stdin=configmap("first"))
    watch = await kubectl.ok(
        "get", "configmaps", "--watch", "--request-timeout", "3s", "-o", "name",
        "--output-watch-events",
        timeout=30,
    )  # fmt: skip
    assert "configmap/first" in watch


async def test_explain_describes_the_fields_tugboat_stores(kubectl):
    out = await kubectl.ok("explain", "deployment.spec.strategy")
    assert "rollingUpdate" in out, out


async def test_get_prints_the_servers_table_with_wide_columns_only_when_asked(kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=DEPLOYMENT)
    narrow = (await kubectl.ok("get", "deployments")).splitlines()
    assert narrow[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert narrow[1].split()[:2] == ["web", "0/2"]
    wide = (await kubectl.ok("get", "deployments", "-o", "wide")).splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert "nginx:1.14.2" in wide[1]
    everything = await kubectl.ok("get", "all")
    assert "deployment.apps/web" in everything
    labelled = await kubectl.ok("get", "deployments", "--show-labels")
    assert "app=web" in labelled.splitlines()[1]


async def test_a_watch_of_tables_prints_the_header_once_then_one_row_per_change(kubectl):
    await kubectl.ok("create", "-f", "-", stdin=configmap("one"))
    out = await kubectl.ok("get", "configmaps", "--watch", "--request-timeout", "3s", timeout=30)
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    assert lines[1].split()[:2] == ["one", "1"]


async def test_kubectls_create_commands_send_protobuf_and_store_the_object_they_describe(kubectl):
    await kubectl.ok("create", "configmap", "settings", "--from-literal=mode=fast")
    await kubectl.ok("create", "secret", "generic", "login", "--from-literal=user=ann")
    await kubectl.ok("create", "namespace", "shop")
    await kubectl.ok("create", "deployment", "api", "--image=nginx:1.14.2", "--replicas=3",
                     "--port=80", "-n", "shop")  # fmt: skip
    await kubectl.ok("create", "service", "clusterip", "api", "--tcp=80:8080", "-n", "shop")
    await kubectl.ok("create", "job", "once", "--image=busybox:1.35", "--", "echo", "hi")
    live = json.loads(await kubectl.ok("get", "configmap", "settings", "-o", "json"))
    assert live["data"] == {"mode": "fast"}
    live = json.loads(await kubectl.ok("get", "secret", "login", "-o", "json"))
    assert live["data"] == {"user": "YW5u"}  # base64 of "ann", as kubectl reads it back
    deploy = json.loads(await kubectl.ok("get", "deployment", "api", "-n", "shop", "-o", "json"))
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["selector"]["matchLabels"] == {"app": "api"}
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    assert (container["image"], container["ports"]) == (
        "nginx:1.14.2",
        [{"containerPort": 80, "protocol": "TCP"}],
    )
    service = json.loads(await kubectl.ok("get", "service", "api", "-n", "shop", "-o", "json"))
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (80, 8080)
    job = json.loads(await kubectl.ok("get", "job", "once", "-o", "json"))
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    # Every kind kubectl create makes, each group's protobuf among them.
    for args in (
        ["poddisruptionbudget", "api", "--selector=app=api", "--min-available=1"],
        ["priorityclass", "high", "--value=1000"],
        ["quota", "pods", "--hard=pods=10"],
        ["role", "reader", "--verb=get", "--resource=pods"],
        ["rolebinding", "reads", "--role=reader", "--user=ann"],
        ["clusterrole", "viewer", "--verb=list", "--resource=nodes"],
        ["clusterrolebinding", "views", "--clusterrole=viewer", "--user=ann"],
        ["serviceaccount", "robot"],
        ["cronjob", "tick", "--image=busybox:1.35", "--schedule=*/5 * * * *"],
        ["ingress", "front", "--rule=shop.example/=api:80"],
    ):
        await kubectl.ok("create", *args, "-n", "shop")
    pdb = json.loads(await kubectl.ok("get", "pdb", "api", "-n", "shop", "-o", "json"))
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"app": "api"}}}


async def test_a_protobuf_create_of_an_invalid_object_names_the_field(kubectl):
    ran = await kubectl("create", "deployment", "Bad_Name", "--image=nginx:1.14.2")
    assert ran.code != 0
    assert "metadata.name" in ran.err, ran.err


async def test_an_eviction_deletes_the_pod_and_a_missing_pod_is_not_found(apiserver, kubectl):
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: evictee}\n"
        "spec: {containers: [{name: c, image: busybox:1.35}]}\n"
    )
    await kubectl.ok("create", "-f", "-", stdin=pod)
    server = f"http://127.0.0.1:{apiserver.status.port}"
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": "evictee", "namespace": "default"}}  # fmt: skip
    async with aiohttp.ClientSession() as session:
        url = f"{server}/api/v1/namespaces/default/pods/evictee/eviction"
        async with session.post(url, json=eviction) as answer:
            assert answer.status == 201, await answer.text()
            assert (await answer.json())["status"] == "Success"
        async with session.post(url, json=eviction) as answer:
            assert answer.status == 404
            assert (await answer.json())["reason"] == "NotFound"
    assert (await kubectl("get", "pod", "evictee")).code == 1
    resources = json.loads(await kubectl.ok("get", "--raw", "/api/v1"))["resources"]
    (found,) = [r for r in resources if r["name"] == "pods/eviction"]
    assert (found["group"], found["version"], found["kind"]) == ("policy", "v1", "Eviction")


def managers(live: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e for e in live["metadata"]["managedFields"]}


async def test_server_side_apply_records_its_fields_and_a_patch_takes_replicas_over(kubectl):
    out = await kubectl.ok("apply", "--server-side", "-f", "-", stdin=DEPLOYMENT)
    assert out.strip() == "deployment.apps/web serverside-applied"
    live = json.loads(
        await kubectl.ok("get", "deployment", "web", "-o", "json", "--show-managed-fields")
    )
    applied = managers(live)[("kubectl", "Apply")]
    assert applied["fieldsV1"]["f:spec"]["f:replicas"] == {}
    containers = applied["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert 'k:{"name":"web"}' in containers
    # Applying the same configuration again changes nothing, not even the revision.
    again = await kubectl.ok("apply", "--server-side", "-f", "-", stdin=DEPLOYMENT)
    assert again.strip() == "deployment.apps/web serverside-applied"
    after = json.loads(await kubectl.ok("get", "deployment", "web", "-o", "json"))
    assert after["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]

    # `kubectl patch` writes as the manager "kubectl-patch": replicas become its field.
    await kubectl.ok("patch", "deployment", "web", "--type", "merge",
                     "-p", '{"spec":{"replicas":5}}')  # fmt: skip
    conflict = await kubectl("apply", "--server-side", "-f", "-", stdin=DEPLOYMENT)
    assert conflict.code != 0
    assert 'conflict with "kubectl-patch" using apps/v1: .spec.replicas' in conflict.err, (
        conflict.err
    )
    live = json.loads(await kubectl.ok("get", "deployment", "web", "-o", "json"))
    assert live["spec"]["replicas"] == 5  # the refused apply changed nothing

    await kubectl.ok("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=DEPLOYMENT)
    live = json.loads(
        await kubectl.ok("get", "deployment", "web", "-o", "json", "--show-managed-fields")
    )
    assert live["spec"]["replicas"] == 2
    owners = managers(live)
    assert "f:replicas" in owners[("kubectl", "Apply")]["fieldsV1"]["f:spec"]
    assert ("kubectl-patch", "Update") not in owners  # forced off its only field


async def test_two_appliers_conflict_on_a_field_they_set_differently(kubectl):
    await kubectl.ok("apply", "--server-side", "-f", "-", stdin=DEPLOYMENT)
    other = DEPLOYMENT.replace("1.14.2", "1.16.1")
    ran = await kubectl("apply", "--server-side", "--field-manager", "ci", "-f", "-", stdin=other)
    assert ran.code != 0
    assert 'conflict with "kubectl"' in ran.err, ran.err
    assert '.spec.template.spec.containers[name="web"].image' in ran.err, ran.err
    # The same value is shared ownership, not a conflict.
    await kubectl.ok("apply", "--server-side", "--field-manager", "ci", "-f", "-", stdin=DEPLOYMENT)


async def test_a_field_an_applier_stops_setting_is_removed(kubectl):
    await kubectl.ok("apply", "--server-side", "-f", "-", stdin=DEPLOYMENT)
    without_env = DEPLOYMENT.replace('        env: [{name: A, value: "1"}]\n', "")
    assert without_env != DEPLOYMENT
    await kubectl.ok("apply", "--server-side", "-f", "-", stdin=without_env)
    live = json.loads(await kubectl.ok("get", "deployment", "web", "-o", "json"))
    (container,) = live["spec"]["template"]["spec"]["containers"]
    assert "env" not in container, container
    assert container["imagePullPolicy"] == "IfNotPresent"  # a default nobody applied stays


async def test_without_strict_validation_an_unknown_field_is_dropped_with_a_warning(kubectl):
    bad = DEPLOYMENT.replace("replicas: 2", "replicas: 2\n  replica: 3")
    ran = await kubectl("apply", "--validate=warn", "-f", "-", stdin=bad)
    assert ran.code == 0, ran.err
    assert 'Warning: unknown field "spec.replica"' in ran.err, ran.err
    live = json.loads(await kubectl.ok("get", "deployment", "web", "-o", "json"))
    assert live["spec"]["replicas"] == 2
    quiet = await kubectl("apply", "--validate=false", "-f", "-", stdin=bad.replace("web", "web2"))
    assert quiet.code == 0 and "Warning" not in quiet.err, quiet.err


async def test_lists_read_at_an_exact_resource_version_or_refuse_one_from_the_future(apiserver):
    server = f"http://127.0.0.1:{apiserver.status.port}/api/v1/namespaces/default/configmaps"
    async with aiohttp.ClientSession() as session:
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "early"},
        }
        async with session.post(server, json=body) as created:
            assert created.status == 201
            version = (await created.json())["metadata"]["resourceVersion"]
        body["metadata"]["name"] = "late"
        async with session.post(server, json=body) as created:
            assert created.status == 201
        exact = {"resourceVersion": version, "resourceVersionMatch": "Exact"}
        async with session.get(server, params=exact) as listed:
            names = [i["metadata"]["name"] for i in (await listed.json())["items"]]
        assert names == ["early"]  # the list as it was at that revision
        future = {"resourceVersion": "999999", "resourceVersionMatch": "NotOlderThan"}
        async with session.get(server, params=future) as listed:
            assert listed.status == 504
            assert "Too large resource version" in (await listed.json())["message"]
        bad = {"resourceVersionMatch": "Exact"}
        async with session.get(server, params=bad) as listed:
            assert listed.status == 422


async def test_kubectl_create_token_issues_a_jwt_for_an_existing_service_account(kubectl):
    token = (await kubectl.ok("create", "token", "default", "--duration", "20m")).strip()
    _, claims, _ = token.split(".")
    padded = claims + "=" * (-len(claims) % 4)
    decoded = json.loads(base64.urlsafe_b64decode(padded))
    assert decoded["sub"] == "system:serviceaccount:default:default"
    assert decoded["exp"] - decoded["iat"] == 1200
    aimed = (await kubectl.ok("create", "token", "default", "--audience", "vault")).strip()
    payload = aimed.split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["aud"] == [
        "vault"
    ]
    missing = await kubectl("create", "token", "nobody")
    assert missing.code != 0
    assert 'serviceaccounts "nobody" not found' in missing.err, missing.err


async def test_kubectl_creates_a_cron_job_lists_it_and_runs_it_by_hand(kubectl):
    await kubectl.ok("create", "cronjob", "tick", "--image=busybox:1.35",
                     "--schedule=*/5 * * * *", "--", "echo", "hi")  # fmt: skip
    table = (await kubectl.ok("get", "cronjobs")).splitlines()
    assert table[0].split() == [
        "NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"
    ]  # fmt: skip
    assert table[1].split()[:7] == ["tick", "*/5", "*", "*", "*", "*", "<none>"]
    stored = json.loads(await kubectl.ok("get", "cronjob", "tick", "-o", "json"))
    assert stored["spec"]["concurrencyPolicy"] == "Allow"
    assert stored["spec"]["successfulJobsHistoryLimit"] == 3
    await kubectl.ok("create", "job", "tick-now", "--from=cronjob/tick")
    job = json.loads(await kubectl.ok("get", "job", "tick-now", "-o", "json"))
    (owner,) = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "CronJob", "tick", stored["metadata"]["uid"]
    )  # fmt: skip
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    bad = await kubectl("create", "cronjob", "bad", "--image=busybox:1.35",
                        "--schedule=61 * * * *")  # fmt: skip
    assert bad.code != 0
    assert "spec.schedule" in bad.err and "minute: 61 is out of range 0-59" in bad.err, bad.err


STATEFUL_SET = """
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: 2
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
"""


async def test_kubectl_applies_a_stateful_set_and_lists_it_with_its_columns(kubectl):
    assert (await kubectl.ok("apply", "-f", "-", stdin=STATEFUL_SET)).strip() == (
        "statefulset.apps/web created"
    )
    table = (await kubectl.ok("get", "statefulsets")).splitlines()
    assert table[0].split() == ["NAME", "READY", "AGE"]
    assert table[1].split()[:2] == ["web", "0/2"]
    stored = json.loads(await kubectl.ok("get", "sts", "web", "-o", "json"))
    assert stored["spec"]["podManagementPolicy"] == "OrderedReady"
    assert stored["spec"]["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"partition": 0},
    }
    renamed = STATEFUL_SET.replace("serviceName: nginx", "serviceName: other")
    ran = await kubectl("apply", "-f", "-", stdin=renamed)
    assert ran.code != 0
    assert "updates to statefulset spec for fields other than" in ran.err, ran.err


async def test_kubectl_applies_the_docs_minimal_ingress_and_lists_it_with_its_columns(kubectl):
    manifest = str(DOCS / "minimal-ingress.yaml")
    out = await kubectl.ok("apply", "-f", manifest)
    assert out.strip() == "ingress.networking.k8s.io/minimal-ingress created"
    assert (await kubectl.ok("apply", "-f", manifest)).strip().endswith("unchanged")
    table = (await kubectl.ok("get", "ingress")).splitlines()
    assert table[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert table[1].split()[:4] == ["minimal-ingress", "nginx-example", "*", "80"]
    classes = (await kubectl.ok("get", "ingressclasses")).splitlines()
    assert classes[0].split() == ["NAME", "CONTROLLER", "PARAMETERS", "AGE"]
    assert classes[1].split()[:3] == ["tugboat", "tugboat.io/ingress", "<none>"]
    # Without a class, the default class is filled in at create (DefaultIngressClass).
    classless = (
        (DOCS / "minimal-ingress.yaml")
        .read_text()
        .replace("  ingressClassName: nginx-example\n", "")
        .replace("name: minimal-ingress", "name: classless")
    )
    await kubectl.ok("create", "-f", "-", stdin=classless)
    stored = json.loads(await kubectl.ok("get", "ing", "classless", "-o", "json"))
    assert stored["spec"]["ingressClassName"] == "tugboat"
    # kubectl's typed create sends protobuf: the backend's port arrives whole.
    await kubectl.ok("create", "ingress", "typed", "--rule=shop.test/api*=api:8080")
    typed = json.loads(await kubectl.ok("get", "ingress", "typed", "-o", "json"))
    (rule,) = typed["spec"]["rules"]
    assert rule["host"] == "shop.test"
    assert rule["http"]["paths"] == [
        {"path": "/api", "pathType": "Prefix",
         "backend": {"service": {"name": "api", "port": {"number": 8080}}}}
    ]  # fmt: skip
    bad = await kubectl("create", "ingress", "bad", "--rule=10.0.0.1/=api:80")
    assert bad.code != 0
    assert 'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name' in bad.err, bad.err


STORAGE = """
apiVersion: v1
kind: PersistentVolume
metadata: {name: disk-1}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: /srv/disk-1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""


async def test_kubectl_applies_a_claim_and_lists_volumes_claims_and_classes(kubectl):
    out = await kubectl.ok("apply", "-f", "-", stdin=STORAGE)
    assert out.split("\n")[:2] == [
        "persistentvolume/disk-1 created", "persistentvolumeclaim/data created"
    ]  # fmt: skip
    claim = json.loads(await kubectl.ok("get", "pvc", "data", "-o", "json"))
    assert claim["spec"]["storageClassName"] == "local-path"  # the default class, at create
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    table = (await kubectl.ok("get", "pv,pvc,sc")).split("\n\n")
    pv, pvc, sc = (t.strip().splitlines() for t in table)
    assert pv[0].split() == [
        "NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM",
        "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE",
    ]  # fmt: skip
    assert pv[1].split()[:6] == ["persistentvolume/disk-1", "1Gi", "RWO", "Retain", "Pending",
                                 "manual"]  # fmt: skip
    assert pvc[0].split() == [
        "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "AGE",
    ]  # fmt: skip
    assert pvc[1].split()[:3] == ["persistentvolumeclaim/data", "Pending", "local-path"]
    assert sc[0].split() == [
        "NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"
    ]  # fmt: skip
    assert sc[1].split()[:6] == [
        "storageclass.storage.k8s.io/local-path", "(default)", "tugboat.io/local-path", "Delete",
        "WaitForFirstConsumer", "false",
    ]  # fmt: skip
    bad = await kubectl("create", "-f", "-", stdin=STORAGE.split("---")[1].replace(
        "name: data", "name: bad").replace("storage: 1Gi", "storage: lots"))  # fmt: skip
    assert bad.code != 0
    assert 'spec.resources[storage]: Invalid value: "lots"' in bad.err, bad.err


async def test_auth_can_i_and_whoami_answer_on_an_open_server(kubectl):
    # Authorization off: every answer is yes, and the caller is anonymous.
    assert (await kubectl.ok("auth", "can-i", "delete", "pods")).strip() == "yes"
    assert (await kubectl.ok("auth", "can-i", "get", "/version")).strip() == "yes"
    whoami = await kubectl.ok("auth", "whoami")
    assert "system:anonymous" in whoami, whoami


async def test_a_request_as_someone_else_runs_as_that_user_on_an_open_server(kubectl):
    # Authorization off: anyone may be anyone, and the request is theirs (whoami, audit).
    whoami = await kubectl.ok(
        "auth", "whoami", "--as", "bob", "--as-group", "devs", "-o", "json"
    )  # fmt: skip
    info = json.loads(whoami)["status"]["userInfo"]
    assert (info["username"], info["groups"]) == ("bob", ["devs", "system:authenticated"])
    assert (await kubectl.ok("auth", "can-i", "delete", "pods", "--as", "bob")).strip() == "yes"


LOCAL_BALANCER = """\
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: lb}
  ports: [{port: 80, targetPort: 8080}]
"""


async def test_a_local_load_balancer_shows_its_health_check_port_until_patched_to_cluster(kubectl):
    assert (await kubectl.ok("apply", "-f", "-", stdin=LOCAL_BALANCER)).strip().endswith("created")
    live = json.loads(await kubectl.ok("get", "service", "lb", "-o", "json"))
    health = live["spec"]["healthCheckNodePort"]
    assert 30000 <= health <= 32767 and health != live["spec"]["ports"][0]["nodePort"]
    again = await kubectl.ok("apply", "-f", "-", stdin=LOCAL_BALANCER)
    assert again.strip() == "service/lb unchanged"
    await kubectl.ok(
        "patch", "service", "lb", "--type", "merge",
        "-p", '{"spec": {"externalTrafficPolicy": "Cluster"}}',
    )  # fmt: skip
    live = json.loads(await kubectl.ok("get", "service", "lb", "-o", "json"))
    assert live["spec"]["externalTrafficPolicy"] == "Cluster"
    assert "healthCheckNodePort" not in live["spec"], live["spec"]


EXTERNAL_NAME = """\
apiVersion: v1
kind: Service
metadata: {name: my-service}
spec:
  type: ExternalName
  externalName: my.database.example.com
"""


async def test_an_external_name_service_applies_and_lists_its_name_as_external_ip(kubectl):
    out = await kubectl.ok("apply", "-f", "-", stdin=EXTERNAL_NAME)
    assert out.strip() == "service/my-service created"
    row = (await kubectl.ok("get", "service", "my-service", "--no-headers")).split()
    assert row[:3] == ["my-service", "ExternalName", "<none>"]
    assert row[3] == "my.database.example.com", row
    bad = EXTERNAL_NAME.replace("my.database.example.com", "")
    ran = await kubectl("apply", "-f", "-", stdin=bad.replace("my-service", "nameless"))
    assert ran.code != 0 and "spec.externalName: Required value" in ran.err, ran.err


EXPORTED = """\
apiVersion: v1
kind: Service
metadata: {name: shop, labels: {app: shop}}
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: true
  externalTrafficPolicy: Cluster
  internalTrafficPolicy: Cluster
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  ports: [{name: http, port: 80, protocol: TCP, targetPort: 8080}]
  selector: {app: shop}
  sessionAffinity: None
"""


async def test_a_service_as_a_real_cluster_exports_it_applies_and_changes_type_by_patch(kubectl):
    # The fields `kubectl get svc -o yaml` shows on any Kubernetes cluster of this age.
    assert (await kubectl.ok("apply", "-f", "-", stdin=EXPORTED)).strip() == "service/shop created"
    live = json.loads(await kubectl.ok("get", "service", "shop", "-o", "json"))
    assert (live["spec"]["ipFamilies"], live["spec"]["ipFamilyPolicy"]) == (["IPv4"], "SingleStack")
    assert live["spec"]["ports"][0]["nodePort"]
    # The allocated nodePort and the load balancer's fields go with the type they served.
    await kubectl.ok("patch", "service", "shop", "-p", '{"spec": {"type": "ClusterIP"}}')
    live = json.loads(await kubectl.ok("get", "service", "shop", "-o", "json"))
    assert live["spec"]["type"] == "ClusterIP"
    assert "nodePort" not in live["spec"]["ports"][0], live["spec"]
    assert "allocateLoadBalancerNodePorts" not in live["spec"], live["spec"]
    dual = EXPORTED.replace("shop", "dual").replace("SingleStack", "RequireDualStack")
    ran = await kubectl("apply", "-f", "-", stdin=dual)
    assert ran.code != 0 and "not configured for dual-stack services" in ran.err, ran.err


SLICE = """\
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: example-abc
  labels:
    kubernetes.io/service-name: example
addressType: IPv4
ports:
  - name: http
    protocol: TCP
    port: 80
endpoints:
  - addresses:
      - "10.1.2.3"
    conditions:
      ready: true
    hostname: pod-1
    nodeName: node-1
    zone: us-west2-a
"""


async def test_kubectl_applies_an_endpoint_slice_lists_it_and_refuses_a_bad_address(kubectl):
    out = await kubectl.ok("apply", "-f", "-", stdin=SLICE)
    assert out.strip() == "endpointslice.discovery.k8s.io/example-abc created"
    row = (await kubectl.ok("get", "endpointslices", "--no-headers")).split()
    assert row[:4] == ["example-abc", "IPv4", "80", "10.1.2.3"], row
    ready = "jsonpath={.items[0].endpoints[0].conditions.ready}"
    selector = "kubernetes.io/service-name=example"
    found = await kubectl.ok("get", "endpointslices", "-l", selector, "-o", ready)
    assert found == "true"
    bad = SLICE.replace("example-abc", "bad").replace('"10.1.2.3"', '"10.1.2.300"')
    ran = await kubectl("apply", "-f", "-", stdin=bad)
    assert ran.code != 0 and "endpoints[0].addresses[0]" in ran.err, ran.err


BUDGET = """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: zk-pdb
spec:
  minAvailable: 2
  selector:
    matchLabels:
      app: zookeeper
"""


async def test_kubectl_applies_a_disruption_budget_and_lists_it_with_its_columns(kubectl):
    out = await kubectl.ok("apply", "-f", "-", stdin=BUDGET)
    assert out.strip() == "poddisruptionbudget.policy/zk-pdb created"
    header, row = (await kubectl.ok("get", "pdb")).splitlines()
    assert header.split()[:6] == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED"]
    assert row.split()[:4] == ["zk-pdb", "2", "N/A", "0"], row
    both = BUDGET.replace("zk-pdb", "both").replace(
        "minAvailable: 2", "minAvailable: 2\n  maxUnavailable: 1"
    )
    ran = await kubectl("apply", "-f", "-", stdin=both)
    assert ran.code != 0 and "minAvailable and maxUnavailable cannot be both set" in ran.err, (
        ran.err
    )
