"""A single episode at a time, with the Gymnasium API: text observations, text actions."""

from __future__ import annotations

import json
import string
from typing import Any

import gymnasium
from gymnasium.spaces import Text

from lm_gym import _native
from lm_gym.config import to_ron

#: The longest observation the observation space admits, in characters.
OBSERVATION_MAX_LENGTH = 1 << 20
#: The longest action the action space admits, in characters (the env judges its content).
ACTION_MAX_LENGTH = 4096
_SAMPLE_CHARSET = string.ascii_letters + string.digits + " ?.,'-"


class TextSpace(Text):
    """Any Python ``str`` of ``min_length`` to ``max_length`` characters (any Unicode).

    Gymnasium's ``Text`` admits only a fixed charset; an env's prompts and an agent's
    messages are free text, so membership checks only the type and the length. ``sample``
    draws from letters, digits, spaces and light punctuation.
    """

    def __init__(self, max_length: int, min_length: int = 0, seed: Any = None):
        super().__init__(max_length, min_length=min_length, charset=_SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"TextSpace({self.min_length}, {self.max_length})"


def _config_text(config: str | dict | None, fields: dict) -> str | None:
    if isinstance(config, str):
        if fields:
            raise TypeError("give the config either as RON text (config=...) or as keyword fields, not both")
        return config
    merged = dict(config or {})
    merged.update(fields)
    return to_ron(merged)


def _transcript_dicts(rows: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    return [{"speaker": speaker, "kind": kind, "text": text} for speaker, kind, text in rows]


def _render_transcript(rows: list[tuple[str, str, str]]) -> str:
    return "\n".join(f"[{speaker}/{kind}] {text}" for speaker, kind, text in rows) + "\n"


class TextEnv(gymnasium.Env[str, str]):
    """One env of the engine, one episode at a time (Gymnasium semantics).

    ``reset(seed=s)`` starts episode 0 of a scenario run with seed ``s``; ``reset()`` without a
    seed moves on to the next episode of the current seed (seed 0 before any seeded reset), so
    ``reset(seed=s)`` followed by ``n`` unseeded resets plays episodes ``0..=n`` of seed ``s``,
    exactly as ``scenarios`` would. ``options`` is accepted and unused. Every action is accepted:
    one the env cannot understand is an observation with the env's penalty
    (``info["invalid_action"]``). Stepping a finished episode raises ``RuntimeError``.

    ``info`` holds ``episode`` (index in the run), ``turn`` (actions so far), ``invalid_action``
    and ``success``.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(
        self,
        env_id: str,
        render_mode: str | None = None,
        config: str | dict | None = None,
        **fields: Any,
    ):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.env_id = env_id
        self._native = _native.Env(env_id, _config_text(config, fields))
        self.env_spec = json.loads(self._native.spec_json())
        self.max_turns: int = self.env_spec["max_turns"]
        self.reward_range = tuple(self.env_spec["reward_range"])
        self.render_mode = render_mode
        self.observation_space = TextSpace(OBSERVATION_MAX_LENGTH)
        self.action_space = TextSpace(ACTION_MAX_LENGTH, min_length=1)

    @property
    def config_ron(self) -> str:
        """The env config in use, as RON (what a scenario file's ``env.config`` would hold)."""
        return self._native.config_ron()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None and not 0 <= seed < 1 << 64:
            raise ValueError(f"seed must be in [0, 2**64), got {seed}")
        observation, episode = self._native.reset(seed)
        if self.render_mode == "human":
            print(observation)
        return observation, {"episode": episode, "turn": 0, "invalid_action": False, "success": False}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if not isinstance(action, str):
            raise TypeError(f"actions are text (str), got {type(action).__name__}")
        observation, reward, terminated, truncated, episode, turn, invalid, success = self._native.step(action)
        if self.render_mode == "human":
            print(f"> {action}\n{observation}")
        info = {"episode": episode, "turn": turn, "invalid_action": invalid, "success": success}
        return observation, reward, terminated, truncated, info

    def transcript(self) -> list[dict[str, str]]:
        """The current episode so far: ``{"speaker", "kind", "text"}`` entries, as in ``trajectories.jsonl``."""
        return _transcript_dicts(self._native.transcript())

    def render(self) -> str | None:
        text = _render_transcript(self._native.transcript())
        if self.render_mode == "ansi":
            return text
        if self.render_mode == "human":
            print(text, end="")
        return None


def make(env_id: str, render_mode: str | None = None, config: str | dict | None = None, **fields: Any) -> TextEnv:
    """Builds an env by id; its config from keyword fields (``max_questions=10``) or RON text (``config=...``)."""
    return TextEnv(env_id, render_mode=render_mode, config=config, **fields)
