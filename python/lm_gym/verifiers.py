"""lm-gym envs as verifiers environments (verifiers 0.4, the ``verifiers.v1`` API).

Every engine env id becomes a verifiers environment: a taskset whose row ``i`` is episode
``i`` of scenario seed ``seed`` (what ``scenarios <run> --seed SEED`` plays as episode ``i``),
an env whose ``run()`` plays the episode against the model (the env's reply to each model
message is the next user message; the exchange ends when the episode terminates or is
truncated), and a tool-less chat harness that runs in-process. The reward ``episode_return``
is the episode's return: the sum of the env's step rewards. Nothing here draws randomness:
replaying a trace's model messages through ``lm_gym.make(env_id)`` with the row's seed gives
the same observations and the same return.

``load_environment(env_id)`` builds the env in Python; ``vf-eval`` reaches it through the
taskset id ``lm_gym_verifiers`` (the top-level package that re-exports the classes here)::

    vf-eval lm_gym_verifiers --env.taskset.env-id wordle-v0 -n 4 \\
        -m SmolLM2-135M-Instruct --client.base-url http://127.0.0.1:8766/v1 \\
        --client.api-key-var LM_GYM_API_KEY --sampling.max-tokens 16 --no-rich --no-push

Needs ``verifiers`` (0.4.0) and ``openai`` installed; importing this module without them
raises ``ImportError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lm_gym

try:
    import openai
    import verifiers.v1 as vf
    from verifiers.v1.dialects.chat import message_to_wire
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError("lm_gym.verifiers needs `verifiers==0.4.0` and `openai` (pip install verifiers openai)") from error

__all__ = [
    "SYSTEM_PROMPT",
    "TASKSET_ID",
    "LmGymConfig",
    "LmGymEnv",
    "LmGymEnvConfig",
    "LmGymHarness",
    "LmGymHarnessConfig",
    "LmGymTask",
    "LmGymTaskData",
    "LmGymTaskset",
    "action_from_reply",
    "load_environment",
    "play",
]

#: The taskset id verifiers imports (the top-level package ``lm_gym_verifiers``).
TASKSET_ID = "lm_gym_verifiers"

#: The system message, the same as the gym's own LLM agent uses (``agents_llm::template``).
SYSTEM_PROMPT = "You are the player in a text game. Reply with your next move only: one line, no explanation."


def action_from_reply(reply: str) -> str:
    """The action a model message stands for: its first non-empty line, trimmed (the gym's
    LLM agent reads its actions the same way). An empty reply is the empty action, which the
    env answers as invalid."""
    for line in reply.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _episode(env_id: str, config: str | None, seed: int, index: int) -> tuple[lm_gym.TextEnv, str]:
    """The env at the start of episode ``index`` of scenario seed ``seed``, and its prompt."""
    env = lm_gym.make(env_id, config=config)
    observation, _ = env.reset(seed=seed)
    for _ in range(index):
        observation, _ = env.reset()
    return env, observation


def play(env_id: str, actions: list[str], *, seed: int = 0, index: int = 0, config: str | None = None) -> dict[str, Any]:
    """Replays ``actions`` on episode ``index`` of seed ``seed``: ``{"return", "turns",
    "terminated", "truncated", "observations"}``. Actions after the episode ended are
    ignored."""
    env, observation = _episode(env_id, config, seed, index)
    total, turns, terminated, truncated = 0.0, 0, False, False
    observations = [observation]
    for action in actions:
        if terminated or truncated:
            break
        observation, reward, terminated, truncated, _ = env.step(action)
        observations.append(observation)
        total += reward
        turns += 1
    return {"return": total, "turns": turns, "terminated": terminated, "truncated": truncated, "observations": observations}


class LmGymConfig(vf.TasksetConfig):
    """The taskset: which env, its config, and the scenario seed of the rows."""

    env_id: str = "twenty_questions-v0"
    """An engine env id (``lm_gym.env_ids()``)."""
    env_config: str | None = None
    """The env's config as RON text (None: the env's default)."""
    seed: int = 0
    """Scenario seed: row ``i`` is episode ``i`` of this seed."""
    episodes: int | None = None
    """Rows in the taskset (None: unbounded; bound it with ``-n``)."""


class LmGymTaskData(vf.TaskData):
    info: dict
    """``env_id``, ``env_config``, ``seed`` and ``episode``: what the env replays the episode from."""


class LmGymTask(vf.Task[LmGymTaskData, vf.State, vf.TaskConfig]):
    pass


class LmGymTaskset(vf.Taskset[LmGymTask, LmGymConfig]):
    """Row ``i``: the env's opening prompt of episode ``i`` of the configured seed."""

    INFINITE = True

    def __init__(self, config: LmGymConfig) -> None:
        super().__init__(config)
        if config.env_id not in lm_gym.env_ids():
            raise ValueError(f"unknown lm-gym env id {config.env_id!r}; known: {', '.join(lm_gym.env_ids())}")
        if config.episodes is not None:
            self.INFINITE = False

    def load(self) -> Iterator[LmGymTask]:
        config = self.config
        env = lm_gym.make(config.env_id, config=config.env_config)
        observation, _ = env.reset(seed=config.seed)
        index = 0
        while config.episodes is None or index < config.episodes:
            yield LmGymTask(
                LmGymTaskData(
                    name=f"{config.env_id}#{config.seed}/{index}",
                    prompt=observation,
                    system_prompt=SYSTEM_PROMPT,
                    info={"env_id": config.env_id, "env_config": config.env_config, "seed": config.seed, "episode": index},
                ),
                config.task,
            )
            index += 1
            observation, _ = env.reset()


class LmGymEnvConfig(vf.EnvConfig):
    player: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())
    """The model's seat. Its harness runs in-process and executes nothing, so the runtime is
    the local one (verifiers' default, a Prime sandbox, would need a tunnel and an account)."""


class LmGymEnv(vf.Env[LmGymEnvConfig]):
    """Plays one lm-gym episode per task: each model message is an action, the env's reply
    the next user message, until the episode ends. Records ``episode_return`` (the reward,
    weight 1) and the metrics ``turns``, ``terminated``, ``truncated``, ``success``,
    ``invalid_actions``; ``trace.info`` holds the actions played."""

    async def run(self, task, agents):
        info = task.data.info
        env, _ = _episode(info["env_id"], info.get("env_config"), info["seed"], info["episode"])
        total, turns, invalid, success = 0.0, 0, 0, False
        terminated = truncated = False
        actions: list[str] = []
        async with agents.player.interaction(task) as interaction:
            segment = await interaction.turn()
            while not segment.terminated:
                action = action_from_reply(segment.last_reply)
                actions.append(action)
                observation, reward, terminated, truncated, step_info = env.step(action)
                total += reward
                turns += 1
                invalid += int(step_info["invalid_action"])
                success = success or step_info["success"]
                if terminated or truncated:
                    break
                segment = await interaction.turn(observation)
        trace = interaction.trace
        trace.record_reward("episode_return", total, 1.0)
        trace.record_metric("turns", float(turns))
        trace.record_metric("terminated", float(terminated))
        trace.record_metric("truncated", float(truncated))
        trace.record_metric("success", float(success))
        trace.record_metric("invalid_actions", float(invalid))
        trace.info["lm_gym"] = {**info, "actions": actions, "return": total}


class LmGymHarnessConfig(vf.HarnessConfig):
    pass


class LmGymHarness(vf.Harness[LmGymHarnessConfig]):
    """A tool-less chat turn run in-process: one chat completion per segment through the
    rollout's interception endpoint (which records it on the trace and applies the run's
    model and sampling). Nothing is installed or launched."""

    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_RESUME = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def launch(self, ctx, trace, runtime, endpoint, secret, mcp_urls, data, **_: Any):
        system, prompt = self.resolve_prompt(data)
        messages: list[dict] = []
        if system:
            messages.append({"role": "system", "content": system})
        if isinstance(prompt, str):
            messages.append({"role": "user", "content": prompt})
        elif prompt:
            messages.extend(message_to_wire(message) for message in prompt)
        async with openai.AsyncOpenAI(base_url=endpoint, api_key=secret, max_retries=2) as client:
            await client.chat.completions.create(model=ctx.model, messages=messages)
        return vf.ProgramResult(exit_code=0, stdout="", stderr="")


def load_environment(
    env_id: str,
    *,
    env_config: str | None = None,
    seed: int = 0,
    episodes: int | None = None,
    **env_fields: Any,
) -> LmGymEnv:
    """The verifiers environment of an lm-gym env: row ``i`` of its taskset is episode ``i``
    of scenario seed ``seed``; ``env_fields`` go to verifiers' ``EnvConfig`` (e.g.
    ``timeout``, ``retries``)."""
    taskset = {"id": TASKSET_ID, "env_id": env_id, "env_config": env_config, "seed": seed, "episodes": episodes}
    config = vf.resolve_env_config({"taskset": taskset, **env_fields})
    return vf.load_environment(config)
