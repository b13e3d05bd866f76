"""Behaviour cloning on datasets from agent_data/. Default: gym/Hopper-v5.

    python run_scripts/bc.py --set offline_kwargs/teacher_data_files=hopper-medium-v0
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("bc")
variant["exp_name"] = "bc"

# Values to sweep over (Cartesian product), e.g. {"trainer_kwargs/lr": [1e-3, 3e-4]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
