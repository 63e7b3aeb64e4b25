"""A conversion webhook's answer is checked as apiextensions-apiserver checks it before
anything it converted is used: one object for each sent, in the desired apiVersion and
kind, metadata put back but for labels and annotations; otherwise the read or write fails
with Kubernetes' 500, naming the kind. The webhook here is a stand-in for `post_review`."""

from __future__ import annotations

from typing import Any

import pytest

from client import errors
from client.customkinds import CustomKind
from master.apiserver.customresources import conversion
from master.apiserver.customresources.conversion import Converter
from proto import apiextensions_pb2

V1, V2 = "stable.example.com/v1", "stable.example.com/v2"
SENT = {"apiVersion": V2, "kind": "CronTab", "metadata": {"name": "a", "uid": "u1"}}


def crontabs(webhook: bool = True) -> CustomKind:
    hook = apiextensions_pb2.WebhookConversion(conversion_review_versions=["v1"])
    hook.client_config.url = "https://127.0.0.1:1/convert"
    return CustomKind(
        "CronTab", V2, "crontabs", apiextensions_pb2.CustomObject, True,
        webhook=hook if webhook else None,
    )  # fmt: skip


def answering(monkeypatch: pytest.MonkeyPatch, response: dict[str, Any]) -> list[Any]:
    """Make the webhook answer `response`; the reviews it is sent are returned."""
    sent: list[Any] = []

    async def post(_reader: Any, _config: Any, review: Any, request: Any, _s: int) -> Any:
        sent.append((review, request))
        return response

    monkeypatch.setattr(conversion, "post_review", post)
    return sent


async def test_objects_already_in_the_desired_version_are_not_sent(monkeypatch):
    sent = answering(monkeypatch, {})
    assert await Converter(None).convert(crontabs(), [SENT], V2) == [SENT]  # type: ignore[arg-type]
    assert sent == []


async def test_without_a_webhook_only_the_api_version_is_rewritten(monkeypatch):
    sent = answering(monkeypatch, {})
    [got] = await Converter(None).convert(crontabs(webhook=False), [SENT], V1)  # type: ignore[arg-type]
    assert got == {**SENT, "apiVersion": V1}
    assert sent == []


async def test_the_webhook_may_relabel_but_the_rest_of_metadata_is_put_back(monkeypatch):
    moved = {"apiVersion": V1, "kind": "CronTab", "metadata": {"name": "b", "labels": {"x": "y"}}}
    sent = answering(monkeypatch, {"convertedObjects": [moved], "result": {"status": "Success"}})
    [got] = await Converter(None).convert(crontabs(), [SENT], V1)  # type: ignore[arg-type]
    assert got["metadata"] == {"name": "a", "uid": "u1", "labels": {"x": "y"}}
    [(review, request)] = sent
    assert review == {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview"}
    assert request == {"desiredAPIVersion": V1, "objects": [SENT]}


async def test_of_a_mixed_list_only_the_objects_in_another_version_are_sent(monkeypatch):
    old = {**SENT, "apiVersion": V1, "metadata": {"name": "b"}}
    converted = {**old, "apiVersion": V2}
    sent = answering(
        monkeypatch, {"convertedObjects": [converted], "result": {"status": "Success"}}
    )
    got = await Converter(None).convert(crontabs(), [SENT, old, SENT], V2)  # type: ignore[arg-type]
    assert got == [SENT, converted, SENT]
    [(_, request)] = sent
    assert request["objects"] == [old]


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ({"result": {"status": "Failure", "message": "no"}}, "no"),
        ({"result": {"status": "Success"}, "convertedObjects": []},
         "expected 1 converted objects, got 0"),
        ({"result": {"status": "Success"}, "convertedObjects": [{**SENT}]},
         "convertedObjects[0]: invalid apiVersion 'stable.example.com/v2', expected "
         "'stable.example.com/v1'"),
        ({"result": {"status": "Success"},
          "convertedObjects": [{**SENT, "apiVersion": V1, "kind": "Other"}]},
         "convertedObjects[0]: invalid kind 'Other', expected 'CronTab'"),
        ({"result": {"status": "Success"},
          "convertedObjects": [{"apiVersion": V1, "kind": "CronTab"}]},
         "missing metadata in converted object convertedObjects[0]"),
    ],
)  # fmt: skip
async def test_a_broken_answer_fails_in_kubernetes_words(monkeypatch, response, problem):
    answering(monkeypatch, response)
    with pytest.raises(errors.InternalError) as e:
        await Converter(None).convert(crontabs(), [SENT], V1)  # type: ignore[arg-type]
    assert str(e.value) == (
        f"Internal error occurred: conversion webhook for {V2}, Kind=CronTab failed: {problem}"
    )
