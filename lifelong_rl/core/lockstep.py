"""Seed-vectorized runs: N seeds of one configuration trained in lockstep in one process.

Each seed keeps everything a separate run has (its own envs, buffer, collectors, evaluation,
logger, run dir and snapshots: an ordinary OffPolicySchedule, its "lane", inside the seed's
TrainingLoop, directly or under a continual wrapper); only the compute is shared: one stacked
policy forward picks every seed's action at an env step, and one stacked trainer
(lifelong_rl/trainers/seed_stacking.py) does every seed's update at once. The seeds take the same
env steps and updates (the same task at the same step), so they stay in step by construction.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Sequence

import gtimer as gt
import numpy as np
import torch
from tqdm import tqdm

from lifelong_rl.continual.wrapper import ContinualSchedule
from lifelong_rl.core.logger import SnapshotError, commit_snapshots
from lifelong_rl.core.loop import SHOWN, NaNLossError, TrainingLoop
from lifelong_rl.core.schedules import OffPolicySchedule
from lifelong_rl.samplers.collectors import StepCollector


class LockstepOffPolicySchedule(OffPolicySchedule):
    """Drives the seeds' OffPolicySchedules (`lanes`) as one: the step / update interleaving of
    OffPolicySchedule, with every env step taken in every lane (one batched action from `policy`,
    a StackedTanhGaussianPolicy) and every update a stacked one on the lanes' stacked batches."""

    def __init__(self, lanes: Sequence[OffPolicySchedule], trainer, policy, wrappers: Sequence[ContinualSchedule] = ()):
        """`wrappers`: the seeds' continual wrappers when the lanes are their inner schedules."""
        first = lanes[0]
        super().__init__(trainer, first.buffer, first.collectors, None, first.logger, first.device,
                         batch_size=first.batch_size, steps_per_epoch=first.steps_per_epoch,
                         updates_per_step=first.updates_per_step, train_every=first.train_every,
                         warmup_steps=first.warmup_steps, eval_episodes=0)
        self.lanes, self.policy, self.wrappers = list(lanes), policy, list(wrappers)
        if any(lane.env_step_hook is not None for lane in self.lanes):
            raise ValueError("lockstep seeds take no per-step hooks")

    def start(self) -> None:
        for schedule in self.wrappers or self.lanes:  # the random warm-up of a single task: nothing to batch
            schedule.start()
        self.env_steps = self.lanes[0].env_steps

    def train_epoch(self, epoch: int) -> Dict[str, float]:
        if any(lane._refill for lane in self.lanes):
            self.start()
        self.env_steps = self.lanes[0].env_steps
        if self.wrappers:  # each seed's task switch, then the epoch's steps of all seeds as one
            for w in self.wrappers:
                w.begin_epoch()
            return self.collect_and_train(self.wrappers[0].eval_every, self.wrappers[0].pick)
        return self.collect_and_train(self.steps_per_epoch, lambda step: (self.collectors[0], False))

    def env_step(self, collector: StepCollector, random_action: bool) -> None:
        j = self.collectors.index(collector)  # the same env (task) in every lane
        collectors = [lane.collectors[j] for lane in self.lanes]
        actions = None if random_action else self.policy.get_actions(np.stack([c.observation() for c in collectors]))
        for k, (lane, c) in enumerate(zip(self.lanes, collectors)):
            c.collect_one_step(lane.buffer, random_action, None if actions is None else actions[k])
            lane.env_steps += 1

    def train_step(self) -> None:
        batches = [lane.buffer.random_batch(self.batch_size) for lane in self.lanes]  # each lane's own sampler
        self.trainer.train_from_torch({k: torch.from_numpy(np.stack([b[k] for b in batches])).to(self.device)
                                       for k in batches[0]})


class LockstepLoop:
    """The epochs of N seeds' TrainingLoops (`loops`, one per seed: its logger, evaluation and
    snapshots) around one LockstepOffPolicySchedule. An epoch's snapshots of all seeds are written
    first, then committed in passes (lifelong_rl.core.logger.commit_snapshots), so a run killed at
    any point resumes every seed from one common epoch."""

    def __init__(self, schedule: LockstepOffPolicySchedule, loops: Sequence[TrainingLoop], progress_bar: bool = True):
        self.schedule, self.loops, self.progress_bar = schedule, list(loops), progress_bar

    @property
    def start_epoch(self) -> int:
        return self.loops[0].start_epoch

    def restore(self, snaps: Sequence[Dict[str, Any]]) -> None:
        epochs = sorted({int(s["epoch"]) for s in snaps})
        if len(epochs) > 1:
            raise SnapshotError(f"the seeds' snapshots are from different epochs {epochs}: resume from the latest "
                                "epoch they all have (lifelong_rl.core.logger.common_snapshots)")
        for loop, snap in zip(self.loops, snaps):
            loop.restore(snap)

    def train(self) -> List[Dict[str, Any]]:
        """Run the remaining epochs of every seed; returns their summaries."""
        first = self.loops[0]
        if self.start_epoch == 0:
            self.schedule.start()
        gt.reset_root()
        bar = tqdm(total=first.num_epochs, initial=self.start_epoch, desc=f"epochs ({len(self.loops)} seeds)",
                   disable=not self.progress_bar, dynamic_ncols=True, leave=False)
        rows: List[Dict[str, Any]] = [{} for _ in self.loops]
        for epoch in gt.timed_for(range(self.start_epoch, first.num_epochs), save_itrs=True):
            t0 = time.perf_counter()
            info = self.schedule.train_epoch(epoch)
            gt.stamp("exploration_and_training", unique=False)
            for loop in self.loops:  # before a poisoned policy acts in the evaluation envs; one stops all
                try:
                    loop.check_finite(epoch)
                except NaNLossError as e:
                    raise NaNLossError(f"seed {loop.variant['seed']}: {e}") from None
            rows = [loop.evaluate(epoch) for loop in self.loops]
            gt.stamp("evaluation", unique=False)
            elapsed = time.perf_counter() - t0
            rows = [loop.record(epoch, row, info, elapsed, commit=False) for loop, row in zip(self.loops, rows)]
            commit_snapshots([p for loop in self.loops for p in loop.staged])
            gt.stamp("logging", unique=False)
            bar.update(1)
            bar.set_postfix({k.split("/")[-1]: f"{np.mean([r[k] for r in rows]):.3g}" for k in rows[0] if k in SHOWN})
        bar.close()
        return [loop.finish(row) for loop, row in zip(self.loops, rows)]
