"""Scenario runs from Python and sharded over Ray: the same bytes as the `scenarios` binary."""

import json
import threading

import pytest

import lm_gym

TIMING = ("wall_seconds", "env_steps_per_second")
RUNS = [
    # (scenario, overrides): a batch smaller than the run, so episodes finish out of order.
    ("twenty_questions", dict(episodes=40, batch_size=8, seed=11)),
    ("twenty_questions_random", dict(episodes=30, batch_size=4, seed=3, threads=2)),
]


def cli_args(name, overrides, out):
    args = [name, "--out", str(out)]
    for key, value in overrides.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


def without_timing(summary):
    return {key: value for key, value in summary.items() if key not in TIMING}


def read_summary(out):
    return json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def cli_runs(scenarios_cli, tmp_path_factory):
    runs = {}
    for name, overrides in RUNS:
        out = tmp_path_factory.mktemp("cli") / name
        scenarios_cli(*cli_args(name, overrides, out))
        runs[name] = out
    return runs


@pytest.mark.parametrize("name,overrides", RUNS)
def test_run_scenario_writes_the_cli_bytes(name, overrides, cli_runs, tmp_path):
    result = lm_gym.run_scenario(name, out=tmp_path / "py", **overrides)
    reference = cli_runs[name]
    assert (tmp_path / "py" / "trajectories.jsonl").read_bytes() == (reference / "trajectories.jsonl").read_bytes()
    assert without_timing(result.summary) == without_timing(read_summary(reference))
    assert without_timing(read_summary(tmp_path / "py")) == without_timing(result.summary)
    episodes = list(result.trajectories)
    assert [episode["episode"] for episode in episodes] == list(range(overrides["episodes"]))
    assert result.summary["episodes"] == overrides["episodes"]


def test_a_recorded_episode_replays_through_the_gymnasium_env(cli_runs):
    records = [json.loads(line) for line in (cli_runs["twenty_questions"] / "trajectories.jsonl").open()]
    env = lm_gym.make("twenty_questions-v0", config=json.loads((cli_runs["twenty_questions"] / "summary.json").read_text())["env_config"])
    env.reset(seed=11)
    for record in records[:5]:
        if record["episode"] > 0:
            env.reset()
        actions = [entry["text"] for entry in record["transcript"] if entry["kind"] == "action"]
        rewards = [env.step(action)[1] for action in actions]
        assert rewards == record["rewards"]
        assert env.transcript() == [
            {key: entry[key] for key in ("speaker", "kind", "text")} for entry in record["transcript"]
        ]


def test_run_scenario_rejects_unknown_overrides():
    with pytest.raises(TypeError, match="colour"):
        lm_gym.run_scenario("twenty_questions", colour=3)
    with pytest.raises(ValueError, match="no scenario"):
        lm_gym.run_scenario("no_such_scenario")


def test_the_gil_is_released_while_a_run_plays(tmp_path):
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(run=lm_gym.run_scenario("twenty_questions", episodes=1000, out=tmp_path))
    )
    ticks = 0
    worker.start()
    while worker.is_alive():
        ticks += 1
    worker.join()
    assert result["run"].summary["episodes"] == 1000
    # Holding the GIL for the whole run would leave this thread a handful of iterations.
    assert ticks > 10_000


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.parametrize("num_actors", [1, 3])
@pytest.mark.parametrize("name,overrides", RUNS)
def test_ray_sharded_run_is_byte_identical_to_the_cli(local_ray, cli_runs, tmp_path, num_actors, name, overrides):
    from lm_gym.ray import run_scenario_on_ray

    out = tmp_path / f"ray{num_actors}"
    result = run_scenario_on_ray(name, num_actors=num_actors, episodes_per_task=7, out=out, **overrides)
    reference = cli_runs[name]
    assert (out / "trajectories.jsonl").read_bytes() == (reference / "trajectories.jsonl").read_bytes()
    assert without_timing(read_summary(out)) == without_timing(read_summary(reference))
    assert result.summary == read_summary(out)
    assert set(read_summary(out)) == set(read_summary(reference))
