"""MBPO (Janner et al. 2019): SAC on a mix of real and branched model rollouts. Default: gym/Hopper-v5.

    python run_scripts/mbpo.py --set model_kwargs/termination=given --epochs 100
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("mbpo")
variant["exp_name"] = "mbpo"

# Values to sweep over (Cartesian product), e.g. {"planner_kwargs/horizon": [10, 20]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
