"""The Website operator: each `Website` (examples.tugboat.io/v1, crd.yaml) becomes a
Deployment and a Service of the same name, kept as the Website says.

Written against Tugboat's own client the way its controllers are written (DESIGN.md,
"Control loops"): informers list and watch Websites, Deployments and Services; their
events only put a Website's `namespace/name` on a work queue; a worker reconciles one key
at a time from the caches. The Deployment and Service carry a controlling owner
reference to their Website, so when the Website is deleted the garbage collector deletes
them; the operator never deletes anything itself. The Website's status (replicas, ready
replicas, the pods' selector for `/scale`, the Service's URL) is written through the
status subresource.

Run it against a cluster (after `tug apply -f examples/operator/crd.yaml`):

    python examples/operator/website_operator.py --server 127.0.0.1:6443 \
        [--ca CA.crt --cert CLIENT.crt --key CLIENT.key]   # a secure cluster
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import structlog

from client import codec, customkinds, errors, kinds
from client.api import ApiClient, ClientOptions
from client.informer import Informer, copy_object
from client.owners import owner_reference
from client.tls import ClientCredentials
from client.workqueue import WorkQueue, run_workers

log = structlog.get_logger("examples.website-operator")

GROUP_VERSION = "examples.tugboat.io/v1"
INSTANCE = "app.kubernetes.io/instance"
MANAGED_BY = "app.kubernetes.io/managed-by"
NAME = "website-operator"
CRD_WAITS = 1000
"""Looks for the CRD before giving up (about 80 minutes at the longest pause)."""


def _spec(site: Any) -> dict[str, Any]:
    spec: dict[str, Any] = codec.to_dict(site).get("spec") or {}
    return spec


def desired_deployment(site: Any) -> Any:
    """The Deployment a Website asks for."""
    spec = _spec(site)
    name = site.metadata.name
    labels = {INSTANCE: name}
    dep = kinds.by_resource("deployments").new()
    codec.merge_dict(
        dep,
        {
            "metadata": {
                "name": name,
                "namespace": site.metadata.namespace,
                "labels": {**labels, MANAGED_BY: NAME},
            },
            "spec": {
                "replicas": spec.get("replicas", 1),
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": spec["image"],
                                "command": ["httpd", "-f", "-p", str(spec.get("port", 80))],
                                "ports": [{"containerPort": spec.get("port", 80)}],
                            }
                        ]
                    },
                },
            },
        },
    )
    dep.metadata.owner_references.append(owner_reference(site))
    return dep


def desired_service(site: Any) -> Any:
    """The Service a Website asks for."""
    spec = _spec(site)
    svc = kinds.by_resource("services").new()
    codec.merge_dict(
        svc,
        {
            "metadata": {
                "name": site.metadata.name,
                "namespace": site.metadata.namespace,
                "labels": {INSTANCE: site.metadata.name, MANAGED_BY: NAME},
            },
            "spec": {
                "selector": {INSTANCE: site.metadata.name},
                "ports": [{"port": spec.get("port", 80), "targetPort": spec.get("port", 80)}],
            },
        },
    )
    svc.metadata.owner_references.append(owner_reference(site))
    return svc


class WebsiteOperator:
    """Informers, a queue of Website keys, and `reconcile(key)`."""

    def __init__(self, api: ApiClient, *, namespace: str = "", workers: int = 2) -> None:
        self.api = api
        self.namespace = namespace
        self.workers = workers
        self.queue = WorkQueue("websites")
        self.websites: Informer[Any] | None = None
        self.deployments: Informer[Any] | None = None
        self.services: Informer[Any] | None = None

    def _owner_key(self, obj: Any) -> None:
        for ref in obj.metadata.owner_references:
            if ref.controller and ref.kind == "Website" and ref.api_version == GROUP_VERSION:
                self.queue.add(f"{obj.metadata.namespace}/{ref.name}")

    async def run(self) -> None:
        """Reconcile until cancelled."""
        await self._wait_for_crd()
        self.websites = Informer[Any](self.api, "websites", self.namespace)
        self.deployments = Informer[Any](self.api, "deployments", self.namespace)
        self.services = Informer[Any](self.api, "services", self.namespace)
        self.websites.add_key_handler(self.queue.add)
        for children in (self.deployments, self.services):
            children.add_handler(
                on_add=self._owner_key,
                on_update=lambda _old, new: self._owner_key(new),
                on_delete=self._owner_key,
            )
        informers = (self.websites, self.deployments, self.services)
        try:
            for informer in informers:
                informer.start()
            for informer in informers:
                await informer.wait_synced()
            log.info("caches synced", key="websites")
            await run_workers(self.queue, self.reconcile, workers=self.workers)
        finally:
            self.queue.shutdown()
            for informer in informers:
                await informer.stop()

    async def _wait_for_crd(self) -> None:
        """The Website kind exists only once its CRD does: learn it from the cluster,
        waiting (bounded) while the CRD is not installed yet."""
        pause = 0.2
        for _ in range(CRD_WAITS):
            found = await customkinds.load(self.api)
            if "websites" in {k.resource for k in found}:
                return
            log.info("waiting for the Website CRD: apply examples/operator/crd.yaml", key=NAME)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        raise RuntimeError("the Website CRD was never installed")

    async def reconcile(self, key: str) -> None:
        """One step toward what the Website `key` says."""
        assert self.websites is not None and self.deployments is not None
        assert self.services is not None
        site = self.websites.get(key)
        if site is None or site.metadata.deletion_timestamp:
            return  # its Deployment and Service go with it (owner references)
        dep = await self._ensure(self.deployments, desired_deployment(site), key, _same_deployment)
        svc = await self._ensure(self.services, desired_service(site), key, _same_service)
        await self._report(site, dep, svc)

    async def _ensure(self, cache: Informer[Any], want: Any, key: str, same: Any) -> Any:
        have = cache.get(key)
        if have is None:
            try:
                created = await self.api.create(want)
            except errors.AlreadyExists:
                return None  # the cache is behind: the next event brings it
            log.info("created", key=f"{kinds.of(want).resource}/{key}")
            return created
        owner_uid = want.metadata.owner_references[0].uid
        if not any(r.uid == owner_uid for r in have.metadata.owner_references):
            log.warning("not ours: left alone", key=f"{kinds.of(want).resource}/{key}")
            return have
        if same(have, want):
            return have
        updated = copy_object(have)
        updated.spec.CopyFrom(_merged_spec(have, want))
        updated.metadata.labels.update(want.metadata.labels)
        result = await self.api.update(updated)
        log.info("updated", key=f"{kinds.of(want).resource}/{key}")
        return result

    async def _report(self, site: Any, dep: Any, svc: Any) -> None:
        spec = _spec(site)
        status: dict[str, Any] = {
            "replicas": dep.status.replicas if dep is not None else 0,
            "readyReplicas": dep.status.ready_replicas if dep is not None else 0,
            "selector": f"{INSTANCE}={site.metadata.name}",
        }
        if svc is not None:
            ns = site.metadata.namespace
            port = spec.get("port", 80)
            status["url"] = f"http://{site.metadata.name}.{ns}.svc.cluster.local:{port}"
        current = json.loads(site.status.json) if site.HasField("status") else None
        if current == status:
            return
        updated = copy_object(site)
        updated.status.json = json.dumps(status, sort_keys=True, separators=(",", ":"))
        await self.api.update_status(updated)


def _same_deployment(have: Any, want: Any) -> bool:
    h, w = have.spec, want.spec
    return bool(
        h.replicas == w.replicas
        and [c.image for c in h.template.spec.containers]
        == [c.image for c in w.template.spec.containers]
        and list(h.template.spec.containers[0].ports) == list(w.template.spec.containers[0].ports)
        and list(h.template.spec.containers[0].command)
        == list(w.template.spec.containers[0].command)
    )


def _same_service(have: Any, want: Any) -> bool:
    return [(p.port, p.target_port.int_val) for p in have.spec.ports] == [
        (p.port, p.target_port.int_val) for p in want.spec.ports
    ]


def _merged_spec(have: Any, want: Any) -> Any:
    """The live spec with what the operator owns set as wanted (keeps the server's
    defaults and allocations: a Service's clusterIP, a Deployment's strategy)."""
    spec = type(have.spec)()
    spec.CopyFrom(have.spec)
    if hasattr(spec, "replicas"):
        spec.replicas = want.spec.replicas
        container = spec.template.spec.containers[0]
        wanted = want.spec.template.spec.containers[0]
        container.image = wanted.image
        del container.command[:]
        container.command.extend(wanted.command)
        del container.ports[:]
        container.ports.extend(wanted.ports)
    else:
        del spec.ports[:]
        spec.ports.extend(want.spec.ports)
    return spec


async def _main(args: argparse.Namespace) -> None:
    options = ClientOptions(user_agent=NAME)
    if args.ca:
        # A secure cluster (`tug up`'s default): its CA, and a client certificate.
        options.tls = ClientCredentials.from_files(
            Path(args.ca),
            Path(args.cert) if args.cert else None,
            Path(args.key) if args.key else None,
        )
    async with ApiClient(args.server.split(","), options) as api:
        await WebsiteOperator(api, namespace=args.namespace).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the Website operator")
    parser.add_argument(
        "--server", required=True, help="API servers' gRPC host:port, comma-separated"
    )
    parser.add_argument("--namespace", default="", help="only this namespace (default: all)")
    parser.add_argument("--ca", default="", help="the cluster CA (a secure cluster)")
    parser.add_argument("--cert", default="", help="this operator's client certificate")
    parser.add_argument("--key", default="", help="its private key")
    asyncio.run(_main(parser.parse_args()))
