"""lm-gym from Python: the Gymnasium API over the Rust engine.

Every env registered in the engine is registered with Gymnasium on import, so both
``lm_gym.make("twenty_questions-v0")`` and ``gymnasium.make("twenty_questions-v0")`` work (the
latter after ``import lm_gym``, or as ``gymnasium.make("lm_gym:twenty_questions-v0")``).
"""

from __future__ import annotations

from lm_gym import _native
from lm_gym.config import to_ron
from lm_gym.env import TextEnv, TextSpace, make
from lm_gym.scenario import Scenario, RunResult, run_scenario
from lm_gym.vector import VectorEnv, make_vec

__all__ = [
    "TextEnv",
    "TextSpace",
    "VectorEnv",
    "Scenario",
    "RunResult",
    "env_ids",
    "env_spec",
    "make",
    "make_vec",
    "register_envs",
    "run_scenario",
    "sample_actions",
    "to_ron",
]


def env_ids() -> list[str]:
    """Every env id the engine knows, sorted."""
    return list(_native.env_ids())


def env_spec(env_id: str, config: str | None = None) -> dict:
    """The spec of an env: ``id``, ``max_turns``, ``reward_range``, ``score_anchors``, ``description``."""
    import json

    return json.loads(_native.env_spec_json(env_id, config))


def sample_actions(env_id: str, config: str | None = None) -> list[str]:
    """A few well-formed actions of an env (those the engine's conformance checker plays)."""
    return list(_native.env_sample_actions(env_id, config))


def register_envs() -> None:
    """Registers every engine env id with Gymnasium (done on import; safe to call again)."""
    import gymnasium

    for env_id in _native.env_ids():
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point="lm_gym.env:TextEnv",
            vector_entry_point="lm_gym.vector:VectorEnv",
            kwargs={"env_id": env_id},
            # The engine truncates at the env's own turn cap; no TimeLimit wrapper is added.
            max_episode_steps=None,
            # Invalid actions are observations with a penalty, never errors.
            disable_env_checker=False,
        )


register_envs()
