"""The training loop: per epoch collect -> store -> train -> evaluate -> log a row -> snapshot.

`OnlineRLAlgorithm` interleaves single env steps with gradient steps; `BatchRLAlgorithm` collects a
block of steps, then trains a block. Everything else (warm-up, evaluation, logging, snapshots,
resume) is shared in `RLAlgorithm`.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Optional

import gtimer as gt
import numpy as np
import torch
from tqdm import tqdm

from lifelong_rl.core.logger import Logger
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.samplers.collectors import PathCollector, StepCollector
from lifelong_rl.torch.pytorch_util import rng_state, set_rng_state

SNAPSHOT_FORMAT = 1


class NaNLossError(FloatingPointError):
    """A training loss became NaN or infinite; the last good snapshot is left untouched."""


class RLAlgorithm:
    def __init__(
        self,
        trainer,
        exploration_collector: StepCollector,
        evaluation_collector: Optional[PathCollector],
        replay_buffer: ReplayBuffer,
        logger: Logger,
        variant: Dict[str, Any],
        device: torch.device,
        num_epochs: int,
        batch_size: int,
        num_eval_steps_per_epoch: int,
        num_expl_steps_per_train_loop: int,
        num_trains_per_train_loop: int,
        num_train_loops_per_epoch: int = 1,
        min_num_steps_before_training: int = 0,
        save_replay_buffer: bool = False,
        progress_bar: bool = True,
    ):
        self.trainer = trainer
        self.expl_collector, self.eval_collector = exploration_collector, evaluation_collector
        self.replay_buffer, self.logger, self.variant, self.device = replay_buffer, logger, variant, device
        self.num_epochs, self.batch_size = num_epochs, batch_size
        self.num_eval_steps_per_epoch = num_eval_steps_per_epoch
        self.num_expl_steps_per_train_loop = num_expl_steps_per_train_loop
        self.num_trains_per_train_loop = num_trains_per_train_loop
        self.num_train_loops_per_epoch = num_train_loops_per_epoch
        self.min_num_steps_before_training = min_num_steps_before_training
        self.save_replay_buffer, self.progress_bar = save_replay_buffer, progress_bar
        self.start_epoch = 0
        self._warmed_up = False

    # -- training ---------------------------------------------------------------------------
    def _ready_to_train(self) -> bool:
        return len(self.replay_buffer) >= max(self.batch_size, self.min_num_steps_before_training)

    def _train_step(self) -> None:
        batch = self.replay_buffer.random_batch(self.batch_size)
        self.trainer.train_from_torch(
            {k: torch.from_numpy(v).to(self.device, non_blocking=True) for k, v in batch.items()}
        )
        self._num_train_steps_epoch += 1

    def warm_up(self) -> None:
        """Uniformly random actions until the buffer holds `min_num_steps_before_training` steps."""
        missing = self.min_num_steps_before_training - len(self.replay_buffer)
        if missing > 0:
            self.expl_collector.collect_new_steps(self.replay_buffer, missing, random_action=True)
            self.expl_collector.stats.pop("")  # warm-up episodes are not logged as policy episodes
        self._warmed_up = True

    def collect_and_train(self) -> None:
        """One epoch's exploration and training (no evaluation, logging or snapshot)."""
        self._num_train_steps_epoch = 0
        self._train_time = 0.0
        self._collect_and_train()

    def _collect_and_train(self) -> None:
        raise NotImplementedError

    def _evaluate(self) -> Dict[str, float]:
        if self.eval_collector is None or self.num_eval_steps_per_epoch <= 0:
            return {}
        self.eval_collector.collect_new_paths(self.num_eval_steps_per_epoch, discard_incomplete_paths=True)
        return self.eval_collector.get_diagnostics("evaluation/")

    def train(self) -> None:
        if not self._warmed_up:
            self.warm_up()
        gt.reset_root()
        epochs = range(self.start_epoch, self.num_epochs)
        bar = tqdm(total=self.num_epochs, initial=self.start_epoch, desc="epochs", disable=not self.progress_bar,
                   dynamic_ncols=True, leave=False)
        for epoch in gt.timed_for(epochs, save_itrs=True):
            t0 = time.perf_counter()
            self._begin_epoch(epoch)
            self.collect_and_train()
            gt.stamp("exploration_and_training", unique=False)
            if not self.trainer.losses_finite():  # before a poisoned policy acts in the eval envs
                diag = self.trainer.get_diagnostics()
                raise NaNLossError(
                    f"non-finite loss at epoch {epoch} (QF Loss={diag.get('QF Loss')}, Policy Loss={diag.get('Policy Loss')}); "
                    f"the last snapshot before it is kept"
                )
            eval_stats = self._evaluate()
            gt.stamp("evaluation", unique=False)
            self._end_epoch(epoch, eval_stats)
            row = self._log_epoch(epoch, eval_stats, time.perf_counter() - t0)
            self._save_snapshot(epoch)
            gt.stamp("logging", unique=False)
            bar.update(1)
            bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in row.items()
                             if k in ("evaluation/Average Returns", "evaluation/Success Rate")})
        bar.close()
        self._end_training()

    # Hooks for subclasses (continual learning switches tasks here).
    def _begin_epoch(self, epoch: int) -> None:
        pass

    def _end_epoch(self, epoch: int, eval_stats: Dict[str, float]) -> None:
        pass

    def _end_training(self) -> None:
        pass

    # -- logging ----------------------------------------------------------------------------
    def env_steps_total(self) -> int:
        return self.expl_collector.num_steps_total

    def _log_epoch(self, epoch: int, eval_stats: Dict[str, float], epoch_time: float) -> Dict[str, Any]:
        lg = self.logger
        lg.record_dict({"Epoch": epoch})
        lg.record_dict({"replay_buffer/size": len(self.replay_buffer)})
        lg.record_dict(self.trainer.get_diagnostics(), prefix="trainer/")
        lg.record_dict(self.expl_collector.get_diagnostics("exploration/"))
        lg.record_dict(eval_stats)
        lg.record_dict({"Env Steps Total": self.env_steps_total()})
        times = {k: v[-1] for k, v in gt.get_times().stamps.itrs.items()}
        timings = {f"time/{k} (s)": float(v) for k, v in times.items()}
        timings["time/epoch (s)"] = float(epoch_time)
        timings["time/training (s)"] = self._train_time
        env_steps = self.num_expl_steps_per_train_loop * self.num_train_loops_per_epoch
        timings["time/env steps per s"] = env_steps / max(epoch_time, 1e-9)
        timings["time/updates per s (bare)"] = self._num_train_steps_epoch / max(self._train_time, 1e-9)
        row = lg.dump_tabular(timings)
        shown = [f"{k.split('/')[-1].lower()} {v:.3f}" for k, v in eval_stats.items()
                 if k in ("evaluation/Average Returns", "evaluation/Success Rate", "evaluation/Average Success",
                          "continual/task index")]
        lg.log(f"epoch {epoch}: {', '.join(shown) or 'no evaluation'}, "
               f"{timings['time/env steps per s']:.1f} env steps/s, epoch {epoch_time:.1f}s")
        return row

    # -- snapshots and resume ------------------------------------------------------------------
    def get_snapshot(self, epoch: int) -> Dict[str, Any]:
        snap = {
            "format": SNAPSHOT_FORMAT,
            "epoch": epoch,
            "num_epochs": self.num_epochs,
            "variant": self.variant,
            "trainer": self.trainer.state_dict(),
            "exploration": self.expl_collector.state_dict(),
            "rng": rng_state(),
        }
        if self.save_replay_buffer:
            snap["replay_buffer"] = self.replay_buffer.state_dict()
        else:
            snap["replay_buffer_rng"] = self.replay_buffer.rng_state_dict()
        return snap

    def _save_snapshot(self, epoch: int) -> None:
        if self.logger.snapshot_mode == "none":
            return
        self.logger.save_snapshot(epoch, self.get_snapshot(epoch), is_last=epoch == self.num_epochs - 1)

    def restore(self, snap: Dict[str, Any]) -> None:
        """Continue after the snapshot's epoch. Without a saved buffer, warm-up refills it."""
        self.trainer.load_state_dict(snap["trainer"])
        self.expl_collector.load_state_dict(snap["exploration"])
        if "replay_buffer" in snap:
            self.replay_buffer.load_state_dict(snap["replay_buffer"])
            self._warmed_up = True
        else:
            self.replay_buffer.rng.bit_generator.state = snap["replay_buffer_rng"]["rng"]
            self.logger.log("warning: the snapshot holds no replay buffer, so training goes on from an empty one "
                            "(earlier data is lost; --save-replay-buffer makes snapshots that resume exactly)")
        set_rng_state(snap["rng"])
        self.start_epoch = int(snap["epoch"]) + 1
        dropped = self.logger.truncate_after(int(snap["epoch"]))
        self.logger.log(f"resumed after epoch {snap['epoch']} (dropped {dropped} progress rows logged after it)")


class OnlineRLAlgorithm(RLAlgorithm):
    """rlkit's online loop: every env step is followed by its share of gradient steps."""

    def _collect_and_train(self) -> None:
        trains_per_step = self.num_trains_per_train_loop / max(self.num_expl_steps_per_train_loop, 1)
        for _ in range(self.num_train_loops_per_epoch):
            credit = 0.0
            for _ in range(self.num_expl_steps_per_train_loop):
                self.expl_collector.collect_one_step(self.replay_buffer)
                if not self._ready_to_train():
                    continue
                credit += trains_per_step
                t = time.perf_counter()
                while credit >= 1.0:
                    self._train_step()
                    credit -= 1.0
                self._train_time += time.perf_counter() - t


class BatchRLAlgorithm(RLAlgorithm):
    """rlkit's batch loop: collect a block of env steps, then a block of gradient steps."""

    def _collect_and_train(self) -> None:
        for _ in range(self.num_train_loops_per_epoch):
            self.expl_collector.collect_new_steps(self.replay_buffer, self.num_expl_steps_per_train_loop)
            if not self._ready_to_train():
                continue
            t = time.perf_counter()
            for _ in range(self.num_trains_per_train_loop):
                self._train_step()
            self._train_time += time.perf_counter() - t


LOOPS = {"online": OnlineRLAlgorithm, "batch": BatchRLAlgorithm}
