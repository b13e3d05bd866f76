"""TD3 (Fujimoto et al. 2018). Default: metaworld/reach-v3.

    python run_scripts/td3.py --env gym/Hopper-v5 --epochs 50 --num-seeds 3 --mode local_par
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("td3")
variant["exp_name"] = "td3"

# Values to sweep over (Cartesian product), e.g. {"trainer_kwargs/policy_lr": [1e-3, 3e-4]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
