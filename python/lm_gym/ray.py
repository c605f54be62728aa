"""Scenario runs sharded over Ray actors.

Each actor holds the scenario and plays contiguous ranges of its episodes in a batched world
(``batch_size`` live episodes, ``threads`` worlds); the driver gathers the ranges in episode
order into ``trajectories.jsonl`` and writes ``summary.json``. An episode's seed derives from
(scenario seed, episode index), so the trajectories are the same bytes as a single-process run
(``scenarios <name>`` or :func:`lm_gym.run_scenario`) whatever the number of actors, and so is
the summary except its two timing fields (``wall_seconds``, ``env_steps_per_second``).

On a multi-machine cluster, pass ``address="auto"`` (on a cluster node) or
``address="ray://<head>:10001"`` (Ray Client), or call ``ray.init(...)`` yourself first: the
scenario's text travels to the actors, so only the driver needs the file; every node needs the
``lm-gym`` package installed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import ray
from ray.util import ActorPool

from lm_gym import _native
from lm_gym.scenario import RunResult, Trajectories, apply_overrides, load_scenario


@ray.remote
class ShardActor:
    """Plays ranges of a scenario's episodes; the engine runs with the GIL released."""

    def __init__(self, text: str, name: str, overrides: dict[str, Any]):
        self.scenario = _native.Scenario.parse(text, name)
        apply_overrides(self.scenario, overrides)

    def play(self, first: int, episodes: int) -> tuple[bytes, list[float], int]:
        return self.scenario.play_shard(first, episodes)


def shard_ranges(episodes: int, episodes_per_task: int) -> list[tuple[int, int]]:
    """Contiguous ``(first, count)`` ranges covering ``0..episodes``."""
    return [(first, min(episodes_per_task, episodes - first)) for first in range(0, episodes, episodes_per_task)]


def run_scenario_on_ray(
    path_or_name: str | Path,
    *,
    num_actors: int = 2,
    episodes_per_task: int | None = None,
    address: str | None = None,
    actor_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> RunResult:
    """Runs a scenario on ``num_actors`` Ray actors and writes its ``trajectories.jsonl`` and
    ``summary.json`` into ``out`` (the file's, or the ``out`` override).

    ``overrides`` as in :func:`lm_gym.run_scenario` (``episodes``, ``batch_size``, ``threads``,
    ``seed``, ``agent``, ``out``). ``episodes_per_task`` sizes the ranges dealt to actors
    (default: about four ranges per actor). Ray is initialised with ``address`` when it is not
    yet (``None``: a local cluster). ``actor_options`` go to ``ShardActor.options`` (e.g.
    ``{"num_cpus": 1}`` to reserve a core per actor; by default an actor reserves none, so any
    number fit a small machine).
    """
    if num_actors < 1:
        raise ValueError("num_actors must be at least 1")
    scenario = load_scenario(path_or_name, **overrides)
    if scenario.agent == "stdio":
        raise ValueError("the stdio agent answers on standard input and cannot run on Ray")
    if not ray.is_initialized():
        ray.init(address=address)
    episodes = scenario.episodes
    if episodes_per_task is None:
        episodes_per_task = max(1, math.ceil(episodes / (4 * num_actors)))
    actor_overrides = {name: value for name, value in overrides.items() if name != "out"}
    # The text and the loaded settings travel, so the actors need neither the file nor the cwd.
    actor_overrides.update(
        episodes=scenario.episodes,
        batch_size=scenario.batch_size,
        threads=scenario.threads,
        seed=scenario.seed,
        agent=scenario.agent,
    )
    actor_class = ShardActor.options(**actor_options) if actor_options else ShardActor
    actors = [actor_class.remote(scenario.text, scenario.name, actor_overrides) for _ in range(num_actors)]
    try:
        out = Path(scenario.out)
        writer = _native.ShardWriter(str(out), scenario)
        pool = ActorPool(actors)
        ranges = shard_ranges(episodes, episodes_per_task)
        for lines, returns, env_steps in pool.map(lambda actor, task: actor.play.remote(*task), ranges):
            writer.push(lines, returns, env_steps)
        summary_json = writer.finish(scenario)
    finally:
        for actor in actors:
            ray.kill(actor)
    return RunResult(json.loads(summary_json), Trajectories(out / "trajectories.jsonl"), out)


__all__ = ["ShardActor", "run_scenario_on_ray", "shard_ranges"]
