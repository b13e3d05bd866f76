"""MOReL (Kidambi et al. 2020, "MOReL: Model-Based Offline Reinforcement Learning") on one env's
datasets, with SAC as the policy learner (MOReL uses NPG; Lu et al.'s code uses SAC too).

The ensemble is fitted to the datasets; a model transition from a state-action pair whose elites
disagree by more than the threshold (max pairwise distance of their predicted means) goes to the
absorbing HALT state: its reward is -kappa and the rollout ends there. The threshold is
`threshold_coef` times the largest disagreement on the data's own pairs (MOReL's code: a
"pessimism coefficient" times that maximum). SAC learns on a mix of real transitions and these
rollouts, as MBPO. An offline phase (`offline_kwargs`), then optionally an online phase.

Defaults: kappa = 100 (Lu et al.'s `penalty`); threshold_coef 1 (MOReL's D4RL Hopper config uses 3
with 4 models and 700-step rollouts from start states; rollouts here are 5 steps from dataset
states); rollouts and SAC as MOPO here.

Files that define its behaviour: lifelong_rl/trainers/offline_model_based.py (the HALT rule),
lifelong_rl/trainers/mbpo.py (rollouts, data mix), lifelong_rl/trainers/sac.py,
lifelong_rl/core/schedules.py (OfflineSchedule), experiment_configs/algorithms/offline.py.
"""
from __future__ import annotations

from experiment_configs.configs.offline.model_based import offline_model_based
from lifelong_rl.trainers.offline_model_based import MOReLHalt
from lifelong_rl.variants import Param

NAME = "morel"

schema, QUICK, CONTRACT_CASES, check, check_evaluation, build, evaluation_setup = offline_model_based(
    NAME, {"morel_kwargs": {
        "threshold_coef": Param(1.0, "the unknown-pair threshold, as a multiple of the largest ensemble disagreement "
                                "on the data's own pairs", "float", low=0.0),
        "kappa": Param(100.0, "the reward of a transition into HALT is -kappa", "float", low=0.0)}},
    lambda variant: MOReLHalt(variant["morel_kwargs"]["threshold_coef"], variant["morel_kwargs"]["kappa"]))
