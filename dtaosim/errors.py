"""Exceptions raised by dtaosim, each with a message naming the field, the value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable


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


def in_file(error: ConfigError, source: str | None) -> ConfigError:
    """``error`` with each line naming the file ``source`` (``bad.toml: agents[0]...``), unless it already does
    or there is no file (a config given as a dict)."""
    if not source:
        return error
    prefix = f"{source}: "
    lines = [line if line.startswith(prefix) else prefix + line for line in str(error).splitlines() or [""]]
    return ConfigError("\n".join(lines))


def describe_netuids(netuids: Iterable[int]) -> str:
    """Netuids for a message, runs collapsed: ``1..4``, ``1..30, 32, 40..128``; ``none`` when empty."""
    ids = sorted({int(n) for n in netuids})
    if not ids:
        return "none"
    runs, start, prev = [], ids[0], ids[0]
    for n in [*ids[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        runs.append(str(start) if start == prev else f"{start}..{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(runs)
