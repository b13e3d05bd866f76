"""PPO (Schulman et al. 2017). Default: gym/Hopper-v5.

    python run_scripts/ppo.py --epochs 30 --num-seeds 3 --mode local_par
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("ppo")
variant["exp_name"] = "ppo"

# Values to sweep over (Cartesian product), e.g. {"algorithm_kwargs/num_envs": [1, 4]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
