"""A checkpoint trained by `scenarios train` plays through Python as through the CLI."""

import json

import lm_gym

TRAINING = """(
    env: (id: "maze-fo-v0", config: (max_moves: 6)),
    policy: (
        model: (width: 16, layers: 1, heads: 2, mlp_width: 32, positions: 96),
        context: (lines: 1, max_bytes: 80),
        max_action_tokens: 12,
    ),
    init: Scratch,
    algorithm: Bc(batch_size: 16),
    dataset: Some(Generate(episodes: 8, seed: 0)),
    updates: 3,
    eval: (every: 3, episodes: 4),
    seed: 5,
    out: "OUT",
)
"""


def test_a_trained_checkpoint_plays_through_python_as_through_the_cli(scenarios_cli, tmp_path):
    train_file = tmp_path / "tiny.ron"
    train_file.write_text(TRAINING.replace("OUT", str(tmp_path / "train")))
    report = json.loads(scenarios_cli("train", str(train_file)).stdout)
    assert report["updates"] == 3
    agent = "policy:" + str(tmp_path / "train" / "checkpoint")
    overrides = dict(agent=agent, episodes=6, batch_size=4, seed=2)
    scenarios_cli("maze_fo", "--out", str(tmp_path / "cli"), "--agent", agent, "--episodes", "6", "--batch-size", "4", "--seed", "2")
    result = lm_gym.run_scenario("maze_fo", out=tmp_path / "py", **overrides)
    assert (tmp_path / "py" / "trajectories.jsonl").read_bytes() == (tmp_path / "cli" / "trajectories.jsonl").read_bytes()
    assert result.summary["agent"] == agent
    episodes = list(result.trajectories)
    assert len(episodes) == 6
    first_action = next(entry for entry in episodes[0]["transcript"] if entry["kind"] == "action")
    assert first_action["tokens"]["token_ids"], "a policy records the tokens it sampled"
