"""One stage of the collective learning pipeline run on its own: collective_distill (its inputs are
files of earlier stages; run_scripts/collective.py runs every stage in order). See
experiment_configs/configs/collective/distill.py.

    python run_scripts/collective_distill.py --quick
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("collective_distill")
variant["exp_name"] = "collective_distill"

sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
