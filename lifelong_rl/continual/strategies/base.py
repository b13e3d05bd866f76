"""The strategy interface: one object per continual-learning method, deciding what survives a
task switch (the buffer, regulariser anchors) and what it adds to the losses.

The continual wrapper (lifelong_rl.continual.wrapper) calls, in a run:
  make_buffer(max_size, fields, seed)     the replay buffer (ring, reservoir, ...)
  penalties(policy, qfs, heads) -> dict   extra loss terms, passed to the trainer at construction:
                                          {"policy": f, "qf": f}, f() -> a tensor or None (inactive)
  on_task_end(ctx, task)                  after a task's last evaluation, before the next task
  state_dict() / load_state_dict()        what a snapshot keeps of the strategy
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Type

import numpy as np
import torch

from lifelong_rl.data_management.fields import Field
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.variants import ConfigError

Penalty = Callable[[], Optional[torch.Tensor]]


@dataclass
class TaskContext:
    """What a strategy may read at a task boundary."""
    trainer: Any
    buffer: Any
    device: torch.device
    log: Callable[[str], None]
    task_names: List[str]


class CLStrategy:
    name = ""
    reset_buffer = True     # the buffer at a task switch when continual/reset_buffer is 'auto'
    default_coef = 0.0      # regularisation strength when continual/reg_coef is 0
    options: Tuple[str, ...] = ()  # the continual/<option> keys its constructor takes

    def __init__(self, coef: float = 0.0, seed: int = 0):
        self.coef = coef or self.default_coef
        self.rng = np.random.default_rng(seed)

    def make_buffer(self, max_size: int, fields: Mapping[str, Field], seed: int) -> ReplayBuffer:
        return ReplayBuffer(max_size, fields, seed=seed)

    def penalties(self, policy: torch.nn.Module, qfs: torch.nn.Module, heads: Optional[Dict[str, list]] = None) -> Dict[str, Penalty]:
        return {}

    def on_task_end(self, ctx: TaskContext, task: int) -> None:
        pass

    def state_dict(self) -> Dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]


STRATEGIES: Dict[str, Type[CLStrategy]] = {}


def register(cls: Type[CLStrategy]) -> Type[CLStrategy]:
    STRATEGIES[cls.name] = cls
    return cls


def get_strategy(name: str) -> Type[CLStrategy]:
    if name not in STRATEGIES:
        raise ConfigError(f"unknown continual method '{name}'; valid: {', '.join(sorted(STRATEGIES))}")
    return STRATEGIES[name]
