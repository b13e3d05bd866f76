"""lifelong_rl: lifelong (continual) reinforcement learning on robot manipulation."""
__version__ = "0.1.0"
