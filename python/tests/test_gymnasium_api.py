"""The Gymnasium API over every registered env: the checker, registration, determinism."""

import warnings

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import lm_gym

ENV_IDS = lm_gym.env_ids()


def test_every_engine_env_is_registered_with_gymnasium():
    assert "twenty_questions-v0" in ENV_IDS
    for env_id in ENV_IDS:
        assert env_id in gymnasium.registry
        env = gymnasium.make(env_id)
        assert isinstance(env.unwrapped, lm_gym.TextEnv)
        assert env.unwrapped.env_id == env_id


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_checker_passes(env_id):
    env = gymnasium.make(env_id).unwrapped
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    assert not [str(w.message) for w in caught], "the checker warned"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_checker_passes_with_render_mode(env_id):
    check_env(gymnasium.make(env_id, render_mode="ansi").unwrapped)


def play(env, seed, actions):
    """Plays `actions` (cycling) from reset(seed) until the episode ends; returns everything seen."""
    seen = [env.reset(seed=seed)]
    for turn in range(env.max_turns + 1):
        step = env.step(actions[turn % len(actions)])
        seen.append(step)
        if step[2] or step[3]:
            break
    return seen, env.transcript()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_with_a_seed_is_deterministic(env_id):
    actions = lm_gym.sample_actions(env_id) + ["not an action at all"]
    first = play(lm_gym.make(env_id), 5, actions)
    again = play(lm_gym.make(env_id), 5, actions)
    assert first == again
    # Re-seeding the same env object gives the same episode too.
    env = lm_gym.make(env_id)
    play(env, 9, actions)
    assert play(env, 5, actions) == first


def test_unseeded_resets_walk_the_episodes_of_the_seed():
    env = lm_gym.make("twenty_questions-v0")
    _, info = env.reset(seed=3)
    assert info["episode"] == 0
    assert [env.reset()[1]["episode"] for _ in range(3)] == [1, 2, 3]
    env.reset(seed=3)
    assert env.reset()[1]["episode"] == 1


def test_different_seeds_give_different_episodes():
    actions = lm_gym.sample_actions("twenty_questions-v0")
    transcripts = {str(play(lm_gym.make("twenty_questions-v0"), seed, actions)[1]) for seed in range(6)}
    assert len(transcripts) > 1


def test_config_fields_and_ron_text():
    env = lm_gym.make("twenty_questions-v0", max_questions=5, selection="Random")
    assert env.max_turns <= 6
    assert "max_questions:5" in env.config_ron.replace(" ", "")
    same = lm_gym.make("twenty_questions-v0", config="(max_questions: 5)")
    assert same.max_turns == env.max_turns
    assert gymnasium.make("twenty_questions-v0", max_questions=5).unwrapped.max_turns == env.max_turns
    with pytest.raises(ValueError, match="max_guesses"):
        lm_gym.make("twenty_questions-v0", max_guesses=3)
    with pytest.raises(ValueError, match="registered"):
        lm_gym.make("no_such_env-v0")


def test_invalid_actions_are_observations_and_finished_episodes_refuse_steps():
    env = lm_gym.make("twenty_questions-v0", max_questions=2)
    env.reset(seed=0)
    done = False
    while not done:
        observation, reward, terminated, truncated, info = env.step("")
        assert isinstance(observation, str) and isinstance(reward, float)
        done = terminated or truncated
    assert info["invalid_action"]
    with pytest.raises(RuntimeError, match="finished"):
        env.step("Is it an animal?")
    assert env.render() is None
    ansi = lm_gym.make("twenty_questions-v0", render_mode="ansi")
    ansi.reset(seed=0)
    ansi.step("Is it an animal?")
    assert "[agent/action] Is it an animal?" in ansi.render()
