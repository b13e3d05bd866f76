"""MOReL (Kidambi et al. 2020): SAC on a pessimistic model MDP whose unknown pairs lead to HALT. Default: gym/Hopper-v5.

    python run_scripts/morel.py --set offline_kwargs/teacher_data_files=hopper-medium-replay-v0
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("morel")
variant["exp_name"] = "morel"

# Values to sweep over (Cartesian product), e.g. {"morel_kwargs/threshold_coef": [0.5, 1.0]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
