"""MOPO (Yu et al. 2020): SAC on real data and model rollouts with an uncertainty-penalised reward. Default: gym/Hopper-v5.

    python scripts/collect_dataset.py --env gym/Hopper-v5 --kind random --name hopper-random-v0
    python run_scripts/mopo.py --set offline_kwargs/teacher_data_files=hopper-random-v0
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("mopo")
variant["exp_name"] = "mopo"

# Values to sweep over (Cartesian product), e.g. {"mopo_kwargs/penalty_coef": [1.0, 5.0]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
