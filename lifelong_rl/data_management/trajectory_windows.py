"""Windows of recorded episodes, the trajectory transformer's data: every state of every episode
ends one window (lifelong_rl/models/trajectory_transformer.py `window_at`), labelled with its task."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from lifelong_rl.data_management.datasets import OfflineDataset
from lifelong_rl.models.trajectory_transformer import WindowBatch, stack_windows, window_at


def episodes_of(data: OfflineDataset) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(states [T+1, obs], actions [T, act], rewards [T]) of each episode of a dataset."""
    out = []
    for a, b in data.episode_bounds():
        states = np.concatenate([data.observations[a:b], data.next_observations[b - 1:b]])
        out.append((states, data.actions[a:b], data.rewards[a:b]))
    return out


class TrajectoryWindows:
    """The windows of some episodes of several tasks, sampled with their own generator (a buffer
    as the OfflineSchedule reads one: `random_batch`, `rng`, `rng_state_dict`)."""

    def __init__(self, episodes: Sequence[Tuple[np.ndarray, np.ndarray, np.ndarray]], task_ids: Sequence[int],
                 window: int, seed: int = 0):
        self.episodes, self.episode_tasks, self.window = list(episodes), np.asarray(task_ids, np.int64), window
        self.index = np.array([(e, t) for e, (s, _, _) in enumerate(self.episodes) for t in range(len(s))], np.int64)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.index)

    def windows(self, rows: np.ndarray) -> Dict[str, np.ndarray]:
        w = stack_windows([window_at(*self.episodes[e], t, self.window) for e, t in self.index[rows]])
        return {**w._asdict(), "task_ids": self.episode_tasks[self.index[rows, 0]]}

    def random_batch(self, batch_size: int) -> Dict[str, np.ndarray]:
        return self.windows(self.rng.integers(0, len(self.index), batch_size))

    def rng_state_dict(self) -> Dict[str, object]:
        return {"rng": self.rng.bit_generator.state}

    def all_windows(self) -> Tuple[WindowBatch, np.ndarray]:
        """Every window in order (episode by episode, t = 0 .. T) and its task id."""
        d = self.windows(np.arange(len(self.index)))
        return WindowBatch(d["states"], d["actions"], d["rewards"], d["valid"]), d["task_ids"]


def split_episodes(datasets: Sequence[OfflineDataset], held_out: float) -> Tuple[list, list, list, list]:
    """Each task's episodes split into training ones and its last `held_out` fraction (at least
    one when a task has two or more): (train episodes, their task ids, held-out, their task ids)."""
    train, train_ids, test, test_ids = [], [], [], []
    for task, data in enumerate(datasets):
        eps = episodes_of(data)
        k = min(len(eps) - 1, max(1, int(round(held_out * len(eps))))) if held_out > 0 and len(eps) > 1 else 0
        train += eps[:len(eps) - k]
        train_ids += [task] * (len(eps) - k)
        test += eps[len(eps) - k:]
        test_ids += [task] * k
    return train, train_ids, test, test_ids
