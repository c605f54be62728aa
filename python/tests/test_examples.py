"""The Python example plays both games; Wordle only where the build registers it."""

import importlib.util
import subprocess
import sys

import pytest

import lm_gym

from conftest import REPO

EXAMPLE = REPO / "examples" / "python_play.py"


def load_example():
    spec = importlib.util.spec_from_file_location("python_play", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_play_example_runs():
    output = subprocess.run(
        [sys.executable, str(EXAMPLE), "--episodes", "3"], check=True, capture_output=True, text=True
    ).stdout
    assert "twenty questions mean return" in output
    if "wordle-v0" in lm_gym.env_ids():
        assert "wordle:" in output
    else:
        assert "skipping Wordle" in output


def test_twenty_questions_policy_finds_some_objects():
    example = load_example()
    env = lm_gym.make("twenty_questions-v0")
    wins = 0
    for episode in range(20):
        env.reset(seed=0 if episode == 0 else None)
        policy, answer, done = example.TwentyQuestionsPolicy(), None, False
        while not done:
            answer, _, terminated, truncated, info = env.step(policy.act(answer))
            assert not info["invalid_action"]
            done = terminated or truncated
        wins += info["success"]
    assert wins > 0


@pytest.mark.skipif("wordle-v0" not in lm_gym.env_ids(), reason="wordle-v0 is not registered in this build")
def test_wordle_scripted_policy_plays_valid_guesses():
    example = load_example()
    vector = lm_gym.make_vec("wordle-v0", 4)
    vector.reset(seed=0)
    histories = [[] for _ in range(4)]
    finished = invalid = 0
    while finished < 8:
        guesses = [example.wordle_policy(history) for history in histories]
        observations, _, terminated, truncated, infos = vector.step(guesses)
        for slot in range(4):
            if infos["autoreset"][slot]:
                histories[slot] = []
                continue
            invalid += bool(infos["invalid_action"][slot])
            histories[slot].append((guesses[slot], observations[slot].strip()))
            finished += bool(terminated[slot] or truncated[slot])
    assert invalid == 0
