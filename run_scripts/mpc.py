"""PETS-style MPC (Chua et al. 2018) with a learned probabilistic ensemble. Default: gym/InvertedPendulum-v5.

    python run_scripts/mpc.py --set planner_kwargs/planner=cem --num-seeds 3 --mode local_par
    python run_scripts/mpc.py --preset gpu     # Lu et al.'s sizes, on a GPU
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("mpc")
variant["exp_name"] = "mpc"

# Values to sweep over (Cartesian product), e.g. {"planner_kwargs/horizon": [10, 20]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
