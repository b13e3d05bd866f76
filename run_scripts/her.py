"""HER (Andrychowicz et al. 2017) on SAC, TD3 or DDPG. Default: goal/metaworld/reach-v3, SAC.

    python run_scripts/her.py --set her_kwargs/base=td3 --set env_kwargs/new_goal_each_episode=true --set algorithm_kwargs/max_path_length=100
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("her")
variant["exp_name"] = "her"

# Values to sweep over (Cartesian product), e.g. {"her_kwargs/relabels_per_transition": [0, 4]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
