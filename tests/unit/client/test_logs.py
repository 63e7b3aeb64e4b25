"""Logging set-up shared by every daemon."""

import io
import json
import sys

import pytest
import structlog

from client.logs import configure_logging


def test_log_lines_go_to_the_current_stderr_even_after_the_old_one_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("test", json=True)
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger().info("still logging", key="default/web")
    line = json.loads(second.getvalue().splitlines()[-1])
    assert line["event"] == "still logging"
    assert line["key"] == "default/web"
    assert line["component"] == "test"


def test_an_unknown_level_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match='unknown log level "loud"'):
        configure_logging("test", level="loud")
