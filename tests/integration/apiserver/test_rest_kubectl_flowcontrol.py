"""The real kubectl with API Priority and Fairness' kinds (flowcontrol.apiserver.k8s.io/v1):
the Kubernetes docs' FlowSchema and a Limited, queuing PriorityLevelConfiguration are
applied, listed with kube-apiserver's columns, read back with their defaults and
described; a bad one is refused in Kubernetes' words naming the field; a protobuf body
(as Go clients send) keeps nominalConcurrencyShares 0 apart from unset.

The API server may also hold Kubernetes' built-in objects (exempt, catch-all, ...), so
these tests use their own names and never assert a whole list.
"""

from __future__ import annotations

import json

import aiohttp
import pytest
import yaml

from master.apiserver.rest import kubeproto
from tests.integration.apiserver.kubectl import KUBECTL

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is installed by make setup")

HEALTH_FOR_STRANGERS = """\
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: health-for-strangers
spec:
  matchingPrecedence: 1000
  priorityLevelConfiguration:
    name: exempt
  rules:
    - nonResourceRules:
      - nonResourceURLs:
          - "/healthz"
          - "/livez"
          - "/readyz"
        verbs:
          - "*"
      subjects:
        - kind: Group
          group:
            name: "system:unauthenticated"
"""
"""The docs' example (API Priority and Fairness, "Health check concurrency exemption")."""

LIST_EVENTS = """\
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: list-events-default-service-account
spec:
  distinguisherMethod:
    type: ByUser
  priorityLevelConfiguration:
    name: restrict-pod-lister
  rules:
    - resourceRules:
      - apiGroups: ['*']
        namespaces: [default]
        resources: [events]
        verbs: [list]
      subjects:
        - kind: ServiceAccount
          serviceAccount: {name: default, namespace: default}
"""
"""The docs' list-events schema, its precedence left to the default."""

RESTRICT = """\
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata:
  name: restrict-pod-lister
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 5
    limitResponse:
      queuing:
        queues: 10
        queueLengthLimit: 20
      type: Queue
"""


async def test_the_docs_objects_are_applied_listed_with_kubectls_columns_and_defaulted(kubectl):
    applied = await kubectl.ok(
        "apply", "-f", "-", stdin="---\n".join((HEALTH_FOR_STRANGERS, LIST_EVENTS, RESTRICT))
    )
    assert applied.splitlines() == [
        "flowschema.flowcontrol.apiserver.k8s.io/health-for-strangers created",
        "flowschema.flowcontrol.apiserver.k8s.io/list-events-default-service-account created",
        "prioritylevelconfiguration.flowcontrol.apiserver.k8s.io/restrict-pod-lister created",
    ]

    again = await kubectl.ok("apply", "-f", "-", stdin=RESTRICT)
    assert again.strip().endswith("restrict-pod-lister unchanged")

    lines = (await kubectl.ok("get", "flowschemas")).splitlines()
    assert lines[0].split() == [
        "NAME", "PRIORITYLEVEL", "MATCHINGPRECEDENCE", "DISTINGUISHERMETHOD", "AGE", "MISSINGPL",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    health = rows["health-for-strangers"]
    assert health[1:4] == ["exempt", "1000", "<none>"]
    listing = rows["list-events-default-service-account"]
    assert listing[1:4] == ["restrict-pod-lister", "1000", "ByUser"]

    listed = await kubectl.ok("get", "prioritylevelconfiguration", "restrict-pod-lister")
    header, row = listed.splitlines()
    assert header.split() == [
        "NAME", "TYPE", "NOMINALCONCURRENCYSHARES", "QUEUES", "HANDSIZE", "QUEUELENGTHLIMIT",
        "AGE",
    ]  # fmt: skip
    assert row.split()[:6] == ["restrict-pod-lister", "Limited", "5", "10", "8", "20"]

    stored = yaml.safe_load(
        await kubectl.ok("get", "prioritylevelconfigurations", "restrict-pod-lister", "-o", "yaml")
    )
    assert stored["apiVersion"] == "flowcontrol.apiserver.k8s.io/v1"
    assert stored["spec"]["limited"] == {
        "nominalConcurrencyShares": 5,
        "lendablePercent": 0,
        "limitResponse": {
            "type": "Queue",
            "queuing": {"queues": 10, "handSize": 8, "queueLengthLimit": 20},
        },
    }
    schema = yaml.safe_load(
        await kubectl.ok("get", "flowschema", "list-events-default-service-account", "-o", "yaml")
    )
    assert schema["spec"]["matchingPrecedence"] == 1000
    assert schema["spec"]["rules"][0]["subjects"] == [
        {"kind": "ServiceAccount", "serviceAccount": {"name": "default", "namespace": "default"}}
    ]

    described = await kubectl.ok("describe", "flowschema", "health-for-strangers")
    assert "health-for-strangers" in described
    assert "/healthz" in described


async def test_a_bad_priority_level_and_flow_schema_are_refused_naming_the_field(kubectl):
    bad_hand = RESTRICT.replace("queues: 10", "queues: 10\n        handSize: 12")
    refused = await kubectl("apply", "-f", "-", stdin=bad_hand)
    assert refused.code != 0
    assert (
        'The PriorityLevelConfiguration "restrict-pod-lister" is invalid: '
        "spec.limited.limitResponse.queuing.handSize: Invalid value: 12: should not be "
        "greater than queues (10)" in refused.err
    ), refused.err

    strangers = HEALTH_FOR_STRANGERS.replace("/livez", "livez")
    refused = await kubectl("apply", "-f", "-", stdin=strangers)
    assert refused.code != 0
    assert (
        'spec.rules[0].nonResourceRules[0].nonResourceURLs[1]: Invalid value: "livez": '
        "must start with slash" in refused.err
    ), refused.err
    missing = await kubectl("get", "flowschema", "health-for-strangers")
    assert missing.code != 0


async def test_status_is_the_servers_and_zero_shares_survive_a_protobuf_body(apiserver, kubectl):
    await kubectl.ok("apply", "-f", "-", stdin=RESTRICT)
    server = f"http://127.0.0.1:{apiserver.status.port}"
    url = f"{server}/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations"
    # A Limited level of 0 shares, as Go's protobuf encoder writes it: the pointer's 0 is
    # sent, so it must not become the unset default of 30.
    queuing = _field(1, 4) + _field(2, 2) + _field(3, 5)
    response = _field(1, "Queue") + _field(2, queuing)
    limited = _field(1, 0) + _field(2, response)
    spec = _field(1, "Limited") + _field(2, limited)
    raw = _field(1, _field(1, "borrow-only")) + _field(2, spec)
    body = kubeproto.MAGIC + _field(1, _field(1, "flowcontrol.apiserver.k8s.io/v1") + _field(
        2, "PriorityLevelConfiguration"
    )) + _field(2, raw)  # fmt: skip
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as created:
            assert created.status == 201, await created.text()
        accept = {"Accept": "application/vnd.kubernetes.protobuf, application/json"}
        async with session.get(f"{url}/borrow-only", headers=accept) as got:
            assert got.status == 200
            level = json.loads(await got.read())
    assert level["spec"]["limited"]["nominalConcurrencyShares"] == 0
    assert level["spec"]["limited"]["limitResponse"]["queuing"] == {
        "queues": 4, "handSize": 2, "queueLengthLimit": 5,
    }  # fmt: skip
    listed = await kubectl.ok("get", "prioritylevelconfiguration", "borrow-only")
    _, row = listed.splitlines()
    assert row.split()[:6] == ["borrow-only", "Limited", "0", "4", "2", "5"]

    # An update of the object keeps the stored status; /status changes only the status.
    stored = json.loads(
        await kubectl.ok("get", "prioritylevelconfiguration", "restrict-pod-lister", "-o", "json")
    )
    stored["status"] = {"conditions": [{"type": "ConcurrencyShared", "status": "True"}]}
    stored["spec"]["limited"]["nominalConcurrencyShares"] = 7
    await kubectl.ok("replace", "--subresource=status", "-f", "-", stdin=json.dumps(stored))
    after = json.loads(
        await kubectl.ok("get", "prioritylevelconfiguration", "restrict-pod-lister", "-o", "json")
    )
    assert after["spec"]["limited"]["nominalConcurrencyShares"] == 5
    assert after["status"]["conditions"][0]["type"] == "ConcurrencyShared"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    """One protobuf field: a varint for an int, length-delimited otherwise."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data
