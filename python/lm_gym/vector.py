"""A batch of episodes in one world of the engine, stepped in one call: Gymnasium's vector API
plus EnvPool's ``send``/``recv`` for partial batches."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import gymnasium
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from lm_gym import _native
from lm_gym.env import ACTION_MAX_LENGTH, OBSERVATION_MAX_LENGTH, TextSpace, _config_text, _transcript_dicts

_MODE_NAMES = {
    AutoresetMode.NEXT_STEP: "next_step",
    AutoresetMode.SAME_STEP: "same_step",
    AutoresetMode.DISABLED: "disabled",
}


def _autoreset_mode(mode: AutoresetMode | str) -> AutoresetMode:
    """An ``AutoresetMode``, its value (``"NextStep"``) or its snake-case name (``"next_step"``)."""
    if isinstance(mode, AutoresetMode):
        return mode
    for member, name in _MODE_NAMES.items():
        if mode in (name, member.value, member.name):
            return member
    raise ValueError(f"unknown autoreset mode {mode!r}; use one of {list(_MODE_NAMES.values())}")


class VectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` slots of one env in one ECS world; ``step`` runs the engine once for all.

    Seeding: after ``reset(seed=s)``, slot ``i``'s ``k``-th episode is episode ``k * num_envs + i``
    of a scenario run with seed ``s``, so what a slot plays never depends on the other slots.
    ``reset()`` without a seed restarts every slot with its next episode (seed 0 before any
    seeded reset).

    Autoreset (declared in ``metadata["autoreset_mode"]``, Gymnasium's semantics):

    * ``NEXT_STEP`` (default): the step after an episode ends resets that slot; its action is
      ignored, its reward is 0 and its observation is the new episode's prompt.
    * ``SAME_STEP``: the ending step resets at once and returns the new prompt as observation;
      the last observation of the finished episode is in ``infos["final_obs"]`` (mask
      ``infos["_final_obs"]``).
    * ``DISABLED``: ended slots stay ended until ``reset(options={"reset_mask": mask})``;
      stepping them raises ``RuntimeError``.

    ``infos`` holds arrays ``episode``, ``turn``, ``invalid_action``, ``success`` and
    ``autoreset`` (each with its ``_key`` mask, all true). Observations are a tuple of ``str``;
    rewards, terminations and truncations are numpy arrays.

    EnvPool style: ``send(actions, env_id)`` queues actions for some slots and ``recv()`` steps
    exactly those slots in one engine run, returning their results in the order sent with
    ``infos["env_id"]``; ``step(actions)`` is ``send`` for every slot then ``recv``.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["ansi"]}

    def __init__(
        self,
        env_id: str,
        num_envs: int,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        config: str | dict | None = None,
        **fields: Any,
    ):
        mode = _autoreset_mode(autoreset_mode)
        if render_mode is not None and render_mode != "ansi":
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.env_id = env_id
        self.num_envs = int(num_envs)
        self._native = _native.VecEnv(env_id, self.num_envs, _MODE_NAMES[mode], _config_text(config, fields))
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.render_mode = render_mode
        self.env_spec = json.loads(_native.env_spec_json(env_id, _config_text(config, dict(fields))))
        self.single_observation_space = TextSpace(OBSERVATION_MAX_LENGTH)
        self.single_action_space = TextSpace(ACTION_MAX_LENGTH, min_length=1)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._seeded = False
        self._observations: list[str] = [""] * self.num_envs
        self._pending_slots: list[int] = []
        self._pending_actions: list[str] = []

    @property
    def autoreset_mode(self) -> AutoresetMode:
        return self.metadata["autoreset_mode"]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError("the batch takes one int seed: slot i plays episodes k * num_envs + i of it")
        super().reset(seed=seed)
        self._pending_slots.clear()
        self._pending_actions.clear()
        mask = None if options is None else options.get("reset_mask")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.num_envs,):
                raise ValueError(f"reset_mask must have shape ({self.num_envs},), got {mask.shape}")
            slots = [int(slot) for slot in np.flatnonzero(mask)]
            observations, episodes = self._native.reset_slots(slots)
            for slot, observation in zip(slots, observations):
                self._observations[slot] = observation
            episode = np.zeros(self.num_envs, dtype=np.int64)
            episode[slots] = episodes
            return tuple(self._observations), {"episode": episode, "_episode": mask}
        if seed is not None or not self._seeded:
            observations, episodes = self._native.reset(int(seed or 0))
            self._seeded = True
        else:
            observations, episodes = self._native.reset_slots(list(range(self.num_envs)))
        self._observations = list(observations)
        return tuple(observations), {"episode": np.asarray(episodes, dtype=np.int64), "_episode": np.ones(self.num_envs, dtype=bool)}

    def step(
        self, actions: Sequence[str]
    ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self._pending_slots:
            raise RuntimeError("actions were sent for some slots; recv() them before step()")
        if len(actions) != self.num_envs:
            raise ValueError(f"expected {self.num_envs} actions, got {len(actions)}")
        columns = self._native.step(list(actions))
        self._observations = list(columns[0])
        return self._results(columns, None)

    def send(self, actions: Sequence[str], env_id: Sequence[int] | np.ndarray | None = None) -> None:
        """Queues actions for the slots ``env_id`` (all slots when ``None``), EnvPool style."""
        slots = list(range(self.num_envs)) if env_id is None else [int(slot) for slot in np.asarray(env_id).ravel()]
        if len(slots) != len(actions):
            raise ValueError(f"{len(actions)} actions for {len(slots)} slots")
        self._pending_slots.extend(slots)
        self._pending_actions.extend(actions)

    def recv(self) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Steps the slots sent since the last ``recv`` in one engine run; results in the order sent."""
        if not self._pending_slots:
            raise RuntimeError("nothing was sent")
        slots, actions = self._pending_slots, self._pending_actions
        self._pending_slots, self._pending_actions = [], []
        columns = self._native.step_some(slots, actions)
        for slot, observation in zip(slots, columns[0]):
            self._observations[slot] = observation
        return self._results(columns, np.asarray(slots, dtype=np.int64))

    def _results(self, columns: tuple, slots: np.ndarray | None):
        observations, rewards, terminated, truncated, episode, turn, invalid, success, autoreset, final = columns
        size = len(observations)
        everywhere = np.ones(size, dtype=bool)
        infos: dict[str, Any] = {
            "episode": np.asarray(episode, dtype=np.int64),
            "_episode": everywhere,
            "turn": np.asarray(turn, dtype=np.int64),
            "_turn": everywhere,
            "invalid_action": np.asarray(invalid, dtype=bool),
            "_invalid_action": everywhere,
            "success": np.asarray(success, dtype=bool),
            "_success": everywhere,
            "autoreset": np.asarray(autoreset, dtype=bool),
            "_autoreset": everywhere,
        }
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            has_final = np.asarray([text is not None for text in final], dtype=bool)
            final_obs = np.empty(size, dtype=object)
            final_obs[:] = [text for text in final]
            infos["final_obs"] = final_obs
            infos["_final_obs"] = has_final
        if slots is not None:
            infos["env_id"] = slots
        return (
            tuple(observations),
            np.asarray(rewards, dtype=np.float64),
            np.asarray(terminated, dtype=bool),
            np.asarray(truncated, dtype=bool),
            infos,
        )

    def transcript(self, slot: int) -> list[dict[str, str]]:
        """A slot's current episode so far, as ``{"speaker", "kind", "text"}`` entries."""
        return _transcript_dicts(self._native.transcript(slot))

    def render(self) -> tuple[str, ...] | None:
        if self.render_mode != "ansi":
            return None
        return tuple(
            "\n".join(f"[{entry['speaker']}/{entry['kind']}] {entry['text']}" for entry in self.transcript(slot)) + "\n"
            for slot in range(self.num_envs)
        )


def make_vec(
    env_id: str,
    num_envs: int,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    config: str | dict | None = None,
    **fields: Any,
) -> VectorEnv:
    """A batched env of ``num_envs`` slots; the same as ``gymnasium.make_vec(env_id, num_envs)`` after ``import lm_gym``."""
    return VectorEnv(env_id, num_envs, autoreset_mode=autoreset_mode, config=config, **fields)
