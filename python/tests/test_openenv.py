"""`scenarios serve` speaks OpenEnv: driven here by the real `openenv-core` client and checked
by OpenEnv's own runtime validator. Episodes played over OpenEnv sessions equal the CLI's
records of the same seed."""

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
import websockets
from openenv.cli._validation import validate_running_environment
from openenv.core.generic_client import GenericEnvClient

from conftest import REPO

SEED = 11


@pytest.fixture(scope="module")
def server(scenarios_binary):
    """A `scenarios serve` on a free port, with room for the concurrency test."""
    binary = scenarios_binary
    child = subprocess.Popen(
        [str(binary), "serve", "--addr", "127.0.0.1:0", "--max-sessions", "64"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = child.stdout.readline()
    assert line.startswith("listening on "), line
    yield "http://" + line.split()[-1]
    child.kill()
    child.wait()


def recorded(scenarios_cli, tmp_path: Path, scenario: str, episodes: int) -> list[dict]:
    """The CLI's trajectory records of `episodes` expert episodes of a shipped scenario."""
    out = tmp_path / scenario
    scenarios_cli(scenario, "--episodes", str(episodes), "--seed", str(SEED), "--out", str(out))
    lines = (out / "trajectories.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda record: record["episode"])


def scenario_config(scenario: str) -> str:
    """The env config of a shipped scenario file, as RON text (what `reset` takes as `config`)."""
    text = (REPO / "scenarios" / f"{scenario}.ron").read_text()
    start = text.index("config:") + len("config:")
    depth = 0
    for end in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0 and text[end] == ")":
            return text[start : end + 1].strip()
    raise AssertionError(f"no config in {scenario}.ron")


async def play(base_url: str, record: dict, config: str) -> dict:
    """Replays one record's agent actions over an OpenEnv WebSocket session."""
    actions = [entry["text"] for entry in record["transcript"] if entry["speaker"] == "agent"]
    async with GenericEnvClient(base_url=base_url, message_timeout_s=30) as env:
        result = await env.reset(seed=SEED, episode_index=record["episode"], config=config)
        assert result.reward is None and not result.done
        total = 0.0
        rewards = []
        for action in actions:
            assert not result.done
            result = await env.step({"message": action})
            rewards.append(result.reward)
            total += result.reward
        state = await env.state()
    assert result.done
    return {"observation": result.observation, "rewards": rewards, "return": total, "state": state}


@pytest.mark.parametrize("scenario,env_id", [("wordle", "wordle-v0"), ("twenty_questions", "twenty_questions-v0")])
def test_openenv_sessions_replay_the_cli_episodes_of_the_same_seed(server, scenarios_cli, tmp_path, scenario, env_id):
    base_url = f"{server}/openenv/{env_id}"
    config = scenario_config(scenario)
    for record in recorded(scenarios_cli, tmp_path, scenario, 3):
        played = asyncio.run(play(base_url, record, config))
        observation = played["observation"]
        # Byte for byte: the served transcript serialises to the same JSON text as the record's.
        assert json.dumps(observation["transcript"]) == json.dumps(record["transcript"])
        assert played["rewards"] == record["rewards"]
        assert played["return"] == record["return"]
        assert observation["terminated"] == record["terminated"]
        assert observation["truncated"] == record["truncated"]
        assert played["state"]["episode_index"] == record["episode"]
        assert played["state"]["step_count"] == record["turns"]


def test_openenvs_own_validator_passes(server):
    for env_id in ("wordle-v0", "maze-fo-v0"):
        report = validate_running_environment(f"{server}/openenv/{env_id}")
        assert report["passed"], json.dumps(report, indent=1)
        assert report["mode"] == "simulation"


def test_64_concurrent_sessions_lose_no_episode(server, scenarios_cli, tmp_path):
    records = recorded(scenarios_cli, tmp_path, "wordle", 64)
    config = scenario_config("wordle")
    base_url = f"{server}/openenv/wordle-v0"

    async def all_at_once():
        return await asyncio.gather(*(play(base_url, record, config) for record in records))

    played = asyncio.run(all_at_once())
    assert len(played) == 64
    for record, episode in zip(records, played):
        assert episode["observation"]["transcript"] == record["transcript"]
        assert episode["return"] == record["return"]


def test_bad_messages_get_protocol_error_codes_and_the_server_stays_up(server):
    ws_url = server.replace("http://", "ws://") + "/openenv/wordle-v0/ws"

    async def exchange_all(messages):
        replies = []
        async with websockets.connect(ws_url) as socket:
            for message in messages:
                await socket.send(message)
                replies.append(json.loads(await socket.recv()))
        return replies

    replies = asyncio.run(
        exchange_all(
            [
                "{oops",
                json.dumps({"type": "teleport"}),
                json.dumps({"type": "step", "data": {"message": "crane"}}),
                json.dumps({"type": "reset", "data": {"seed": "seven"}}),
                json.dumps({"type": "reset", "data": {"seed": 3}}),
                json.dumps({"type": "step", "data": {"word": "crane"}}),
                json.dumps({"type": "step", "data": {"message": "crane"}}),
            ]
        )
    )
    codes = [reply["data"].get("code") if reply["type"] == "error" else reply["type"] for reply in replies]
    assert codes == [
        "INVALID_JSON",
        "UNKNOWN_TYPE",
        "EXECUTION_ERROR",
        "VALIDATION_ERROR",
        "observation",
        "VALIDATION_ERROR",
        "observation",
    ]
    # The client library turns an error message into an exception and keeps the session.
    async def client_error():
        async with GenericEnvClient(base_url=f"{server}/openenv/wordle-v0") as env:
            with pytest.raises(RuntimeError, match="VALIDATION_ERROR"):
                await env.reset(seed=-1)
            result = await env.reset(seed=1)
            return result.observation["info"]["episode"]

    assert asyncio.run(client_error()) == 0
    with GenericEnvClient(base_url=f"{server}/openenv/wordle-v0").sync() as env:
        assert "Wordle" in env.reset(seed=2).observation["text"]
