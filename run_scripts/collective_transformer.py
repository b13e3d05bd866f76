"""One stage of the collective learning pipeline run on its own: collective_transformer (its inputs are
files of earlier stages; run_scripts/collective.py runs every stage in order). See
experiment_configs/configs/collective/transformer.py.

    python run_scripts/collective_transformer.py --quick
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("collective_transformer")
variant["exp_name"] = "collective_transformer"

sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
