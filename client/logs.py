"""Logging start-up shared by every daemon: structlog, console in a terminal, JSON otherwise.

Each line carries a timestamp, its level and the component ("apiserver", "kubelet"...),
so lines of several daemons can be merged and filtered; call sites add the object's key
(`log.info("pod bound", pod="default/web-1", node="n1")`). The standard library's
logging (grpc, aetcd) is routed through the same renderer.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["bind", "configure_logging"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the moment of writing.

    Binding the stream object at configuration time breaks when it is later replaced and
    closed (pytest's capture does exactly that after each test), so every later log line
    would raise "I/O operation on closed file".
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(component: str, *, level: str = "info", json: bool | None = None) -> None:
    """Set up structlog (and stdlib logging) for a daemon named `component`.

    `json` None picks by the terminal: a console renderer when stderr is a TTY, JSON lines
    otherwise. Raises ValueError naming an unknown level.
    """
    try:
        numeric = _LEVELS[level.lower()]
    except KeyError:
        raise ValueError(
            f'unknown log level "{level}" (expected one of {", ".join(sorted(_LEVELS))})'
        ) from None
    if json is None:
        json = not sys.stderr.isatty()

    def add_component(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
        event.setdefault("component", component)
        return event

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_component,
    ]
    renderer: Processor
    if json:
        shared += [structlog.processors.format_exc_info]
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )

    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # Libraries are chatty at INFO; their warnings still show.
    root.setLevel(max(numeric, logging.WARNING))


def bind(**values: Any) -> None:
    """Add key-value pairs to every later line of this task (structlog contextvars)."""
    structlog.contextvars.bind_contextvars(**values)
