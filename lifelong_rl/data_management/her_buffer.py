"""Hindsight Experience Replay's buffer (Andrychowicz et al. 2017, "Hindsight Experience Replay"):
the `future` strategy, applied when a batch is sampled.

Each stored transition keeps the achieved goal of its next state (`achieved_goals`, from the
env's info). A sampled transition i of an episode is relabelled with probability k / (k + 1)
(k relabels per original transition): its goal becomes the achieved goal of a transition j >= i of
the same episode, drawn uniformly (the episode so far, for one still running), the goal part of
its observation and next observation is replaced, and its reward is recomputed by the env's
`compute_reward(achieved goal of s_{i+1}, new goal)`. Terminals stay as stored: the goal envs here
(MetaWorld goal tasks, Fetch) never terminate; an env that ends its episode on success (a maze with
`continuing_task=False`) would need them recomputed too, which this buffer does not do. Observations are [observation, desired goal] (lifelong_rl.envs.goal_env.FlatGoalEnv).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional

import numpy as np
import torch

from lifelong_rl.data_management.fields import Field
from lifelong_rl.data_management.replay_buffer import ReplayBuffer

RewardFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


class HERReplayBuffer(ReplayBuffer):
    def __init__(self, max_size: int, fields: Mapping[str, Field], goal_dim: int, reward_fn: RewardFn,
                 relabels_per_transition: int = 4, seed: Optional[int] = None):
        if "achieved_goals" not in fields:
            raise ValueError("a HER buffer needs the field 'achieved_goals' (the next state's achieved goal)")
        super().__init__(max_size, fields, seed)
        self.goal_dim, self.reward_fn = goal_dim, reward_fn
        self.relabel_prob = relabels_per_transition / (relabels_per_transition + 1.0)
        # Episode bookkeeping, by slot: the transition's step number (counting every sample ever
        # added) and the step number of its episode's last transition (-1 while it runs).
        self.step_no = np.zeros(self.max_size, np.int64)
        self.episode_end = np.full(self.max_size, -1, np.int64)
        self._steps, self._episode_start = 0, 0

    def add_sample(self, **sample: Any) -> None:
        i = self._top
        super().add_sample(**sample)
        self.step_no[i], self.episode_end[i] = self._steps, -1
        if float(sample["terminals"]) or float(sample["timeouts"]):
            n = self._steps - self._episode_start + 1
            self.episode_end[(i - np.arange(min(n, self.max_size))) % self.max_size] = self._steps
            self._episode_start = self._steps + 1
        self._steps += 1

    def future_indices(self, idx: np.ndarray) -> np.ndarray:
        """For each slot, a slot of the same episode at the same or a later step, uniformly."""
        end = np.where(self.episode_end[idx] >= 0, self.episode_end[idx], self._steps - 1)
        offset = np.floor(self.rng.random(len(idx)) * (end - self.step_no[idx] + 1)).astype(np.int64)
        return (idx + offset) % self.max_size

    def random_batch(self, batch_size: int) -> Dict[str, np.ndarray]:
        idx = self.random_indices(batch_size)
        batch = {k: getattr(self, k)[idx] for k in self.fields}
        relabel = np.flatnonzero(self.rng.random(batch_size) < self.relabel_prob)
        if len(relabel):
            goals = self.achieved_goals[self.future_indices(idx[relabel])]
            for key in ("observations", "next_observations"):
                batch[key][relabel, -self.goal_dim:] = goals
            batch["rewards"][relabel, 0] = self.reward_fn(batch["achieved_goals"][relabel], goals)
        return batch

    def clear(self) -> None:
        super().clear()
        self._episode_start = self._steps

    def state_dict(self) -> Dict[str, Any]:
        n = self._size
        return {**super().state_dict(), "steps": self._steps, "episode_start": self._episode_start,
                "step_no": torch.from_numpy(self.step_no[:n].copy()), "episode_end": torch.from_numpy(self.episode_end[:n].copy())}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._steps, self._episode_start = int(state["steps"]), int(state["episode_start"])
        n = self._size
        self.step_no[:n], self.episode_end[:n] = np.asarray(state["step_no"]), np.asarray(state["episode_end"])
