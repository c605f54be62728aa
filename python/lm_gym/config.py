"""Env configs from Python values: keyword arguments become the env's RON config."""

from __future__ import annotations

import re

_VARIANT = re.compile(r"^[A-Z][A-Za-z0-9_]*$")


class Ron(str):
    """A piece of RON passed through verbatim, e.g. ``Ron('Stockfish(nodes: 1000)')``."""


def _value(value: object) -> str:
    if isinstance(value, Ron):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "None"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # A capitalised identifier names an enum variant (`selection="Random"`); anything else
        # is a string. Wrap a capitalised string meant as text in quotes yourself: '"Apple"'.
        if _VARIANT.match(value):
            return value
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "(" + ", ".join(f"{key}: {_value(item)}" for key, item in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as an env config value")


def to_ron(config: dict | None) -> str | None:
    """The RON text of a config given as a dict of fields (``None`` or empty: the default config).

    Numbers, booleans, strings, lists and nested dicts (structs) map to their RON forms;
    capitalised identifiers such as ``"Random"`` are enum variants; ``Ron(...)`` is verbatim.
    """
    if not config:
        return None
    return _value(config)
