"""Scenario runs from Python: the same files, the same engine and the same output bytes as the
``scenarios`` binary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from lm_gym import _native

Scenario = _native.Scenario

#: The settings a run may override, as on the ``scenarios`` command line.
OVERRIDES = ("episodes", "batch_size", "threads", "seed", "agent", "out")


def load_scenario(path_or_name: str | Path, **overrides: Any) -> Scenario:
    """Loads a shipped scenario by name (``"twenty_questions"``) or a ``.ron`` file, then applies
    ``overrides`` (``episodes``, ``batch_size``, ``threads``, ``seed``, ``agent``, ``out``)."""
    scenario = Scenario.load(str(path_or_name))
    apply_overrides(scenario, overrides)
    return scenario


def apply_overrides(scenario: Scenario, overrides: dict[str, Any]) -> None:
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise TypeError(f"unknown scenario overrides {unknown}; allowed: {list(OVERRIDES)}")
    for name, value in overrides.items():
        if value is not None:
            setattr(scenario, name, str(value) if name == "out" else value)


class Trajectories:
    """The episodes of a run, read lazily from its ``trajectories.jsonl`` (iterable many times)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self.path.open("rb") as lines:
            for line in lines:
                yield json.loads(line)

    def __repr__(self) -> str:
        return f"Trajectories({str(self.path)!r})"


class RunResult(NamedTuple):
    """A finished run: ``summary.json`` as a dict and an iterator over its trajectories."""

    summary: dict[str, Any]
    trajectories: Trajectories
    out: Path


def run_scenario(path_or_name: str | Path, **overrides: Any) -> RunResult:
    """Plays a scenario as ``scenarios <path_or_name>`` does (the GIL is released meanwhile) and
    returns its summary and trajectories. ``overrides`` as in :func:`load_scenario`; ``out``
    defaults to the file's ``out`` (``runs/<name>`` relative to the working directory)."""
    scenario = load_scenario(path_or_name, **overrides)
    summary = json.loads(scenario.run())
    out = Path(scenario.out)
    return RunResult(summary, Trajectories(out / "trajectories.jsonl"), out)
