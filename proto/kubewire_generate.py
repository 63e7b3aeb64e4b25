"""Write master/apiserver/rest/kubewire.py: the wire numbers of Kubernetes' protobuf
encoding for the messages Tugboat's kinds are made of.

kubectl's `create`, `drain` and other typed-client commands send their bodies in
Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`) and never fall back
to JSON. Decoding that needs the field numbers of Kubernetes' messages, which are a fact of
the wire protocol and not of our protos. They are read once from a checkout of
kubernetes/api and kubernetes/apimachinery, walking from each Tugboat kind to the messages
it contains, and written as a table: only messages Tugboat stores (or the request types
kubectl sends) are listed, and only their fields' numbers, names and types. The proto
package of each API group, where the walk starts, is written beside it, so that the
decoder looks a body's message up by the same table and the two cannot drift apart.

    python -m proto.kubewire_generate PATH/TO/kubernetes-api PATH/TO/apimachinery

Not run by `make`: the table is committed, and the sources are not on the machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from client.kinds import COMPUTED, KINDS

ROOT = Path(__file__).resolve().parent.parent
META_PROTO = "pkg/apis/meta/v1/generated.proto"
OUT = ROOT / "master" / "apiserver" / "rest" / "kubewire.py"

_MESSAGE = re.compile(r"^message (\w+) \{$")
_FIELD = re.compile(
    r"^\s*(optional|repeated)?\s*(map<\s*(\w+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;"
)
_SPECIAL = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "duration",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "intorstring",
    # ExtraValue is a Go []string: a bare list in JSON, a message of `items` on the wire.
    "k8s.io.api.authentication.v1.ExtraValue": "stringlist",
    "k8s.io.api.authorization.v1.ExtraValue": "stringlist",
    "k8s.io.api.certificates.v1.ExtraValue": "stringlist",
}
_SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float"}
_GROUP_PACKAGES = {
    "": "k8s.io.api.core.v1",
    "apps": "k8s.io.api.apps.v1",
    "batch": "k8s.io.api.batch.v1",
    "policy": "k8s.io.api.policy.v1",
    "authentication.k8s.io": "k8s.io.api.authentication.v1",
    "authorization.k8s.io": "k8s.io.api.authorization.v1",
    "coordination.k8s.io": "k8s.io.api.coordination.v1",
    "scheduling.k8s.io": "k8s.io.api.scheduling.v1",
    "rbac.authorization.k8s.io": "k8s.io.api.rbac.v1",
    "networking.k8s.io": "k8s.io.api.networking.v1",
    "admissionregistration.k8s.io": "k8s.io.api.admissionregistration.v1",
    "autoscaling": "k8s.io.api.autoscaling.v2",
    "storage.k8s.io": "k8s.io.api.storage.v1",
    "certificates.k8s.io": "k8s.io.api.certificates.v1",
    "node.k8s.io": "k8s.io.api.node.v1",
    "flowcontrol.apiserver.k8s.io": "k8s.io.api.flowcontrol.v1",
}
"""Each API group's Kubernetes proto package, of the version Tugboat serves. The
authentication and authorization groups have no kind of Tugboat's to walk from, only
request bodies (`_REQUESTS`) for the decoder to find."""
_NOT_V1 = ("autoscaling/v2",)
"""Groups whose served version is not v1: their generated.proto is read too."""
_INLINE = {
    "LocalObjectReference",
    "VolumeSource",
    "PersistentVolumeSource",
    "ProbeHandler",
    "EphemeralContainerCommon",
    "IngressRuleValue",
    "RuleWithOperations",
    "Rule",
}
_JSON_NAMES = {"aPIGroup": "apiGroup", "Webhooks": "webhooks"}
"""Proto field names that differ from the JSON name (go-to-protobuf's spelling of APIGroup)."""
# Request bodies kubectl sends that are not stored kinds: decoded whole.
_REQUESTS = (
    "k8s.io.api.policy.v1.Eviction",
    "k8s.io.api.autoscaling.v1.HorizontalPodAutoscaler",
    "k8s.io.api.authentication.v1.TokenRequest",
    "k8s.io.api.authentication.v1.SelfSubjectReview",
    "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
    "k8s.io.api.authorization.v1.SubjectAccessReview",
    "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
)

Field = tuple[str, str, str]
"""(JSON name, label: "" | "repeated" | "map" | "inline", type: a scalar, a special or a message)"""


def parse(files: list[Path]) -> dict[str, dict[int, Field]]:
    """Every message of the files: full name -> {number: field}."""
    messages: dict[str, dict[int, Field]] = {}
    for path in files:
        package = ""
        current: dict[int, Field] | None = None
        for line in path.read_text().splitlines():
            if line.startswith("package "):
                package = line.split()[1].rstrip(";")
            elif m := _MESSAGE.match(line):
                current = messages.setdefault(f"{package}.{m.group(1)}", {})
            elif line.startswith("}"):
                current = None
            elif current is not None and (f := _FIELD.match(line)):
                label, kind, key, value, name, number = f.groups()
                name = _JSON_NAMES.get(name, name)
                if key:
                    current[int(number)] = (name, "map", f"{key}:{_resolve(value, package)}")
                else:
                    repeated = "repeated" if label == "repeated" else ""
                    current[int(number)] = (name, repeated, _resolve(kind, package))
    return messages


def _resolve(kind: str, package: str) -> str:
    if kind in _SCALARS:
        return kind
    full = kind.lstrip(".") if "." in kind else f"{package}.{kind}"
    return _SPECIAL.get(full, full)


def _embedded(json_name: str, label: str, target: str) -> bool:
    """Whether a field is a Go struct embedded inline. The proto files do not say, so the
    embeddings our kinds meet are named here: an unknown one fails loudly in the tests of
    the decoder, as its fields land one level too deep."""
    return not label and target.rpartition(".")[2] in _INLINE


def reachable(messages: dict[str, dict[int, Field]]) -> dict[str, dict[int, Field]]:
    """The messages met walking from each kind through fields Tugboat has, plus requests."""
    table: dict[str, dict[int, Field]] = {}

    def walk(name: str, ours: Any) -> None:
        if name in table or name not in messages:
            return
        table[name] = dict(sorted(messages[name].items()))
        by_json = {f.json_name: f for f in ours.fields} if ours is not None else {}
        for number, (json_name, label, kind) in list(table[name].items()):
            target = kind.rpartition(":")[2]
            if target not in messages:
                continue
            if ours is None:
                walk(target, None)
            elif json_name not in by_json and _embedded(json_name, label, target):
                # A Go struct embedded inline (VolumeSource in Volume, ProbeHandler in
                # Probe): its own message on the wire, flattened into its parent in JSON.
                table[name][number] = (json_name, "inline", kind)
                walk(target, ours)
            elif (field := by_json.get(json_name)) is not None and field.message_type:
                inner = field.message_type
                if inner.GetOptions().map_entry:
                    inner = inner.fields_by_name["value"].message_type
                if inner is not None:
                    walk(target, inner)

    for kind in (*KINDS, *COMPUTED):
        package = _GROUP_PACKAGES.get(kind.group)
        if package:
            walk(f"{package}.{kind.kind}", kind.message.DESCRIPTOR)
    for request in _REQUESTS:
        walk(request, None)
    return table


def render(table: dict[str, dict[int, Field]]) -> str:
    lines = [
        '"""Kubernetes\' protobuf package of each API group, and its field numbers for the',
        "messages of Tugboat's kinds and of the request bodies kubectl sends; generated by",
        "proto/kubewire_generate.py, do not edit.",
        '"""',
        "",
        "GROUP_PACKAGES: dict[str, str] = {",
        *(f"    {group!r}: {package!r}," for group, package in _GROUP_PACKAGES.items()),
        "}",
        "",
        "MESSAGES: dict[str, dict[int, tuple[str, str, str]]] = {",
    ]
    for name in sorted(table):
        lines.append(f"    {name!r}: {{")
        lines.extend(f"        {number}: {field!r}," for number, field in table[name].items())
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(api: Path, machinery: Path) -> None:
    files = [
        *sorted(api.glob("*/v1/generated.proto")),
        *(api / version / "generated.proto" for version in _NOT_V1),
        machinery / META_PROTO,
    ]
    OUT.write_text(render(reachable(parse(files))))
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(OUT)], check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
