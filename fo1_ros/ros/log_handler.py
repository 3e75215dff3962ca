"""Forwarding the library's ``logging`` records (``fo1_ros.*``) to a node's rclpy logger, so
the node logic's warnings reach ``/rosout`` and the console like the node's own."""

from __future__ import annotations

import logging
from typing import Any


class RosLogHandler(logging.Handler):
    """A ``logging`` handler writing to ``node.get_logger()`` (``node``: an rclpy Node)."""

    def __init__(self, node: Any):
        super().__init__(logging.INFO)
        self.logger = node.get_logger()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.levelno >= logging.ERROR:
                self.logger.error(text)
            elif record.levelno >= logging.WARNING:
                self.logger.warning(text)
            elif record.levelno >= logging.INFO:
                self.logger.info(text)
            else:
                self.logger.debug(text)
        except Exception:  # noqa: BLE001 - logging must never raise
            pass
