"""The generic training loop: epochs, evaluation, logging, the NaN guard, snapshots and resume.

What an epoch does between them is a `Schedule` (lifelong_rl.core.schedules): off-policy replay,
and later on-policy rollouts, model-based fits, offline datasets, reset-free interaction; the
continual wrapper (lifelong_rl.continual.wrapper) is a schedule around another one. Per epoch:

    schedule.train_epoch -> NaN guard -> schedule.evaluate -> schedule.end_epoch -> log a row -> snapshot

A snapshot holds the variant, the epoch, the trainer's and the schedule's state (buffers, env
random states, episodes in progress, counters) and the global RNG states, so a run resumed from it
writes the same progress.csv as an uninterrupted one.
"""
from __future__ import annotations

import abc
import time
from typing import Any, Dict, List, Optional

import gtimer as gt
from tqdm import tqdm

from lifelong_rl.core.logger import Logger, SnapshotError
from lifelong_rl.torch.pytorch_util import rng_state, set_rng_state

SNAPSHOT_FORMAT = 2
SHOWN = ("evaluation/Average Returns", "evaluation/Success Rate", "evaluation/Average Success",
         "evaluation/Nearest Centroid Accuracy")  # on the bar and log lines


class NaNLossError(FloatingPointError):
    """A training loss became NaN or infinite; the last good snapshot is left untouched."""


class Schedule(abc.ABC):
    """One epoch of an algorithm's interaction and training, and its share of a snapshot.

    Hooks, in the order the loop calls them:
      start()                      once, before the first epoch of a new run (e.g. random warm-up)
      train_epoch(epoch) -> dict   collect and train; returns {"updates": n, "train_time": s, "env_steps": n}
      evaluate(epoch) -> dict      evaluation/... columns of the row
      end_epoch(epoch, row)        after evaluation, may add columns (continual: the success matrix)
      diagnostics() -> dict        exploration/..., buffer/... columns
      finish() -> dict             after the last epoch: the run's summary (also written where it belongs)
      state_dict(save_buffer) / load_state_dict(state)
    """

    trainer: Any
    logger: Logger

    def start(self) -> None:
        pass

    @abc.abstractmethod
    def train_epoch(self, epoch: int) -> Dict[str, float]: ...

    @abc.abstractmethod
    def evaluate(self, epoch: int) -> Dict[str, float]: ...

    def end_epoch(self, epoch: int, row: Dict[str, Any]) -> None:
        pass

    @abc.abstractmethod
    def diagnostics(self) -> Dict[str, float]: ...

    @abc.abstractmethod
    def env_steps_total(self) -> int: ...

    @abc.abstractmethod
    def finish(self, last_row: Dict[str, Any]) -> Dict[str, Any]: ...

    @abc.abstractmethod
    def state_dict(self, save_buffer: bool) -> Dict[str, Any]: ...

    @abc.abstractmethod
    def load_state_dict(self, state: Dict[str, Any]) -> None: ...


def summary_line(summary: Dict[str, Any]) -> str:
    """'key value, ...' with floats to 3 decimals and None as n/a."""
    def fmt(v):
        return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k} {fmt(v)}" for k, v in summary.items())


class TrainingLoop:
    def __init__(self, schedule: Schedule, logger: Logger, variant: Dict[str, Any], num_epochs: int,
                 save_buffer: bool = False, progress_bar: bool = True, phase: str = ""):
        """`phase`: "" for an online run or phase, "offline_" for an offline phase (its tables and
        snapshots get the prefix, its snapshots say so)."""
        self.schedule, self.logger, self.variant = schedule, logger, variant
        self.num_epochs, self.save_buffer, self.progress_bar = num_epochs, save_buffer, progress_bar
        self.phase, self.step_offset = phase, 0  # step_offset: epochs of the phases before this one
        self.start_epoch = 0
        self.summary: Dict[str, Any] = {}
        # Where the run's random streams live: the global generators, or (one seed of a
        # seed-vectorized run) that seed's own; and what else its snapshots hold.
        self.get_rng_state, self.set_rng_state = rng_state, set_rng_state
        self.snapshot_extras: Dict[str, Any] = {"phase": phase}
        self.staged: List[str] = []  # snapshot paths written by `record(commit=False)`, not yet in place

    @property
    def trainer(self):
        return self.schedule.trainer

    def train(self) -> Dict[str, Any]:
        """Run the remaining epochs; returns the run's summary."""
        self.logger.set_phase(self.phase, self.step_offset)
        if self.start_epoch == 0:
            self.schedule.start()
        gt.reset_root()
        bar = tqdm(total=self.num_epochs, initial=self.start_epoch, desc="epochs", disable=not self.progress_bar,
                   dynamic_ncols=True, leave=False)
        row: Dict[str, Any] = {}
        for epoch in gt.timed_for(range(self.start_epoch, self.num_epochs), save_itrs=True):
            t0 = time.perf_counter()
            info = self.schedule.train_epoch(epoch)
            gt.stamp("exploration_and_training", unique=False)
            self.check_finite(epoch)  # before a poisoned policy acts in the evaluation envs
            row = self.evaluate(epoch)
            gt.stamp("evaluation", unique=False)
            row = self.record(epoch, row, info, time.perf_counter() - t0)
            gt.stamp("logging", unique=False)
            bar.update(1)
            bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in row.items() if k in SHOWN})
        bar.close()
        return self.finish(row)

    # -- the steps of an epoch after training (a seed-vectorized loop calls them for every seed) ---
    def check_finite(self, epoch: int) -> None:
        if not self.trainer.losses_finite():
            diag = self.trainer.get_diagnostics()
            losses = ", ".join(f"{k}={v}" for k, v in diag.items() if k.endswith("Loss"))
            raise NaNLossError(f"non-finite loss at epoch {epoch} ({losses}); the last snapshot before it is kept")

    def evaluate(self, epoch: int) -> Dict[str, Any]:
        row = self.schedule.evaluate(epoch)
        self.schedule.end_epoch(epoch, row)
        return row

    def record(self, epoch: int, row: Dict[str, Any], info: Dict[str, float], epoch_time: float,
               commit: bool = True) -> Dict[str, Any]:
        """Log the epoch's row and save its snapshot (left at <path>.tmp in `self.staged` without
        `commit`); returns the logged row."""
        row = self._log_epoch(epoch, row, info, epoch_time)
        self.staged = self._save_snapshot(epoch, commit)
        return row

    def finish(self, last_row: Dict[str, Any]) -> Dict[str, Any]:
        if not last_row:  # resumed a finished run
            return self.summary
        self.summary = self.schedule.finish(last_row)
        self.logger.log(f"summary: {summary_line(self.summary)}", always=True)
        return self.summary

    # -- logging ----------------------------------------------------------------------------
    def _log_epoch(self, epoch: int, eval_stats: Dict[str, Any], info: Dict[str, float], epoch_time: float) -> Dict[str, Any]:
        lg = self.logger
        lg.record_dict({"Epoch": epoch})
        lg.record_dict(self.trainer.get_diagnostics(), prefix="trainer/")
        lg.record_dict(self.schedule.diagnostics())
        lg.record_dict(eval_stats)
        lg.record_dict({"Env Steps Total": self.schedule.env_steps_total()})
        times = {k: v[-1] for k, v in gt.get_times().stamps.itrs.items()}
        timings = {f"time/{k} (s)": float(v) for k, v in times.items()}
        timings["time/epoch (s)"] = float(epoch_time)
        timings["time/training (s)"] = info.get("train_time", 0.0)
        timings["time/env steps per s"] = info.get("env_steps", 0) / max(epoch_time, 1e-9)
        timings["time/updates per s (bare)"] = info.get("updates", 0) / max(info.get("train_time", 0.0), 1e-9)
        timings.update({k: v for k, v in info.items() if k.startswith("time/")})  # a schedule's own timings
        row = lg.dump_tabular(timings)
        shown = [f"{k.split('/')[-1].lower()} {v:.3f}" for k, v in eval_stats.items() if k in SHOWN]
        planning = timings.get("time/planning per env step (s)")
        lg.log(f"epoch {epoch}: {', '.join(shown) or 'no evaluation'}, "
               f"{timings['time/env steps per s']:.1f} env steps/s, epoch {epoch_time:.1f}s"
               + (f", planning {1000 * planning:.1f} ms per env step" if planning is not None else ""))
        return row

    # -- snapshots and resume ------------------------------------------------------------------
    def get_snapshot(self, epoch: int) -> Dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "epoch": epoch,
            "num_epochs": self.num_epochs,
            "variant": self.variant,
            "trainer": self.trainer.state_dict(),
            "schedule": self.schedule.state_dict(self.save_buffer),
            "buffer_saved": self.save_buffer,
            "rng": self.get_rng_state(),
            **self.snapshot_extras,
        }

    def _save_snapshot(self, epoch: int, commit: bool = True) -> List[str]:
        if self.logger.snapshot_mode == "none":
            return []
        return self.logger.save_snapshot(epoch, self.get_snapshot(epoch), epoch == self.num_epochs - 1, commit)

    def restore(self, snap: Dict[str, Any]) -> None:
        """Continue after the snapshot's epoch, dropping progress rows logged after it."""
        self.logger.set_phase(self.phase, self.step_offset)
        self.trainer.load_state_dict(snap["trainer"])
        self.schedule.load_state_dict(snap["schedule"])
        self.set_rng_state(snap["rng"])
        self.start_epoch = int(snap["epoch"]) + 1
        dropped = self.logger.truncate_after(int(snap["epoch"]))
        self.logger.log(f"resumed after {self.phase}epoch {snap['epoch']} (dropped {dropped} {self.phase}progress rows "
                        "logged after it)", always=True)


class PhasedLoop:
    """An offline phase (updates on the datasets in the buffer, no env steps) then an online phase,
    as Lu et al.'s offline-then-online runs: two TrainingLoops sharing the trainer and the buffer, in
    one run dir (offline_progress.csv and offline_itr_<n>.pt, then progress.csv and itr_<n>.pt). A
    phase with no epochs is skipped. A resume continues in the phase its snapshot was written in."""

    def __init__(self, offline: TrainingLoop, online: Optional[TrainingLoop] = None):
        """`online`: None for a method that has no online phase (behaviour cloning)."""
        self.phases = [loop for loop in (offline, online) if loop is not None and loop.num_epochs > 0] or [offline]
        if len(self.phases) == 2:
            online.step_offset = offline.num_epochs
        self.current = 0
        self.summary: Dict[str, Any] = {}

    # What callers read of a loop: the last phase's (the run's final networks, buffer and epochs).
    @property
    def last(self) -> TrainingLoop:
        return self.phases[-1]

    @property
    def trainer(self):
        return self.last.trainer

    @property
    def schedule(self) -> Schedule:
        return self.last.schedule

    @property
    def logger(self) -> Logger:
        return self.last.logger

    @property
    def num_epochs(self) -> int:
        return self.last.num_epochs

    def restore(self, snap: Dict[str, Any]) -> None:
        phase = snap.get("phase", "")
        self.current = next((i for i, loop in enumerate(self.phases) if loop.phase == phase), None)
        if self.current is None:
            raise SnapshotError(f"the snapshot is of a '{phase or 'online'}' phase, which this run does not have")
        for later in self.phases[self.current + 1:]:  # its rows were logged after the snapshot
            later.logger.set_phase(later.phase, later.step_offset)
            later.logger.truncate_after(-1)
        self.phases[self.current].restore(snap)

    def train(self) -> Dict[str, Any]:
        """Run the remaining phases; the summary is the last one's, after the offline phase's
        ("offline ..." keys) when both ran in this call."""
        summaries = [loop.train() for loop in self.phases[self.current:]]
        self.summary = {**{f"offline {k}": v for k, v in summaries[0].items() if len(summaries) > 1},
                        **summaries[-1]}
        return self.summary
