"""One stage of the collective learning pipeline run on its own: collective_student (its inputs are
files of earlier stages; run_scripts/collective.py runs every stage in order). See
experiment_configs/configs/collective/student.py.

    python run_scripts/collective_student.py --quick
"""
import sys

from experiment_utils.launcher import run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("collective_student")
variant["exp_name"] = "collective_student"

sweep_values = {}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__))
