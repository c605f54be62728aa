#!/usr/bin/env python3
"""Python-side steps per second through the batched env (a benchmark, not a test).

Usage: python python/bench_vector.py [env-id ...] [--num-envs 256] [--seconds 3]

Each step builds the batch's actions in Python (a fixed cycle of the env's sample actions,
shifted per slot), calls `VectorEnv.step` once for the whole batch (one engine run, GIL
released) and receives observations as a tuple of `str` and rewards, flags and infos as numpy
arrays. A step is one action applied to one episode; autoresets count as steps, as in the
Gymnasium loop they are. Prints one JSON line per env.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import lm_gym


def measure(env_id: str, num_envs: int, seconds: float, repeats: int) -> dict:
    vector = lm_gym.make_vec(env_id, num_envs)
    samples = lm_gym.sample_actions(env_id)
    cycle = [[samples[(slot + turn) % len(samples)] for slot in range(num_envs)] for turn in range(len(samples))]
    vector.reset(seed=0)
    rates = []
    for _ in range(repeats):
        steps, turn = 0, 0
        started = time.perf_counter()
        deadline = started + seconds / repeats
        while time.perf_counter() < deadline:
            for _ in range(16):
                vector.step(list(cycle[turn % len(cycle)]))
                turn += 1
            steps += 16 * num_envs
        rates.append(steps / (time.perf_counter() - started))
    return {"env": env_id, "num_envs": num_envs, "steps_per_sec": round(statistics.median(rates))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", default=["twenty_questions-v0", "wordle-v0"])
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for env_id in args.envs:
        if env_id not in lm_gym.env_ids():
            print(json.dumps({"env": env_id, "skipped": "not registered in this build"}))
            continue
        print(json.dumps(measure(env_id, args.num_envs, args.seconds, args.repeats)))


if __name__ == "__main__":
    main()
