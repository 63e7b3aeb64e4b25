"""CEL expressions of admission policies: compiled once, evaluated against plain data.

Kubernetes' ValidatingAdmissionPolicy writes its rules in CEL, the Common Expression
Language; cel-python (`celpy`) implements the language and its standard functions
(`has`, `all`, `exists`, `filter`, `map`, `startsWith`, `matches`, `size`, `in`, string
conversion ...). Kubernetes' own CEL libraries (quantity, url, ip, authorizer) are not
there, so an expression using one fails to compile and its policy is refused at create,
naming the expression.

An object enters an expression in its Kubernetes JSON form (client/codec.py), so field
names and absent fields behave as they do in Kubernetes: `has(object.metadata.labels)`
is false for an object without labels. A compiled program is cached by its text, since
the same few expressions run on every matching write.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

__all__ = [
    "CELEvalError",
    "CelError",
    "as_bool",
    "as_string",
    "bind",
    "bind_map",
    "compile_error",
    "evaluate",
]


class CelError(Exception):
    """An expression that does not compile, fails while running, or yields the wrong type."""


@lru_cache(maxsize=1024)
def _program(expression: str) -> Any:
    env = celpy.Environment()
    try:
        return env.program(env.compile(expression))
    except Exception as e:  # celpy raises its own parse and type errors
        raise CelError(str(e).strip().splitlines()[0] if str(e).strip() else repr(e)) from None


def compile_error(expression: str) -> str:
    """Why `expression` does not compile ("" when it does)."""
    if not expression.strip():
        return "expression must not be empty"
    try:
        _program(expression)
    except CelError as e:
        return f"compilation failed: {e}"
    return ""


def _to_cel(value: Any) -> Any:
    return json_to_cel(value)


def bind(values: dict[str, Any]) -> dict[str, Any]:
    """`values` as CEL values, converted once for all the expressions of one write."""
    return {name: value if _is_cel(value) else _to_cel(value) for name, value in values.items()}


def evaluate(expression: str, activation: dict[str, Any]) -> Any:
    """The value of `expression` with `activation`'s plain values bound (CEL values, such
    as earlier variables' results, pass through); CelError when it cannot be had."""
    program = _program(expression)
    bound = bind(activation)
    try:
        result = program.evaluate(bound)
    except CELEvalError as e:
        raise CelError(str(e.args[0]) if e.args else repr(e)) from None
    except Exception as e:  # an interpreter error is the expression's failure, not ours
        raise CelError(str(e) or repr(e)) from None
    if isinstance(result, CELEvalError):
        raise CelError(str(result.args[0]) if result.args else repr(result))
    return result


def _is_cel(value: Any) -> bool:
    return type(value).__module__.startswith("celpy")


def as_bool(expression: str, activation: dict[str, Any]) -> bool:
    """A validation's or match condition's verdict; CelError unless it is a bool."""
    result = evaluate(expression, activation)
    if not isinstance(result, celpy.celtypes.BoolType | bool):
        raise CelError(f"expression must evaluate to bool, got {type(result).__name__}")
    return bool(result)


def as_string(expression: str, activation: dict[str, Any]) -> str:
    """A messageExpression's text; CelError unless it is a string."""
    result = evaluate(expression, activation)
    if not isinstance(result, str):
        raise CelError(f"messageExpression must evaluate to string, got {type(result).__name__}")
    return str(result)


def bind_map(values: dict[str, Any]) -> Any:
    """A CEL map of already evaluated values (the policy's `variables`); an entry that is
    a CELEvalError fails only the expressions that read it, as Kubernetes evaluates
    variables lazily."""
    return celpy.celtypes.MapType({celpy.celtypes.StringType(k): v for k, v in values.items()})
