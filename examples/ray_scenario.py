#!/usr/bin/env python3
"""Runs a scenario sharded over Ray actors on a local cluster and checks it against a
single-process run of the same scenario.

Usage (after `bash python/test.sh`, which installs lm_gym and ray into python/.venv):
    python examples/ray_scenario.py twenty_questions --actors 3 --episodes 200

On a real cluster, start Ray on each machine (`ray start --head` on one, `ray start
--address=<head>:6379` on the others, each with lm-gym installed) and pass `--address auto` from
a node, or `--address ray://<head>:10001` from outside: the same code runs there.
"""

from __future__ import annotations

import argparse
import time

import ray

import lm_gym
from lm_gym.ray import run_scenario_on_ray

TIMING = ("wall_seconds", "env_steps_per_second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="twenty_questions")
    parser.add_argument("--actors", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--address", default=None, help="a Ray cluster (default: start a local one)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local cluster")
    parser.add_argument("--out", default="runs/ray_example")
    args = parser.parse_args()

    if args.address is None:
        ray.init(num_cpus=args.cpus, include_dashboard=False)
    else:
        ray.init(address=args.address)

    started = time.perf_counter()
    sharded = run_scenario_on_ray(args.scenario, num_actors=args.actors, episodes=args.episodes, out=f"{args.out}/ray")
    print(f"ray, {args.actors} actors: {time.perf_counter() - started:.1f} s, summary in {sharded.out}")
    single = lm_gym.run_scenario(args.scenario, episodes=args.episodes, out=f"{args.out}/single")
    same_lines = (sharded.out / "trajectories.jsonl").read_bytes() == (single.out / "trajectories.jsonl").read_bytes()
    same_summary = all(sharded.summary[k] == single.summary[k] for k in single.summary if k not in TIMING)
    print(f"trajectories byte-identical to the single-process run: {same_lines}; summary equal: {same_summary}")
    for key in ("episodes", "success_rate", "mean_return", "mean_turns", "normalized_score", "env_steps"):
        print(f"  {key:<18} {sharded.summary[key]}")
    first = next(iter(sharded.trajectories))
    print(f"episode 0 took {first['turns']} turns and ended `{first['ending']}`")
    ray.shutdown()


if __name__ == "__main__":
    main()
