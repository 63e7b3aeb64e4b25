"""Conversion webhooks: a CRD whose versions differ in shape names a webhook that converts
its objects between them, as apiextensions-apiserver's webhook converter asks it.

Objects are stored in the storage version (the store and gRPC know no other). Where a
request speaks another served version, the REST edge (rest/customobjects.py) sends what
it writes out, and the body it was given, through `Converter.convert`: one
`ConversionReview` (apiextensions.k8s.io/v1, or v1beta1 when the webhook speaks only that)
for all the objects of one answer, a list's items in one call as Kubernetes sends them.

The answer is checked as Kubernetes checks it: `result.status` Success, one converted
object per object sent, each in the desired apiVersion and of the same kind. A webhook
may change only the labels and annotations of an object's metadata; everything else in
it (name, uid, resourceVersion, ...) is put back from the object sent, so a webhook can
never move or rename what it converts. A failure is Kubernetes' 500, "conversion webhook
for <group>/<version>, Kind=<kind> failed: ...", and nothing is written.
"""

from __future__ import annotations

from typing import Any

from client import errors
from client.customkinds import CustomKind
from master.apiserver.webhookclient import CallFailed, Reader, post_review

__all__ = ["Converter"]

TIMEOUT_SECONDS = 30
"""Kubernetes' fixed timeout for a conversion webhook call (the CRD cannot set one)."""
REVIEW_VERSIONS = ("v1", "v1beta1")


class Converter:
    """Converts custom objects between versions through their CRD's webhook."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    async def convert(
        self, kind: CustomKind, objects: list[dict[str, Any]], desired: str
    ) -> list[dict[str, Any]]:
        """`objects` (Kubernetes-shaped dicts) in apiVersion `desired`. Objects already
        in it are not sent; with no webhook only apiVersion is rewritten (strategy None)."""
        if kind.webhook is None:
            return [{**o, "apiVersion": desired} for o in objects]
        # As Kubernetes' converter: only what is not in the desired version yet is sent.
        todo = [i for i, o in enumerate(objects) if o.get("apiVersion") != desired]
        if not todo:
            return objects
        sent = [objects[i] for i in todo]
        offered = list(kind.webhook.conversion_review_versions)
        version = next((v for v in REVIEW_VERSIONS if v in offered), REVIEW_VERSIONS[0])
        review = {"apiVersion": f"apiextensions.k8s.io/{version}", "kind": "ConversionReview"}
        request = {"desiredAPIVersion": desired, "objects": sent}
        try:
            response = await post_review(
                self.reader, kind.webhook.client_config, review, request, TIMEOUT_SECONDS
            )
            converted = _checked(kind, sent, desired, response)
        except CallFailed as e:
            raise self.failed(kind, str(sent[0].get("apiVersion")), str(e)) from None
        out = list(objects)
        for i, obj in zip(todo, converted, strict=True):
            out[i] = obj
        return out

    @staticmethod
    def failed(kind: CustomKind, api_version: str, problem: str) -> errors.ApiError:
        """kube-apiserver's 500 for a conversion of `api_version` objects that failed."""
        return errors.InternalError(
            f"Internal error occurred: conversion webhook for {api_version}, "
            f"Kind={kind.kind} failed: {problem}"
        )


def _checked(
    kind: CustomKind, sent: list[dict[str, Any]], desired: str, response: dict[str, Any]
) -> list[dict[str, Any]]:
    """The converted objects, each with the metadata it was sent with but for labels and
    annotations; CallFailed when the answer breaks the exchange's rules."""
    result = response.get("result")
    if not isinstance(result, dict) or result.get("status") != "Success":
        message = result.get("message") if isinstance(result, dict) else None
        raise CallFailed(str(message or "the webhook did not answer Success"))
    converted = response.get("convertedObjects")
    if not isinstance(converted, list) or len(converted) != len(sent):
        count = len(converted) if isinstance(converted, list) else 0
        raise CallFailed(f"expected {len(sent)} converted objects, got {count}")
    out = []
    for i, (given, got) in enumerate(zip(sent, converted, strict=True)):
        if not isinstance(got, dict):
            raise CallFailed(f"convertedObjects[{i}] is not an object")
        if got.get("apiVersion") != desired:
            raise CallFailed(
                f"convertedObjects[{i}]: invalid apiVersion {got.get('apiVersion')!r}, "
                f"expected {desired!r}"
            )
        if got.get("kind") != kind.kind:
            raise CallFailed(
                f"convertedObjects[{i}]: invalid kind {got.get('kind')!r}, expected {kind.kind!r}"
            )
        out.append({**got, "metadata": _restored_meta(given, got, i)})
    return out


def _restored_meta(given: dict[str, Any], got: dict[str, Any], i: int) -> dict[str, Any]:
    meta = dict(given.get("metadata") or {})
    changed = got.get("metadata")
    if not isinstance(changed, dict):
        raise CallFailed(f"missing metadata in converted object convertedObjects[{i}]")
    for field in ("labels", "annotations"):
        value = changed.get(field)
        if value is None:
            meta.pop(field, None)
            continue
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise CallFailed(f"convertedObjects[{i}].metadata.{field} must map strings to strings")
        meta[field] = value
    return meta
