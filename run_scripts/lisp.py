"""LiSP (Lu et al. 2021): skills learned on a model, MPPI over skills, reset-free. Default: gridworld/volcano.

    python run_scripts/lisp.py --set env=lifelong/hopper --set lisp_kwargs/planning_reward=task
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("lisp")
variant["exp_name"] = "lisp"

# Values to sweep over (Cartesian product), e.g. {"lisp_kwargs/repeat": [1, 3]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
