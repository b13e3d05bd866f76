"""LOOP (Sikchi et al. 2020): short-horizon MPPI with SAC's Q as terminal value and SAC's policy as prior. Default: gym/Hopper-v5.

    python run_scripts/loop.py --env gym/InvertedPendulum-v5 --epochs 20
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("loop")
variant["exp_name"] = "loop"

# Values to sweep over (Cartesian product), e.g. {"planner_kwargs/horizon": [10, 20]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
