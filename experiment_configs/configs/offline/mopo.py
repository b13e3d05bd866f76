"""MOPO (Yu et al. 2020, "MOPO: Model-based Offline Policy Optimization") on one env's datasets.

The ensemble is fitted to the datasets; SAC learns on a mix of real transitions and model rollouts
of length h from dataset states whose rewards are penalised by lambda times the largest norm of the
elites' predicted standard deviations. An offline phase (`offline_kwargs`), then optionally an
online phase (`algorithm_kwargs/num_epochs` > 0: MBPO's loop with the same penalty, networks and
buffer).

Defaults: MOPO's D4RL settings (tianheyu927/mopo, examples/config/d4rl): 7 members / 5 elites,
h = 5, 50k rollouts every 1000 updates kept for 5 generations, 5% real data, lambda = 1 (its Hopper
random, medium-replay and medium-expert value; medium uses 5); 100 offline epochs of 1000 SAC
updates (MOPO runs about 1M).

Files that define its behaviour: lifelong_rl/trainers/offline_model_based.py (the penalty),
lifelong_rl/trainers/mbpo.py (rollouts, data mix), lifelong_rl/trainers/sac.py,
lifelong_rl/core/schedules.py (OfflineSchedule), experiment_configs/algorithms/offline.py.
"""
from __future__ import annotations


from experiment_configs.configs.offline.model_based import offline_model_based
from lifelong_rl.trainers.offline_model_based import MOPOPenalty
from lifelong_rl.variants import Param

NAME = "mopo"

schema, QUICK, CONTRACT_CASES, check, check_evaluation, build, evaluation_setup = offline_model_based(
    NAME, {"mopo_kwargs": {"penalty_coef": Param(1.0, "lambda: the reward penalty per unit of the largest predicted std norm",
                                                 "float", low=0.0)}},
    lambda variant: MOPOPenalty(variant["mopo_kwargs"]["penalty_coef"]))
