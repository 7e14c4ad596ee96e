"""Checking a strategy's parameters from a config against its defaults."""

from __future__ import annotations

from typing import Any

from dtaosim.errors import ConfigError


def check_params(params: dict[str, Any] | None, defaults: dict[str, Any], *, owner: str,
                 where: str = "params") -> dict[str, Any]:
    """``defaults`` updated with ``params``, each checked against its default's type.

    Unknown names, a value of another type than the default (bool, number, string) and negative
    numbers raise :class:`ConfigError` naming ``where.<name>``, the value and what is allowed; ``owner``
    names the strategy in the message.
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
        ):
            raise ConfigError(f"{where}.{key}: {value!r} is not allowed; expected {type(default).__name__}")
        if isinstance(default, int | float) and not isinstance(default, bool) and value < 0:
            raise ConfigError(f"{where}.{key}: {value!r} is not allowed; expected a number >= 0")
    return merged
