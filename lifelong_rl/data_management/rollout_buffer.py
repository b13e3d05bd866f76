"""Fixed-size on-policy rollout buffer with GAE(lambda), for vectorized envs.

Every declared field is stored as an array [num_steps, num_envs, *field.shape]; any extra field
(task ids, skills, goals, ...) just works. Episode ends follow two flags per step:

* `terminals[t]`: the MDP truly terminated after step t. Nothing is bootstrapped past it.
* `timeouts[t]`: the episode was cut by a time limit after step t. The advantage recursion stops
  there too, but the value target bootstraps from V(final observation of the cut episode), passed
  per step as `truncation_values` (with gymnasium vector envs that observation is in `infos`,
  since the env has already auto-reset). If both flags are set, termination wins.

`last_values` is V of the observation after the last stored step; it is used only where that
step neither terminated nor was truncated.
"""
from __future__ import annotations

from typing import Dict, Iterator, Optional

import numpy as np

from lifelong_rl.data_management.fields import Field

COMPUTED = ("advantages", "returns")
REQUIRED = ("rewards", "values", "terminals", "timeouts")


def rollout_fields(obs_dim: int, action_dim: int, **extra: Field) -> Dict[str, Field]:
    """The on-policy fields, plus `extra`. Per-step scalars (rewards, terminals, timeouts,
    log_probs, values) have shape (), so they are stored as [num_steps, num_envs] and a vector
    env's (num_envs,) arrays can be added as they are."""
    return {
        "observations": Field((obs_dim,)),
        "actions": Field((action_dim,)),
        "rewards": Field(()),
        "terminals": Field(()),
        "timeouts": Field(()),
        "log_probs": Field(()),
        "values": Field(()),
        **extra,
    }


class RolloutBuffer:
    def __init__(self, num_steps: int, num_envs: int, fields: Dict[str, Field], gamma: float,
                 gae_lambda: float):
        if num_steps <= 0 or num_envs <= 0:
            raise ValueError(f"num_steps and num_envs must be positive, got {num_steps}, {num_envs}")
        if not (0.0 <= gamma <= 1.0 and 0.0 <= gae_lambda <= 1.0):
            raise ValueError(f"gamma and gae_lambda must be in [0, 1], got {gamma}, {gae_lambda}")
        missing = [k for k in REQUIRED if k not in fields]
        if missing:
            raise ValueError(f"rollout buffer needs fields {missing} to compute advantages")
        clash = [k for k in COMPUTED if k in fields]
        if clash:
            raise ValueError(f"fields {clash} are computed by the buffer and cannot be declared")
        self.num_steps, self.num_envs = int(num_steps), int(num_envs)
        self.fields = dict(fields)
        self.gamma, self.gae_lambda = float(gamma), float(gae_lambda)
        self.data = {k: np.zeros((self.num_steps, self.num_envs, *f.shape), dtype=f.dtype)
                     for k, f in self.fields.items()}
        self.advantages = np.zeros((self.num_steps, self.num_envs), dtype=np.float32)
        self.returns = np.zeros((self.num_steps, self.num_envs), dtype=np.float32)
        self.pos = 0  # number of steps stored
        self.computed = False  # advantages/returns are up to date

    @property
    def full(self) -> bool:
        return self.pos == self.num_steps

    def reset(self) -> None:
        self.pos = 0
        self.computed = False

    clear = reset  # what the continual wrapper calls at a task switch

    def __len__(self) -> int:
        """Env steps stored."""
        return self.pos * self.num_envs

    def add(self, **step: np.ndarray) -> None:
        """Store one vector step: each value is [num_envs, *shape] for every declared field."""
        unknown = sorted(set(step) - set(self.fields))
        if unknown:
            raise ValueError(f"unknown rollout field(s) {unknown}; declared: {sorted(self.fields)}")
        missing = sorted(set(self.fields) - set(step))
        if missing:
            raise ValueError(f"missing rollout field(s) {missing}")
        if self.full:
            raise RuntimeError(f"rollout buffer is full ({self.num_steps} steps); call reset()")
        for k, v in step.items():
            v = np.asarray(v)
            expected = (self.num_envs, *self.fields[k].shape)
            if v.shape != expected:
                raise ValueError(f"field '{k}' has shape {v.shape}, expected {expected}")
            self.data[k][self.pos] = v
        self.pos += 1
        self.computed = False

    def compute_returns_and_advantages(self, last_values: np.ndarray,
                                       truncation_values: Optional[np.ndarray] = None) -> None:
        """GAE(lambda) over a full buffer; see the module docstring for the end-of-episode rules."""
        if not self.full:
            raise RuntimeError(f"buffer holds {self.pos}/{self.num_steps} steps; fill it first")
        terms = self.data["terminals"].astype(bool)
        timeouts = self.data["timeouts"].astype(bool)
        if timeouts.any():
            if truncation_values is None:
                raise ValueError("timeouts are set, so truncation_values is required")
            trunc = np.asarray(truncation_values, dtype=np.float64)
            if trunc.shape != (self.num_steps, self.num_envs):
                raise ValueError(f"truncation_values has shape {trunc.shape}, "
                                 f"expected {(self.num_steps, self.num_envs)}")
        else:
            trunc = np.zeros((self.num_steps, self.num_envs))
        last_values = np.asarray(last_values, dtype=np.float64).reshape(self.num_envs)
        rewards = self.data["rewards"].astype(np.float64)
        values = self.data["values"].astype(np.float64)

        next_adv = np.zeros(self.num_envs)
        for t in reversed(range(self.num_steps)):
            next_v = last_values if t == self.num_steps - 1 else values[t + 1]
            next_v = np.where(timeouts[t], trunc[t], next_v)
            # np.where (not a product) so that values past a termination are never read
            delta = rewards[t] + np.where(terms[t], 0.0, self.gamma * next_v) - values[t]
            carry = np.where(terms[t] | timeouts[t], 0.0, next_adv)
            next_adv = delta + self.gamma * self.gae_lambda * carry
            self.advantages[t] = next_adv
        self.returns[:] = self.advantages + values
        self.computed = True

    def get_all(self) -> Dict[str, np.ndarray]:
        """Every field plus advantages and returns, flattened to [num_steps * num_envs, ...]."""
        if not self.computed:
            raise RuntimeError("call compute_returns_and_advantages() after the last add()")
        n = self.num_steps * self.num_envs
        arrays = {**self.data, "advantages": self.advantages, "returns": self.returns}
        return {k: v.reshape(n, *v.shape[2:]).copy() for k, v in arrays.items()}

    def minibatches(self, batch_size: int, rng: np.random.Generator) -> Iterator[Dict[str, np.ndarray]]:
        """One epoch: a random permutation of all samples, in batches of `batch_size` (the last
        one may be smaller)."""
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        data = self.get_all()
        perm = rng.permutation(self.num_steps * self.num_envs)
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            yield {k: v[idx] for k, v in data.items()}

    def state_dict(self) -> Dict[str, object]:
        return {
            "pos": int(self.pos),
            "computed": int(self.computed),
            "advantages": self.advantages.copy(),
            "returns": self.returns.copy(),
            "data": {k: v.copy() for k, v in self.data.items()},
        }

    def load_state_dict(self, state: Dict[str, object]) -> None:
        if set(state["data"]) != set(self.data):
            raise ValueError(f"state has fields {sorted(state['data'])}, buffer has {sorted(self.data)}")
        pairs = [(self.data[k], v) for k, v in state["data"].items()]
        pairs += [(self.advantages, state["advantages"]), (self.returns, state["returns"])]
        for dst, src in pairs:
            src = np.asarray(src)
            if src.shape != dst.shape:
                raise ValueError(f"state array has shape {src.shape}, buffer expects {dst.shape}")
            dst[...] = src
        self.pos = int(state["pos"])
        self.computed = bool(state["computed"])
