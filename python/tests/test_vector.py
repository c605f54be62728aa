"""The batched env against single envs, autoreset modes, and EnvPool's send/recv."""

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import lm_gym

ENV_IDS = lm_gym.env_ids()


def single_at(env_id, seed, episode):
    """A single env playing episode `episode` of `seed` (what a batch slot plays)."""
    env = lm_gym.make(env_id)
    observation, info = env.reset(seed=seed)
    for _ in range(episode):
        observation, info = env.reset()
    assert info["episode"] == episode
    return env, observation


def action_for(actions, slot, turn):
    return actions[(slot * 7 + turn) % len(actions)]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_matches_single_envs_across_autoresets(env_id):
    num_envs, seed = 4, 21
    actions = lm_gym.sample_actions(env_id) + ["gibberish ###"]
    vector = lm_gym.make_vec(env_id, num_envs)
    assert vector.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    observations, infos = vector.reset(seed=seed)
    singles = []
    for slot in range(num_envs):
        env, observation = single_at(env_id, seed, slot)
        assert observation == observations[slot]
        assert infos["episode"][slot] == slot
        singles.append(env)
    ended = [False] * num_envs
    episodes = list(range(num_envs))
    turns = [0] * num_envs
    finished = 0
    for _ in range(3 * max(env.max_turns for env in singles) + 3):
        batch = [action_for(actions, slot, turns[slot]) for slot in range(num_envs)]
        observations, rewards, terminated, truncated, infos = vector.step(batch)
        assert isinstance(observations, tuple) and rewards.dtype == np.float64
        for slot in range(num_envs):
            if ended[slot]:
                # NEXT_STEP: this step resets the slot to its next episode; the action is ignored.
                episodes[slot] += num_envs
                singles[slot], observation = single_at(env_id, seed, episodes[slot])
                assert observations[slot] == observation
                assert rewards[slot] == 0.0 and not terminated[slot] and not truncated[slot]
                assert infos["autoreset"][slot] and infos["episode"][slot] == episodes[slot]
                ended[slot] = False
                turns[slot] = 0
                continue
            observation, reward, term, trunc, info = singles[slot].step(batch[slot])
            turns[slot] += 1
            assert observations[slot] == observation
            assert rewards[slot] == reward
            assert (terminated[slot], truncated[slot]) == (term, trunc)
            assert infos["episode"][slot] == info["episode"] and infos["turn"][slot] == info["turn"]
            assert infos["invalid_action"][slot] == info["invalid_action"]
            assert infos["success"][slot] == info["success"]
            if term or trunc:
                ended[slot] = True
                finished += 1
    assert finished >= num_envs, "every slot should have finished at least one episode"


def test_same_step_autoreset_reports_the_final_observation():
    env_id, num_envs, seed = "twenty_questions-v0", 3, 2
    vector = lm_gym.make_vec(env_id, num_envs, autoreset_mode=AutoresetMode.SAME_STEP, max_questions=3)
    assert vector.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    vector.reset(seed=seed)
    singles = []
    for slot in range(num_envs):
        env = lm_gym.make(env_id, max_questions=3)
        env.reset(seed=seed)
        for _ in range(slot):
            env.reset()
        singles.append(env)
    saw_reset = False
    for _ in range(5):
        observations, rewards, terminated, truncated, infos = vector.step(["Is it an animal?"] * num_envs)
        for slot in range(num_envs):
            observation, reward, term, trunc, _ = singles[slot].step("Is it an animal?")
            assert rewards[slot] == reward and terminated[slot] == term and truncated[slot] == trunc
            if term or trunc:
                saw_reset = True
                assert infos["_final_obs"][slot] and infos["final_obs"][slot] == observation
                assert infos["autoreset"][slot]
                singles[slot] = lm_gym.make(env_id, max_questions=3)
                singles[slot].reset(seed=seed)
                for _ in range(int(infos["episode"][slot]) + num_envs):
                    singles[slot].reset()
                assert observations[slot] == singles[slot].transcript()[0]["text"]
            else:
                assert not infos["_final_obs"][slot]
                assert observations[slot] == observation
    assert saw_reset


def test_disabled_autoreset_needs_a_reset_mask():
    vector = lm_gym.make_vec("twenty_questions-v0", 2, autoreset_mode="disabled", max_questions=1)
    vector.reset(seed=0)
    _, _, terminated, truncated, _ = vector.step(["Is it red?", "Is it red?"])
    assert all(terminated | truncated)
    with pytest.raises(RuntimeError, match="finished"):
        vector.step(["Is it red?", "Is it red?"])
    observations, infos = vector.reset(options={"reset_mask": np.array([True, False])})
    assert infos["_episode"].tolist() == [True, False] and infos["episode"][0] == 2
    vector.send(["Is it red?"], env_id=[0])
    _, _, terminated, truncated, infos = vector.recv()
    assert infos["env_id"].tolist() == [0] and (terminated | truncated).tolist() == [True]


def test_send_recv_partial_batches_match_full_steps():
    env_id, num_envs, seed = "twenty_questions-v0", 4, 8
    actions = lm_gym.sample_actions(env_id)
    full = lm_gym.make_vec(env_id, num_envs)
    pooled = lm_gym.make_vec(env_id, num_envs)
    full.reset(seed=seed)
    pooled.reset(seed=seed)
    for turn in range(30):
        batch = [action_for(actions, slot, turn) for slot in range(num_envs)]
        expected = full.step(batch)
        order = [2, 0] if turn % 2 else [3, 1, 0]
        rest = [slot for slot in range(num_envs) if slot not in order]
        pooled.send([batch[slot] for slot in order], env_id=order)
        first = pooled.recv()
        pooled.send([batch[slot] for slot in rest], np.array(rest))
        second = pooled.recv()
        for got, slots in ((first, order), (second, rest)):
            observations, rewards, terminated, truncated, infos = got
            assert infos["env_id"].tolist() == slots
            for row, slot in enumerate(slots):
                assert observations[row] == expected[0][slot]
                assert rewards[row] == expected[1][slot]
                assert terminated[row] == expected[2][slot] and truncated[row] == expected[3][slot]
                assert infos["episode"][row] == expected[4]["episode"][slot]


def test_gymnasium_make_vec_uses_the_batched_engine():
    vector = gymnasium.make_vec("twenty_questions-v0", num_envs=3)
    assert isinstance(vector, lm_gym.VectorEnv)
    observations, _ = vector.reset(seed=1)
    assert len(observations) == 3 and vector.observation_space.contains(observations)
    assert vector.action_space.contains(("Is it red?",) * 3)
    with pytest.raises(ValueError):
        vector.step(["Is it red?"])
