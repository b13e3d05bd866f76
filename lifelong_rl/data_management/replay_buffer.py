"""Replay buffers over declared fields (lifelong_rl.data_management.fields).

`terminals` holds true termination only (the MDP ended: no bootstrap). Time-limit truncation is
not a terminal: off-policy methods bootstrap through it. `timeouts` is kept for analysis and datasets.
Every buffer samples with its own numpy Generator, seeded from the run's child seed for it and
saved in snapshots.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import numpy as np
import torch

from lifelong_rl.data_management.fields import Field


class ReplayBuffer:
    """A ring buffer: once full, each new sample overwrites the oldest."""

    def __init__(self, max_size: int, fields: Mapping[str, Field], seed: Optional[int] = None):
        if max_size <= 0:
            raise ValueError(f"replay buffer size must be positive, got {max_size}")
        self.max_size = int(max_size)
        self.fields: Dict[str, Field] = dict(fields)
        for name, f in self.fields.items():
            setattr(self, name, np.zeros((self.max_size, *f.shape), dtype=f.dtype))
        self._top = 0  # next write position
        self._size = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self._size

    def _check(self, sample: Mapping[str, Any]) -> None:
        if sample.keys() == self.fields.keys():  # every env step: the cheap comparison first
            return
        unknown, missing = set(sample) - set(self.fields), set(self.fields) - set(sample)
        if unknown or missing:
            raise ValueError(f"sample fields do not match the buffer's: unknown {sorted(unknown)}, missing {sorted(missing)}")

    def add_sample(self, **sample: Any) -> None:
        """One transition, every declared field by name."""
        self._check(sample)
        i = self._write_index()
        if i < 0:
            return
        for name, value in sample.items():
            getattr(self, name)[i] = value

    def _write_index(self) -> int:
        """Where the next sample goes (ring: the oldest slot); -1 to drop it."""
        i = self._top
        self._top = (i + 1) % self.max_size
        self._size = min(self._size + 1, self.max_size)
        return i

    def add_path(self, path: Mapping[str, np.ndarray]) -> None:
        """A batch of transitions (arrays with a leading time axis), one sample at a time."""
        self._check(path)
        n = len(path["rewards"])
        for t in range(n):
            self.add_sample(**{k: np.asarray(v)[t] for k, v in path.items()})

    def add_batch(self, **batch: np.ndarray) -> None:
        """Many transitions at once (arrays with a leading sample axis, reshaped to each field's
        shape), written as add_sample would write them one by one."""
        self._check(batch)
        n = len(batch["observations"])
        if n == 0:
            return
        if type(self)._write_index is not ReplayBuffer._write_index:  # a buffer with its own placement
            for i in range(n):
                self.add_sample(**{k: v[i] for k, v in batch.items()})
            return
        idx = (self._top + np.arange(n)) % self.max_size
        if n > self.max_size:  # only the last max_size survive, as one by one
            idx, batch = idx[-self.max_size:], {k: v[-self.max_size:] for k, v in batch.items()}
        for name, value in batch.items():
            getattr(self, name)[idx] = np.asarray(value).reshape(len(idx), *self.fields[name].shape)
        self._top = int((self._top + n) % self.max_size)
        self._size = min(self._size + n, self.max_size)

    def random_indices(self, batch_size: int) -> np.ndarray:
        if self._size == 0:
            raise RuntimeError("cannot sample from an empty replay buffer")
        return self.rng.integers(0, self._size, size=batch_size)

    def random_batch(self, batch_size: int, window: int = 0) -> Dict[str, np.ndarray]:
        """A uniform sample of every field; with `window` > 0, of the `window` samples written last."""
        if window:
            back = self.rng.integers(0, min(window, self._size), size=batch_size)
            idx = (self._top - 1 - back) % self.max_size
        else:
            idx = self.random_indices(batch_size)
        return {k: getattr(self, k)[idx] for k in self.fields}

    def task_indices(self, task_id: int) -> np.ndarray:
        return np.flatnonzero(self.task_ids[: self._size] == task_id)

    def clear(self) -> None:
        self._top = self._size = 0

    # -- snapshots ---------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """The stored samples (only the filled part, as tensors: a snapshot can be opened memory-mapped
        without reading them), write position and sampling RNG."""
        return {
            "max_size": self.max_size,
            "top": self._top,
            "size": self._size,
            "rng": self.rng.bit_generator.state,
            "data": {k: torch.from_numpy(getattr(self, k)[: self._size].copy()) for k in self.fields},
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        if state["max_size"] != self.max_size:
            raise ValueError(f"buffer size mismatch: snapshot {state['max_size']}, buffer {self.max_size}")
        if set(state["data"]) != set(self.fields):
            raise ValueError(f"buffer fields mismatch: snapshot {sorted(state['data'])}, buffer {sorted(self.fields)}")
        self._top, self._size = int(state["top"]), int(state["size"])
        for k, v in state["data"].items():
            getattr(self, k)[: self._size] = np.asarray(v)
        self.rng.bit_generator.state = state["rng"]

    def rng_state_dict(self) -> Dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}


class ReservoirReplayBuffer(ReplayBuffer):
    """Fixed-size buffer holding a uniform sample of everything ever added (reservoir sampling,
    Vitter's algorithm R): once full, the n-th sample replaces a random slot with probability size/n."""

    def __init__(self, max_size: int, fields: Mapping[str, Field], seed: Optional[int] = None):
        super().__init__(max_size, fields, seed)
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

    def clear(self) -> None:
        super().clear()
        self.num_seen = 0

    def state_dict(self) -> Dict[str, Any]:
        return {**super().state_dict(), "num_seen": self.num_seen}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.num_seen = int(state["num_seen"])
