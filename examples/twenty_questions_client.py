#!/usr/bin/env python3
"""Plays Twenty Questions against `scenarios serve` with a scripted policy.

Usage:
    cargo run --release -p scenarios -- serve          # prints "listening on 127.0.0.1:8765"
    python3 examples/twenty_questions_client.py http://127.0.0.1:8765 --episodes 5

Standard library only. The policy asks the canonical opening questions, then guesses a
fixed list of objects until the episode ends. Prints each episode's return and the mean.
"""

import argparse
import json
import urllib.error
import urllib.request

ENV_ID = "twenty_questions-v0"
OPENING = ["Is it alive?", "Is it an animal?"]
GUESSES = ["Is it a dog?", "Is it a cat?", "Is it a car?", "Is it a computer?", "Is it a tree?"]


def call(base_url, method, path, body=None):
    """Sends one JSON request and returns the decoded JSON answer (raises on a 4xx/5xx)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        base_url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        message = error.read().decode("utf-8", "replace")
        raise SystemExit(f"{method} {path} failed with {error.code}: {message}")


def policy(turn):
    """The scripted action for an episode's `turn`-th question (0-based)."""
    if turn < len(OPENING):
        return OPENING[turn]
    return GUESSES[(turn - len(OPENING)) % len(GUESSES)]


def play(base_url, episodes, seed):
    """Plays `episodes` episodes, one per slot of a single batch; returns their returns."""
    batch = call(base_url, "POST", "/batches", {"env": ENV_ID, "size": episodes, "seed": seed, "autoreset": "disabled"})
    batch_id = batch["batch"]
    returns = [0.0] * episodes
    turns = [0] * episodes
    live = set(range(episodes))
    try:
        # Bounded: every episode ends by the env's turn cap.
        while live:
            actions = [{"slot": slot, "action": policy(turns[slot])} for slot in sorted(live)]
            answer = call(base_url, "POST", f"/batches/{batch_id}/step", {"actions": actions})
            for step in answer["steps"]:
                slot = step["slot"]
                returns[slot] += step["reward"]
                turns[slot] += 1
                if step["terminated"] or step["truncated"]:
                    live.discard(slot)
    finally:
        call(base_url, "DELETE", f"/batches/{batch_id}")
    return returns


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", help="e.g. http://127.0.0.1:8765")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    returns = play(args.base_url, max(1, args.episodes), args.seed)
    for episode, value in enumerate(returns):
        print(f"episode {episode}: return {value:.2f}")
    print(f"mean return {sum(returns) / len(returns):.3f} over {len(returns)} episodes")


if __name__ == "__main__":
    main()
