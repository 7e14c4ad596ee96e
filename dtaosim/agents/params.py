"""Checking a strategy's parameters from a config against its defaults."""

from __future__ import annotations

import math
from typing import Any

from dtaosim.errors import ConfigError

MAX_INT_PARAM = 2**53
"""The largest whole-number parameter (a count, a number of ticks or blocks): integers up to it are exact in
float64, and sums of a few of them stay within int64."""


def check_params(params: dict[str, Any] | None, defaults: dict[str, Any], *, owner: str,
                 where: str = "params") -> dict[str, Any]:
    """``defaults`` updated with ``params``, each checked against its default's type.

    Unknown names, a value of another type than the default (bool, number, string), negative, infinite or NaN
    numbers, and a fraction or a number above 2**53 where the default is a whole number raise
    :class:`ConfigError` naming ``where.<name>``, the value and what is allowed; ``owner`` names the strategy in
    the message.
    """
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown parameter of {owner} (value {params[unknown[0]]!r}); "
            f"allowed: {', '.join(sorted(defaults)) or 'none'}"
        )
    merged = {**defaults, **params}
    for key, default in defaults.items():
        value = merged[key]
        if isinstance(default, bool) != isinstance(value, bool) or (
            isinstance(default, int | float) and not isinstance(value, int | float)
        ) or (isinstance(default, str) and not isinstance(value, str)):
            raise ConfigError(f"{where}.{key}: {value!r} is not allowed; expected {type(default).__name__}")
        if isinstance(default, int | float) and not isinstance(default, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{where}.{key}: {value!r} is not allowed; expected a finite number >= 0")
            if value < 0:
                raise ConfigError(f"{where}.{key}: {value!r} is not allowed; expected a number >= 0")
            if isinstance(default, int) and not float(value).is_integer():
                raise ConfigError(f"{where}.{key}: {value!r} is not allowed; expected a whole number >= 0")
            if isinstance(default, int) and value > MAX_INT_PARAM:
                raise ConfigError(f"{where}.{key}: {value!r} is not allowed; expected a whole number from 0 to "
                                  f"2**53 ({MAX_INT_PARAM:,})")
    return merged
