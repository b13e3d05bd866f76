"""DADS (Sharma et al. 2019): skills by SAC on a skill-dynamics model's intrinsic reward. Default: gridworld/blank.

    python run_scripts/dads.py --epochs 100 --set dads_kwargs/latent_dim=2
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("dads")
variant["exp_name"] = "dads"

# Values to sweep over (Cartesian product), e.g. {"dads_kwargs/reward_scale": [1.0, 5.0]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
