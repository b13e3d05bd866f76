"""LEGION (Meng et al., Nature Machine Intelligence 2025) on a MetaWorld task stream: SAC on a
latent task code from a VAE with a growing Dirichlet-process mixture prior and language-embedded
task descriptions.

    python run_scripts/legion.py --stream legion10 --steps-per-task 1000000
    python run_scripts/legion.py --stream reach,window-close --mode-cl expand --set legion/prior=gauss
    python run_scripts/legion.py --quick                           # a 2-task smoke run
"""
import sys

from experiment_utils.launcher import CONTINUAL_FLAGS, run_experiment
from experiment_configs.registry import default_variant

# The full default variant (every key with its doc) is the schema in experiment_configs/configs/; edit the copy here or use --set.
variant = default_variant("legion")

# Values to sweep over (Cartesian product), e.g. {"legion/prior": ["dpmm", "gauss"], "legion/language": ["on", "off"]}.
sweep_values = {}

FLAGS = {**CONTINUAL_FLAGS, "--mode-cl": "legion/mode_cl"}

if __name__ == "__main__":
    sys.exit(run_experiment(variant, sweep_values, description=__doc__, extra_flags=FLAGS))
