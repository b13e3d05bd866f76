"""Continual PPO on a MetaWorld task stream (fine-tuned from task to task).

    python run_scripts/continual_ppo.py --stream cw10 --steps-per-task 1024000 --eval-every 20480 --set algorithm_kwargs/num_envs=4
    python run_scripts/continual_ppo.py --stream reach,push,window-close --steps-per-task 204800 --eval-every 20480
"""
import sys

from experiment_utils.launcher import CONTINUAL_FLAGS, run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("continual_ppo")

# Values to sweep over (Cartesian product), e.g. {"continual/cl_method": ["finetune", "ewc"]}.
sweep_values = {}

FLAGS = {**CONTINUAL_FLAGS, "--cl-method": "continual/cl_method"}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__, extra_flags=FLAGS))
