"""LimitRange admission, as Kubernetes' LimitRanger: each new pod's containers get the
namespace's default limits and requests where they set none, then every container (and,
for `type: Pod`, the pod's sum) is held to the ranges' min, max and maxLimitRequestRatio;
each new claim's storage request to the `type: PersistentVolumeClaim` ranges' min and max.

A request with no default falls back to the limit (given or defaulted), as Kubernetes'
defaulting of LimitRange does. Refusals read as kube-apiserver's:
`maximum cpu usage per Container is 500m, but limit is 1`.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from client.quantity import format_quantity, parse_quantity

COMPUTE = ("cpu", "memory")


def _value(text: str) -> Fraction | None:
    try:
        return parse_quantity(text)
    except ValueError:
        return None


def _show(value: Fraction, name: str) -> str:
    return format_quantity(value, binary=name in ("memory", "storage"))


def apply(pod: Any, ranges: Iterable[Any]) -> list[str]:
    """Default the pod's containers in place; the rules it breaks (empty: admitted)."""
    items = [item for r in ranges for item in r.spec.limits]
    containers = [*pod.spec.init_containers, *pod.spec.containers]
    for item in items:
        if item.type != "Container":
            continue
        for c in containers:
            res = c.resources
            for name, text in item.default.items():
                if name not in res.limits:
                    res.limits[name] = text
            for name in COMPUTE:
                if name in res.requests:
                    continue
                if name in item.default_request:
                    res.requests[name] = item.default_request[name]
                elif name in res.limits and (name in item.default or name in item.default_request):
                    res.requests[name] = res.limits[name]
    problems: list[str] = []
    for item in items:
        if item.type == "Container":
            for c in containers:
                problems += _bounds(item, "Container", dict(c.resources.requests),
                                    dict(c.resources.limits))  # fmt: skip
        elif item.type == "Pod":
            sums: dict[str, dict[str, str]] = {"requests": {}, "limits": {}}
            for name in COMPUTE:
                for source, into in sums.items():
                    values = [
                        _value(getattr(c.resources, source).get(name, ""))
                        for c in pod.spec.containers
                    ]
                    if values and all(v is not None for v in values):
                        into[name] = format_quantity(sum(v for v in values if v is not None))
            problems += _bounds(item, "Pod", sums["requests"], sums["limits"])
    return problems


def claim_problems(claim: Any, ranges: Iterable[Any]) -> list[str]:
    """The `type: PersistentVolumeClaim` ranges a new claim's storage request breaks."""
    request = _value(claim.spec.resources.requests.get("storage", ""))
    problems: list[str] = []
    for item in (i for r in ranges for i in r.spec.limits if i.type == "PersistentVolumeClaim"):
        shown = _show(request, "storage") if request is not None else "0"
        low, high = _value(item.min.get("storage", "")), _value(item.max.get("storage", ""))
        if low is not None and (request is None or request < low):
            problems.append(f"minimum storage usage per PersistentVolumeClaim is "
                            f"{_show(low, 'storage')}, but request is {shown}")  # fmt: skip
        if high is not None and request is not None and request > high:
            problems.append(f"maximum storage usage per PersistentVolumeClaim is "
                            f"{_show(high, 'storage')}, but request is {shown}")  # fmt: skip
    return problems


def _bounds(item: Any, what: str, requests: dict[str, str], limits: dict[str, str]) -> list[str]:
    problems = []
    for name in COMPUTE:
        request = _value(requests.get(name, ""))
        limit = _value(limits.get(name, ""))
        low = _value(item.min.get(name, ""))
        high = _value(item.max.get(name, ""))
        ratio = _value(item.max_limit_request_ratio.get(name, ""))
        if low is not None:
            if request is None:
                problems.append(f"minimum {name} usage per {what} is {_show(low, name)}, "
                                "but no request is specified")  # fmt: skip
            elif request < low:
                problems.append(f"minimum {name} usage per {what} is {_show(low, name)}, "
                                f"but request is {_show(request, name)}")  # fmt: skip
        if high is not None:
            if limit is None:
                problems.append(f"maximum {name} usage per {what} is {_show(high, name)}, "
                                "but no limit is specified")  # fmt: skip
            elif limit > high:
                problems.append(f"maximum {name} usage per {what} is {_show(high, name)}, "
                                f"but limit is {_show(limit, name)}")  # fmt: skip
        if ratio is not None and request and limit is not None and limit / request > ratio:
            problems.append(f"{name} max limit to request ratio per {what} is "
                            f"{format_quantity(ratio)}, but provided ratio is "
                            f"{float(limit / request):.6f}")  # fmt: skip
    return problems
