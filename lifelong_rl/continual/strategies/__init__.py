"""Continual-learning strategies, one file each, registered by name (base.register). Adding a
method (A-GEM, PackNet, ...) is one new file in this package."""
import importlib
import pkgutil

from lifelong_rl.continual.strategies.base import STRATEGIES, CLStrategy, TaskContext, get_strategy

for _m in pkgutil.iter_modules(__path__):
    if _m.name != "base":
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["STRATEGIES", "CLStrategy", "TaskContext", "get_strategy"]
