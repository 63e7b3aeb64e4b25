"""The syntax of names, label keys and values, as Kubernetes checks them.

Each `is_*` function returns the list of problems (empty when the text is valid), with
the exact wording of k8s.io/apimachinery/pkg/util/validation, so that error messages
read the same as Kubernetes'. It lives in `client/` because both the API server's
validation and the label-selector parser need it.
"""

from __future__ import annotations

import re

__all__ = [
    "is_config_map_key",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_env_var_name",
    "is_percent",
    "is_port_name",
    "is_qualified_name",
    "is_valid_label_value",
]

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = f"({_QUALIFIED_NAME})?"
_ENV_VAR_NAME = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_CONFIG_MAP_KEY = "[-._a-zA-Z0-9]+"
_PERCENT = "[0-9]+%"

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63


def _regex_message(what: str, pattern: str, examples: tuple[str, ...]) -> str:
    shown = ",  or ".join(f"'{e}'" for e in examples)
    return f"{what} (e.g. {shown}, regex used for validation is '{pattern}')"


def _too_long(limit: int) -> str:
    return f"must be no more than {limit} characters"


def is_dns1123_label(value: str) -> list[str]:
    """An RFC 1123 label: namespace names, container and volume names."""
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(_too_long(DNS1123_LABEL_MAX))
    if not re.fullmatch(_DNS1123_LABEL, value):
        errs.append(
            _regex_message(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                "characters or '-', and must start and end with an alphanumeric character",
                _DNS1123_LABEL,
                ("my-name", "123-abc"),
            )
        )
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    """An RFC 1123 subdomain: the names of most objects."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(_too_long(DNS1123_SUBDOMAIN_MAX))
    if not re.fullmatch(_DNS1123_SUBDOMAIN, value):
        errs.append(
            _regex_message(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN,
                ("example.com",),
            )
        )
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """An RFC 1035 label: Service names, which become DNS names and must start with a letter."""
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(_too_long(DNS1123_LABEL_MAX))
    if not re.fullmatch(_DNS1035_LABEL, value):
        errs.append(
            _regex_message(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL,
                ("my-name", "abc-123"),
            )
        )
    return errs


def is_qualified_name(value: str) -> list[str]:
    """A label or annotation key: an optional DNS subdomain prefix and '/', then a name."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
        errs: list[str] = []
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs = ["prefix part must be non-empty"]
        else:
            errs = [f"prefix part {m}" for m in is_dns1123_subdomain(prefix)]
    else:
        return [
            _regex_message(
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character",
                _QUALIFIED_NAME,
                ("MyName", "my.name", "123-abc"),
            )
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX:
        errs.append(f"name part {_too_long(QUALIFIED_NAME_MAX)}")
    if name and not re.fullmatch(_QUALIFIED_NAME, name):
        errs.append(
            "name part "
            + _regex_message(
                "must consist of alphanumeric characters, '-', '_' or '.', "
                "and must start and end with an alphanumeric character",
                _QUALIFIED_NAME,
                ("MyName", "my.name", "123-abc"),
            )
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    """A label value: empty, or up to 63 alphanumerics, '-', '_' and '.' inside."""
    errs = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(_too_long(LABEL_VALUE_MAX))
    if not re.fullmatch(_LABEL_VALUE, value):
        errs.append(
            _regex_message(
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character",
                _LABEL_VALUE,
                ("MyValue", "my_value", "12345"),
            )
        )
    return errs


def is_port_name(value: str) -> list[str]:
    """An IANA_SVC_NAME (RFC 6335): at most 15 of a-z, 0-9 and '-', with a letter."""
    errs = []
    if len(value) > 15:
        errs.append(_too_long(15))
    if not re.fullmatch("[-a-z0-9]+", value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_env_var_name(value: str) -> list[str]:
    """An environment variable name: no leading digit, letters, digits, '_', '-' and '.'."""
    errs = []
    if not re.fullmatch(_ENV_VAR_NAME, value):
        errs.append(
            _regex_message(
                "a valid environment variable name must consist of alphabetic characters, "
                "digits, '_', '-', or '.', and must not start with a digit",
                _ENV_VAR_NAME,
                ("my.env-name", "MY_ENV.NAME", "MyEnvName1"),
            )
        )
    errs.extend(_relative_path_errors(value))
    return errs


def is_config_map_key(value: str) -> list[str]:
    """A ConfigMap or Secret key: it becomes a file name, so no '/', '.' or '..'."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(_too_long(DNS1123_SUBDOMAIN_MAX))
    if not re.fullmatch(_CONFIG_MAP_KEY, value):
        errs.append(
            _regex_message(
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                _CONFIG_MAP_KEY,
                ("key.name", "KEY_NAME", "key-name"),
            )
        )
    errs.extend(_relative_path_errors(value))
    return errs


def _relative_path_errors(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_percent(value: str) -> list[str]:
    """A percentage string such as `25%`."""
    if re.fullmatch(_PERCENT, value):
        return []
    return [
        _regex_message(
            "a valid percent string must be a numeric string followed by an ending '%'",
            _PERCENT,
            ("1%", "93%"),
        )
    ]


def is_path_segment_name(value: str) -> list[str]:
    """A name that is one URL path segment: RBAC's names (`system:node-proxier`)."""
    if value in (".", ".."):
        return [f'may not be "{value}"']
    return [f'may not contain "{c}"' for c in ("/", "%") if c in value]
