"""The written contracts between the loop, its schedules and an algorithm's parts.

A new method implements `Trainer` (its losses, computed apart from the optimizer steps and
returned by name) and, if it acts differently, `Policy`; collectors and buffers are shared.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, Mapping, Optional, Protocol, runtime_checkable

import numpy as np
import torch


@runtime_checkable
class Policy(Protocol):
    """Acts in an env: one action for one observation; `reset` at each episode start. A policy
    whose buffer wants more (log-probs, values, skills) also has `get_action_and_info(obs) ->
    (action, info)`; collectors store the info's entries in the buffer fields of the same name."""

    def get_action(self, obs: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


@runtime_checkable
class Trainer(Protocol):
    """The losses of one method on a batch, and its optimizer steps.

    `compute_losses` returns named tensors without stepping; `train_from_torch` steps on them.
    `get_diagnostics` reads the statistics of the last batch (once an epoch), `losses_finite`
    is the loop's NaN guard, and the state dict holds networks, optimizers and the last batch's
    statistics, so a resumed run logs what an uninterrupted one does."""

    def compute_losses(self, batch: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]: ...

    def train_from_torch(self, batch: Mapping[str, torch.Tensor]) -> None: ...

    def get_diagnostics(self) -> Dict[str, float]: ...

    def losses_finite(self) -> bool: ...

    def state_dict(self) -> Dict[str, Any]: ...

    def load_state_dict(self, state: Dict[str, Any]) -> None: ...


@runtime_checkable
class ContinualTrainer(Trainer, Protocol):
    """A trainer the continual wrapper can drive: per-task resets (continual/reset_optimizer,
    continual/reset_entropy). Parameter-penalty strategies (l2, ewc) also read its `policy` and `qfs`."""

    def reset_optimizers(self) -> None: ...

    def reset_entropy(self) -> None: ...


@runtime_checkable
class Buffer(Protocol):
    """A replay buffer: declared fields (`fields`: name -> Field), samples added one at a time by
    field name, its own sampler RNG. (An on-policy RolloutBuffer adds whole vector steps instead.)"""

    fields: Dict[str, Any]

    def __len__(self) -> int: ...

    def add_sample(self, **sample: Any) -> None: ...

    def random_batch(self, batch_size: int) -> Dict[str, np.ndarray]: ...

    def clear(self) -> None: ...

    def state_dict(self) -> Dict[str, Any]: ...

    def load_state_dict(self, state: Dict[str, Any]) -> None: ...


@runtime_checkable
class BatchSource(Protocol):
    """Fixed data an offline schedule samples with its own generator and never adds to (the
    collective's windows of recorded episodes, lifelong_rl.data_management.trajectory_windows)."""

    rng: np.random.Generator

    def __len__(self) -> int: ...

    def random_batch(self, batch_size: int) -> Dict[str, np.ndarray]: ...

    def rng_state_dict(self) -> Dict[str, Any]: ...


@runtime_checkable
class RolloutStore(Protocol):
    """An on-policy rollout buffer: whole vector steps added, GAE computed at the rollout's end,
    then minibatches of the flattened rollout (lifelong_rl.data_management.rollout_buffer)."""

    fields: Dict[str, Any]

    def add(self, **step: Any) -> None: ...

    def compute_returns_and_advantages(self, last_values: np.ndarray, truncation_values: Optional[np.ndarray] = None) -> None: ...

    def minibatches(self, batch_size: int, rng: np.random.Generator) -> Iterator[Dict[str, np.ndarray]]: ...

    def reset(self) -> None: ...

    def state_dict(self) -> Dict[str, Any]: ...

    def load_state_dict(self, state: Dict[str, Any]) -> None: ...


@runtime_checkable
class Collector(Protocol):
    """Talks to one env. `collect_one_step` stores one transition (and the env's and agent's
    infos it was asked to keep) in a buffer; its state dict holds counters and the env's random
    state, and the episode in progress, so a resume continues it exactly."""

    num_steps_total: int
    num_paths_total: int
    stats: Any  # the EpisodeStats finished episodes go to (shared by the collectors of a stream)

    def collect_one_step(self, buffer: Buffer, random_action: bool = False) -> Dict[str, Any]: ...

    def get_diagnostics(self, prefix: str) -> Dict[str, float]: ...

    def pop_lifelong(self, prefix: str) -> Dict[str, float]:
        """A reset-free collector's columns since the last call (resets needed, reward per step,
        task); empty for an episodic one."""
        ...

    def state_dict(self) -> Dict[str, Any]: ...

    def load_state_dict(self, state: Dict[str, Any]) -> None: ...
