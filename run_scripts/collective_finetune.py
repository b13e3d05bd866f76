"""One stage of the collective learning pipeline run on its own: collective_finetune (its inputs are
files of earlier stages; run_scripts/collective.py runs every stage in order). See
experiment_configs/configs/collective/finetune.py.

    python run_scripts/collective_finetune.py --quick
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("collective_finetune")
variant["exp_name"] = "collective_finetune"

sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
