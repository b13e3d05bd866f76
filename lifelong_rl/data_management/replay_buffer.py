"""Numpy ring replay buffer.

`terminals` holds true termination only (the MDP ended: no bootstrap). Time-limit truncation is
not a terminal: SAC bootstraps through it. `timeouts` is kept for analysis and datasets.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")


class ReplayBuffer:
    def __init__(self, max_size: int, obs_dim: int, action_dim: int, seed: Optional[int] = None):
        if max_size <= 0:
            raise ValueError(f"replay buffer size must be positive, got {max_size}")
        self.max_size, self.obs_dim, self.action_dim = int(max_size), obs_dim, action_dim
        self.observations = np.zeros((self.max_size, obs_dim), dtype=np.float32)
        self.next_observations = np.zeros((self.max_size, obs_dim), dtype=np.float32)
        self.actions = np.zeros((self.max_size, action_dim), dtype=np.float32)
        self.rewards = np.zeros((self.max_size, 1), dtype=np.float32)
        self.terminals = np.zeros((self.max_size, 1), dtype=np.float32)
        self.timeouts = np.zeros((self.max_size, 1), dtype=np.float32)
        self.task_ids = np.zeros(self.max_size, dtype=np.int64)  # which task of a stream made it
        self._top = 0  # next write position
        self._size = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self._size

    def add_sample(self, obs, action, reward, next_obs, terminal, timeout=False, task_id: int = 0) -> None:
        i = self._write_index()
        if i < 0:
            return
        self.observations[i] = obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_obs
        self.terminals[i] = float(terminal)
        self.timeouts[i] = float(timeout)
        self.task_ids[i] = task_id

    def _write_index(self) -> int:
        """Where the next sample goes (ring: the oldest slot); -1 to drop it."""
        i = self._top
        self._top = (i + 1) % self.max_size
        self._size = min(self._size + 1, self.max_size)
        return i

    def add_path(self, path: Dict[str, np.ndarray]) -> None:
        """Add a batch of transitions (arrays with a leading time axis), wrapping around."""
        n = len(path["rewards"])
        idx = (self._top + np.arange(n)) % self.max_size
        for k in FIELDS:
            if k in path:
                getattr(self, k)[idx] = np.asarray(path[k]).reshape(n, -1)
            else:
                getattr(self, k)[idx] = 0.0
        self.task_ids[idx] = np.asarray(path.get("task_ids", 0))
        self._top = int((self._top + n) % self.max_size)
        self._size = int(min(self._size + n, self.max_size))

    def random_indices(self, batch_size: int) -> np.ndarray:
        if self._size == 0:
            raise RuntimeError("cannot sample from an empty replay buffer")
        return self.rng.integers(0, self._size, size=batch_size)

    def random_batch(self, batch_size: int) -> Dict[str, np.ndarray]:
        """A uniform sample: the transition fields and `task_ids` (int64, [B])."""
        idx = self.random_indices(batch_size)
        return {**{k: getattr(self, k)[idx] for k in FIELDS}, "task_ids": self.task_ids[idx]}

    def task_indices(self, task_id: int) -> np.ndarray:
        return np.flatnonzero(self.task_ids[: self._size] == task_id)

    def clear(self) -> None:
        self._top = self._size = 0

    # -- snapshots ---------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """The stored transitions (only the filled part), write position and sampling RNG."""
        return {
            "max_size": self.max_size,
            "top": self._top,
            "size": self._size,
            "rng": self.rng.bit_generator.state,
            **{k: getattr(self, k)[: self._size].copy() for k in (*FIELDS, "task_ids")},
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        if state["max_size"] != self.max_size:
            raise ValueError(f"buffer size mismatch: snapshot {state['max_size']}, buffer {self.max_size}")
        self._top, self._size = int(state["top"]), int(state["size"])
        for k in (*FIELDS, "task_ids"):
            getattr(self, k)[: self._size] = state[k]
        self.rng.bit_generator.state = state["rng"]

    def rng_state_dict(self) -> Dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}


class ReservoirReplayBuffer(ReplayBuffer):
    """Fixed-size buffer holding a uniform sample of everything ever added (reservoir sampling,
    Vitter's algorithm R): once full, the n-th sample replaces a random slot with probability size/n."""

    def __init__(self, max_size: int, obs_dim: int, action_dim: int, seed: Optional[int] = None):
        super().__init__(max_size, obs_dim, action_dim, seed)
        self.num_seen = 0

    def _write_index(self) -> int:
        self.num_seen += 1
        if self._size < self.max_size:
            i = self._size
            self._size += 1
            self._top = self._size % self.max_size
            return i
        j = int(self.rng.integers(0, self.num_seen))
        return j if j < self.max_size else -1

    def add_path(self, path: Dict[str, np.ndarray]) -> None:
        n = len(path["rewards"])
        for t in range(n):
            self.add_sample(*(np.asarray(path[k])[t] if k in path else 0.0 for k in FIELDS))

    def clear(self) -> None:
        super().clear()
        self.num_seen = 0

    def state_dict(self) -> Dict[str, Any]:
        return {**super().state_dict(), "num_seen": self.num_seen}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.num_seen = int(state["num_seen"])
