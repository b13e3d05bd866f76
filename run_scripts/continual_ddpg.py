"""Continual DDPG on a MetaWorld task stream (Continual World protocol; every CL method but ewc).

    python run_scripts/continual_ddpg.py --stream cw10 --cl-method l2 --steps-per-task 1000000
    python run_scripts/continual_ddpg.py --stream reach,push,window-close --num-tasks 2 --cl-method perfect_memory
"""
import sys

from experiment_utils.launcher import CONTINUAL_FLAGS, run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("continual_ddpg")

# Values to sweep over (Cartesian product), e.g. {"continual/cl_method": ["finetune", "ewc"]}.
sweep_values = {}

FLAGS = {**CONTINUAL_FLAGS, "--cl-method": "continual/cl_method"}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__, extra_flags=FLAGS))
