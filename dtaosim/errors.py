"""Exceptions raised by dtaosim, each with a message naming the field, the value and what is allowed."""

from __future__ import annotations


class DtaosimError(Exception):
    """Base class of dtaosim's errors."""


class ConfigError(DtaosimError, ValueError):
    """A configuration (file, dict or regime override) is malformed.

    The message names the file (when there is one), the dotted field path, the value and what is
    allowed, e.g. ``baseline.toml: agents.stakers[0].budget: -5 is not allowed; expected >= 0``.
    """


class ProtocolError(DtaosimError, ValueError):
    """A chain rule refuses an operation (a swap larger than the pool allows, a price limit...).

    ``reason`` is a short machine-readable code (e.g. ``"pool_limit"``, ``"price_limit"``,
    ``"insufficient_balance"``) recorded with rejected intents.
    """

    def __init__(self, message: str, reason: str = "protocol") -> None:
        super().__init__(message)
        self.reason = reason
