"""What MOPO and MOReL share: MBPO's keys, agent and rollouts with an offline method's penalty on
every model transition, the datasets and the offline phase (experiment_configs/algorithms/offline.py),
and an optional online phase (MBPO's loop with the same penalty)."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Dict

from experiment_configs.algorithms.off_policy import off_policy_evaluation
from experiment_configs.algorithms.offline import OFFLINE_QUICK, build_phased, check_offline, offline_schema
from experiment_configs.common import Run
from experiment_configs.configs.model_based import mbpo
from lifelong_rl.core.schedules import ModelBasedSchedule
from lifelong_rl.trainers.offline_model_based import RolloutPenalty
from lifelong_rl.variants import Param, Schema


def offline_model_based(name: str, penalty_schema: Schema, make_penalty: Callable[[Dict[str, Any]], RolloutPenalty]):
    """(schema, QUICK, CONTRACT_CASES, check, check_evaluation, build, evaluation_setup) of a
    model-based offline method."""
    def schema() -> Schema:
        s = mbpo.schema()
        s.update(algorithm=Param(name, "registered algorithm name", "str"), exp_name=Param(name, s["exp_name"].doc, "str"),
                 **offline_schema(), **penalty_schema)
        mb = s["mbpo_kwargs"]
        # MOPO's D4RL settings (tianheyu927/mopo, examples/config/d4rl/base.py); offline, "steps" are updates.
        mb["rollout_every"] = Param(1000, "updates (online: env steps) between generations of model rollouts", "int", low=1)
        mb["rollout_batch_size"] = Param(50_000, mb["rollout_batch_size"].doc, "int", low=1)
        mb["rollout_length_schedule"] = Param([1, 1, 5, 5], "start, end, k at start, k at end: the rollout length h "
                                              "(offline it stays k at start; online it grows with env steps)", "ints")
        mb["retain_generations"] = Param(5, mb["retain_generations"].doc, "int", low=1)
        ak = s["algorithm_kwargs"]
        ak["num_epochs"] = Param(0, "epochs of the online phase after the offline one (MBPO's loop, same penalty); 0: none",
                                 "int", low=0)
        ak["min_num_steps_before_training"] = Param(0, "online phase: random steps first, counting the datasets' "
                                                    "transitions already in the buffer", "int", low=0)
        return s

    quick = {**mbpo.QUICK, **OFFLINE_QUICK, "algorithm_kwargs/num_epochs": 0, "mbpo_kwargs/rollout_every": 10,
             "model_kwargs/train_every": 100,
             "mbpo_kwargs/rollout_length_schedule": [1, 1, 2, 2]}
    cases = {"offline": {}, "offline_then_online": {"algorithm_kwargs": {"num_epochs": 2}}}

    def check(variant: Dict[str, Any]) -> None:
        mbpo.check(variant)
        check_offline(variant)

    def agent(variant, obs_dim, action_dim, device, seeds):
        return mbpo.mbpo_agent(variant, obs_dim, action_dim, device, seeds, penalty=make_penalty(variant))

    def build(run: Run):
        return build_phased(run, partial(agent, seeds=run.seeds), ModelBasedSchedule)

    def evaluation_setup(run: Run, env_seed=None):
        return off_policy_evaluation(run, partial(agent, seeds=run.seeds), env_seed)

    return schema, quick, cases, check, mbpo.check_evaluation, build, evaluation_setup
