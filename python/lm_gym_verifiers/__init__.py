"""The verifiers taskset package of lm-gym: ``vf-eval lm_gym_verifiers --env.taskset.env-id ENV``.

verifiers imports a taskset by its id as a top-level module and takes the ``Taskset``,
``Env`` and ``Harness`` subclasses it exports; they live in ``lm_gym.verifiers``.
"""

from lm_gym.verifiers import LmGymEnv, LmGymHarness, LmGymTaskset, load_environment

__all__ = ["LmGymEnv", "LmGymHarness", "LmGymTaskset", "load_environment"]
