"""CLI logging: readable lines on a terminal, JSON lines with ``--log-format json``."""

from __future__ import annotations

import json
import logging
import sys
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "thread": record.threadName,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def level_for(verbose: int, *, quiet: bool = False) -> int:
    """The log level of ``-v`` counted ``verbose`` times, the same for every command: ``-v``
    info, ``-vv`` debug (``-vvv`` also the HTTP clients' debug). Without ``-v``: info, or only
    warnings for a ``quiet`` command (one whose stdout is its result, such as ``replay``)."""
    if verbose <= 0:
        return logging.WARNING if quiet else logging.INFO
    return logging.INFO if verbose == 1 else logging.DEBUG


def setup(*, verbose: int = 0, json_format: bool = False, quiet: bool = False) -> None:
    level = level_for(verbose, quiet=quiet)
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if verbose < 3:
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        logging.getLogger("kubernetes").setLevel(logging.WARNING)
