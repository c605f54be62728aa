"""`lm_gym.verifiers` run by verifiers' own evaluation command (`vf-eval`) against
`scenarios serve-llm` serving SmolLM2: the traces hold the episodes asked for, and each
trace's reward is what replaying its model messages through lm_gym gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lm_gym
from lm_gym.verifiers import action_from_reply, load_environment, play

EPISODES = 2
CASES = [("wordle-v0", None), ("twenty_questions-v0", "(max_questions: 4)")]


def test_every_env_id_loads_as_a_verifiers_environment():
    for env_id in lm_gym.env_ids():
        env = load_environment(env_id, seed=3, episodes=2)
        tasks = list(env.taskset)
        assert [task.data.info["episode"] for task in tasks] == [0, 1]
        first, _ = lm_gym.make(env_id).reset(seed=3)
        assert tasks[0].data.prompt == first


def assistant_messages(trace: dict) -> list[str]:
    return [
        node["message"].get("content") or ""
        for node in trace["nodes"]
        if node.get("sampled") and node["message"]["role"] == "assistant"
    ]


@pytest.mark.parametrize(("env_id", "config"), CASES)
def test_vf_eval_plays_lm_gym_episodes_through_serve_llm(serve_llm, tmp_path, env_id, config):
    vf_eval = Path(sys.executable).parent / "vf-eval"
    args = [
        str(vf_eval), "lm_gym_verifiers",
        "--env.taskset.env-id", env_id,
        "--env.taskset.seed", "5",
        "-n", str(EPISODES),
        "-m", "SmolLM2-135M-Instruct",
        "--client.base-url", serve_llm + "/v1",
        "--client.api-key-var", "LM_GYM_API_KEY",
        "--sampling.max-tokens", "12",
        "--sampling.temperature", "0",
        "--no-rich", "--no-push",
        "-o", str(tmp_path),
    ]
    if config is not None:
        args += ["--env.taskset.env-config", config]
    environment = {**os.environ, "LM_GYM_API_KEY": "unused"}
    done = subprocess.run(args, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    files = list(tmp_path.rglob("traces.jsonl"))
    assert len(files) == 1, files
    episodes = [json.loads(line) for line in files[0].read_text().splitlines() if line.strip()]
    assert sorted(e["task"]["data"]["info"]["episode"] for e in episodes) == list(range(EPISODES))
    for episode in episodes:
        assert episode["ok"], episode.get("errors")
        (trace,) = episode["traces"]
        info = trace["task"]["data"]["info"]
        assert (info["env_id"], info["seed"], info["env_config"]) == (env_id, 5, config)
        actions = [action_from_reply(message) for message in assistant_messages(trace)]
        assert actions == trace["info"]["lm_gym"]["actions"]
        replay = play(env_id, actions, seed=5, index=info["episode"], config=config)
        assert replay["terminated"] or replay["truncated"], "the exchange ends with the episode"
        assert trace["rewards"]["episode_return"]["score"] == pytest.approx(replay["return"])
        assert trace["metrics"]["turns"] == replay["turns"] == len(actions)
