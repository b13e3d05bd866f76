"""Continual LiSP (Lu et al. 2021) on a MetaWorld task stream. Default: cw10, finetune.

    python run_scripts/continual_lisp.py --set continual/stream=reach,push,window-open --set continual/cl_method=perfect_memory
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("continual_lisp")
variant["exp_name"] = "continual_lisp"

# Values to sweep over (Cartesian product), e.g. {"continual/cl_method": ["finetune", "perfect_memory"]}.
sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
