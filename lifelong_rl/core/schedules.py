"""Schedules: what one epoch of the generic loop (lifelong_rl.core.loop) does.

`SteppedSchedule` is a schedule whose env steps all go through `collect_and_train(num_steps,
pick)`, where `pick(env_step) -> (collector, random_action)` names the collector (the env) of each
step and whether it acts at random: one collector for a single task, the task schedule's choice in a
continual run. The continual wrapper (lifelong_rl.continual.wrapper) drives any SteppedSchedule.

Implemented:
- `OffPolicySchedule` (SAC, TD3, DDPG, HER): env steps into a replay buffer, each
  step followed by its share of updates (`updates_per_step`), or a block of steps then a block of
  updates (`train_every`).
- `OnPolicySchedule` (PPO, NPG, VPG): vector steps of a VectorCollector (one gymnasium.vector env
  per task, chosen through `pick`) into a RolloutBuffer; a full rollout gets GAE and the trainer's
  update; the observation / reward normaliser is the trainer's (its state is the policy's).
- `ModelBasedSchedule` (PETS-style MPC, MBPO, LOOP): the off-policy step loop plus a fit of the
  dynamics model every N env steps and (MBPO) model rollouts into a second buffer; the ensemble and
  its optimizer are in the trainer's state dict, the model buffer in the schedule's.

- `OfflineSchedule` (MOPO, MOReL, behaviour cloning, the offline phase before an online one, and
  the collective framework's transformer and distillation):
  no env steps; the buffer holds the datasets from agent_data/, loaded when the run is built (so a
  resume has them too); an epoch is a number of updates, with (MOPO, MOReL) a model fitted to the
  data before the first and penalised model rollouts every N updates; evaluation as off-policy.

Reset-free runs (lifelong envs, LiSP; `algorithm_kwargs/reset_free`) are the off-policy and
model-based schedules with a ResetFreeCollector (lifelong_rl.samplers.collectors): one reset at the
start, resets only where the env demands one (counted), the simulator's state in the snapshot; the
diagnostics add resets needed, reward per step and the env's task.
"""
from __future__ import annotations

import abc
import math
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from lifelong_rl.core.logger import Logger, SnapshotError
from lifelong_rl.core.loop import Schedule
from lifelong_rl.samplers.collectors import EpisodeStats, PathCollector, StepCollector

Pick = Callable[[int], Tuple[StepCollector, bool]]
EnvStepHook = Callable[[int, Any], None]


def evaluation_row(collector: Optional[PathCollector], episodes: int,
                   reference: Optional[Tuple[float, float]]) -> Dict[str, float]:
    """`episodes` evaluation episodes; with the env's reference returns (random, expert), D4RL's
    normalised score of their average return as "evaluation/Normalized Score"."""
    if collector is None or episodes < 1:
        return {}
    collector.collect_episodes(episodes)
    row = collector.get_diagnostics("evaluation/")
    if reference is not None and "evaluation/Average Returns" in row:
        lo, hi = reference
        row["evaluation/Normalized Score"] = 100.0 * (row["evaluation/Average Returns"] - lo) / (hi - lo)
    return row


def final_summary(last_row: Dict[str, Any]) -> Dict[str, Any]:
    """The summary of a run's last evaluation: return, normalised score and success where logged."""
    out = {"final evaluation return": last_row.get("evaluation/Average Returns")}
    if "evaluation/Normalized Score" in last_row:
        out["normalized score"] = last_row["evaluation/Normalized Score"]
    if "evaluation/Success Rate" in last_row:
        out["success"] = last_row["evaluation/Success Rate"]
    return out


class SteppedSchedule(Schedule):
    """A schedule that takes every env step through `collect_and_train(num_steps, pick)`. What the
    continual wrapper reads of it: `trainer`, `buffer`, `collectors` (one per task), `env_steps`,
    `device`, `logger`."""

    buffer: Any
    collectors: List[StepCollector]
    env_steps: int
    device: torch.device
    eval_collector: Optional[PathCollector]
    eval_episodes: int
    reference: Optional[Tuple[float, float]] = None  # the env's (random, expert) returns, set by the builder

    @abc.abstractmethod
    def collect_and_train(self, num_steps: int, pick: Pick) -> Dict[str, float]:
        """`num_steps` env steps, each from the collector `pick(env_steps)` names, with the updates
        they earn; returns {"updates", "train_time", "env_steps"}."""

    def evaluate(self, epoch: int) -> Dict[str, float]:
        return evaluation_row(self.eval_collector, self.eval_episodes, self.reference)

    def env_steps_total(self) -> int:
        return self.env_steps

    def clear_buffers(self) -> None:
        """Empty the run's data (a continual task switch that resets the buffer)."""
        self.buffer.clear()

    def diagnostics(self) -> Dict[str, float]:
        """The exploration episodes since the last call, and the collectors' totals (a reset-free
        collector's: resets needed, reward per step, its env's task)."""
        row = {**self.collectors[0].stats.pop("exploration/"),  # one EpisodeStats for every collector of a stream
               "exploration/num steps total": sum(c.num_steps_total for c in self.collectors),
               "exploration/num paths total": sum(c.num_paths_total for c in self.collectors)}
        for c in self.collectors:
            row.update(c.pop_lifelong())
        return row

    def finish(self, last_row: Dict[str, Any]) -> Dict[str, Any]:
        out = final_summary(last_row)
        out["env steps"] = self.env_steps
        return out


class OffPolicySchedule(SteppedSchedule):
    def __init__(
        self,
        trainer,
        buffer,
        collectors: Sequence[StepCollector],
        eval_collector: Optional[PathCollector],
        logger: Logger,
        device: torch.device,
        batch_size: int,
        steps_per_epoch: int,
        updates_per_step: float = 1.0,
        train_every: int = 1,
        warmup_steps: int = 0,
        eval_episodes: int = 1,
        env_step_hook: Optional[EnvStepHook] = None,
    ):
        self.trainer, self.buffer, self.logger, self.device = trainer, buffer, logger, device
        self.collectors: List[StepCollector] = list(collectors)
        self.stats: EpisodeStats = self.collectors[0].stats  # shared by every collector of a stream
        self.eval_collector, self.eval_episodes = eval_collector, eval_episodes
        self.batch_size, self.steps_per_epoch = batch_size, steps_per_epoch
        self.updates_per_step, self.train_every, self.warmup_steps = updates_per_step, train_every, warmup_steps
        self.env_step_hook = env_step_hook  # hook(env_steps_total, buffer) after every env step
        self.env_steps = 0
        self._refill = False

    # -- interaction and training --------------------------------------------------------------
    def start(self) -> None:
        """Uniformly random actions until the buffer holds `warmup_steps` samples (not logged as episodes)."""
        missing = self.warmup_steps - len(self.buffer)
        if missing > 0:
            self.collect_and_train(missing, lambda step: (self.collectors[0], True))
            self.stats.pop("")
        self._refill = False

    def collect_and_train(self, num_steps: int, pick: Pick) -> Dict[str, float]:
        """`num_steps` env steps, each from the collector `pick(env_steps)` names; updates follow
        steps taken by the policy once the buffer holds a batch."""
        ready, updates, train_time = 0, 0, 0.0
        for i in range(num_steps):
            collector, random_action = pick(self.env_steps)
            self.env_step(collector, random_action)
            self.env_steps += 1
            self.after_env_step()
            if random_action or len(self.buffer) < self.batch_size:
                continue
            ready += 1
            if (i + 1) % self.train_every:
                continue
            t = time.perf_counter()
            due = math.floor(ready * self.updates_per_step + 1e-9)  # floor without float drift (50 x 0.2 = 10)
            for _ in range(due - updates):
                self.train_step()
            updates = due
            train_time += time.perf_counter() - t
        return {"updates": updates, "train_time": train_time, "env_steps": num_steps}

    def env_step(self, collector: StepCollector, random_action: bool) -> None:
        collector.collect_one_step(self.buffer, random_action)

    def after_env_step(self) -> None:
        if self.env_step_hook is not None:
            self.env_step_hook(self.env_steps, self.buffer)

    def sample_batch(self) -> Dict[str, Any]:
        return self.buffer.random_batch(self.batch_size)

    def train_step(self) -> None:
        batch = self.sample_batch()
        self.trainer.train_from_torch({k: torch.from_numpy(v).to(self.device, non_blocking=True) for k, v in batch.items()})

    def train_epoch(self, epoch: int) -> Dict[str, float]:
        if self._refill:
            self.start()
        return self.collect_and_train(self.steps_per_epoch, lambda step: (self.collectors[0], False))

    def diagnostics(self) -> Dict[str, float]:
        return {"replay_buffer/size": len(self.buffer), **super().diagnostics()}

    # -- snapshots -------------------------------------------------------------------------------
    def state_dict(self, save_buffer: bool) -> Dict[str, Any]:
        return {
            "env_steps": self.env_steps,
            "buffer": self.buffer.state_dict() if save_buffer else None,
            "buffer_rng": None if save_buffer else self.buffer.rng_state_dict(),  # the saved buffer holds it
            "collectors": [c.state_dict() for c in self.collectors],
            "eval_collector": None if self.eval_collector is None else self.eval_collector.state_dict(),
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.env_steps = int(state["env_steps"])
        for c, s in zip(self.collectors, state["collectors"]):
            c.load_state_dict(s)
        if self.eval_collector is not None:
            self.eval_collector.load_state_dict(state["eval_collector"])
        if state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])
        else:
            self.buffer.rng.bit_generator.state = state["buffer_rng"]["rng"]
            self._refill = True
            self.logger.log(f"the snapshot holds no replay buffer: the first epoch refills it with {self.warmup_steps} "
                            "random steps (the run is no longer the uninterrupted one; --save-replay-buffer "
                            "makes snapshots that resume exactly)", always=True)


class ModelBasedSchedule(OffPolicySchedule):
    """The off-policy step loop of a model-based method (PETS-style MPC, MBPO, LOOP): uniformly random
    warm-up steps, then a fit of the dynamics model on the whole real buffer, again every
    `model_train_every` env steps; with `rollouts` (MBPO) branched model rollouts after the first fit
    and every `rollouts.rollout_every` env steps, and batches mixing real and model data. `planners`:
    the MPC policies whose planning time per env step is logged. The trainer is a
    ModelBasedTrainer (the model's fit, and the policy's trainer if the method has one, which
    updates `updates_per_step` times per env step)."""

    MIN_FIT_SAMPLES = 10

    def __init__(self, *args, model_train_every: int, rollouts=None, planners: Sequence = (), **kwargs):
        """OffPolicySchedule's arguments, and the model's."""
        super().__init__(*args, **kwargs)
        self.model_train_every, self.rollouts, self.planners = model_train_every, rollouts, list(planners)
        self._times = {"time/model fit (s)": 0.0, "time/model rollouts (s)": 0.0}
        self._in_warmup = False

    def start(self) -> None:
        self._in_warmup = True  # no fits between the warm-up's random steps
        super().start()
        self._in_warmup = False
        self.fit_model()
        self.generate_rollouts()

    def fit_model(self) -> None:
        """The model on every real transition of the buffer."""
        b = self.buffer
        if len(b) < self.MIN_FIT_SAMPLES:
            return
        n = len(b)
        t = time.perf_counter()
        self.trainer.dynamics.fit(b.observations[:n], b.actions[:n], b.rewards[:n], b.terminals[:n],
                                  b.next_observations[:n])
        self._times["time/model fit (s)"] += time.perf_counter() - t

    def after_env_step(self) -> None:
        if self._in_warmup:
            return
        if self.env_steps % self.model_train_every == 0:
            self.fit_model()
        if self.rollouts is not None and self.env_steps % self.rollouts.rollout_every == 0:
            self.generate_rollouts()

    def generate_rollouts(self) -> None:
        """MBPO: fresh branched rollouts into the model buffer."""
        if self.rollouts is None:
            return
        t = time.perf_counter()
        self.rollouts.generate(self.buffer, self.env_steps)
        self._times["time/model rollouts (s)"] += time.perf_counter() - t

    def sample_batch(self) -> Dict[str, Any]:
        return self.buffer.random_batch(self.batch_size) if self.rollouts is None else \
            self.rollouts.batch(self.buffer, self.batch_size)

    def clear_buffers(self) -> None:
        super().clear_buffers()
        if self.rollouts is not None:  # the old task's model rollouts go too
            self.rollouts.buffer.clear()

    def collect_and_train(self, num_steps: int, pick: Pick) -> Dict[str, float]:
        info = super().collect_and_train(num_steps, pick)
        times = [p.pop_planning_time() for p in self.planners]
        if any(x is not None for x in times):
            info["time/planning per env step (s)"] = max(x for x in times if x is not None)
        info.update(self.pop_times())
        return info

    def pop_times(self) -> Dict[str, float]:
        """Seconds spent fitting the model and generating rollouts since the last call."""
        times, self._times = self._times, dict.fromkeys(self._times, 0.0)
        return times

    def diagnostics(self) -> Dict[str, float]:
        return {**super().diagnostics(), **({} if self.rollouts is None else self.rollouts.diagnostics())}

    def state_dict(self, save_buffer: bool) -> Dict[str, Any]:
        state = super().state_dict(save_buffer)
        state["rollouts"] = None if self.rollouts is None else self.rollouts.state_dict(save_buffer)
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.rollouts is not None:  # without a saved buffer, the refill's start() makes fresh rollouts
            self.rollouts.load_state_dict(state["rollouts"])


class OfflineSchedule(Schedule):
    """Updates on a buffer filled from datasets, and evaluation episodes; no env steps. With `model`
    (the run's ModelBasedSchedule, whose model fit and rollouts it uses: MOPO, MOReL), the model is
    fitted to the whole buffer before the first epoch, and model rollouts are generated then and
    every `rollouts.rollout_every` updates; batches mix real and model data as MBPO's. The buffer is
    not in the snapshots (the run rebuilds it from the datasets); the model buffer is."""

    def __init__(self, trainer, buffer, eval_collector: Optional[PathCollector], logger: Logger, device: torch.device,
                 batch_size: int, updates_per_epoch: int, eval_episodes: int = 1,
                 model: Optional[ModelBasedSchedule] = None, reference: Optional[Tuple[float, float]] = None,
                 data_fingerprint: str = "", evaluate_fn: Optional[Callable[[], Dict[str, float]]] = None):
        """`data_fingerprint`: a hash of the datasets in the buffer, checked on resume. `evaluate_fn`:
        the evaluation columns of a method with no policy to run (a representation's held-out scores)."""
        self.evaluate_fn = evaluate_fn
        self.trainer, self.buffer, self.logger, self.device = trainer, buffer, logger, device
        self.data_fingerprint = data_fingerprint
        self.eval_collector, self.eval_episodes, self.reference = eval_collector, eval_episodes, reference
        self.batch_size, self.updates_per_epoch, self.model = batch_size, updates_per_epoch, model
        self.rollouts = None if model is None else model.rollouts
        self.updates = 0

    def start(self) -> None:
        if self.model is not None:
            self.model.fit_model()
            self.model.generate_rollouts()

    def train_epoch(self, epoch: int) -> Dict[str, float]:
        train_time = 0.0
        for _ in range(self.updates_per_epoch):
            if self.rollouts is not None and self.updates and self.updates % self.rollouts.rollout_every == 0:
                self.model.generate_rollouts()
            t = time.perf_counter()
            batch = self.buffer.random_batch(self.batch_size) if self.rollouts is None else \
                self.rollouts.batch(self.buffer, self.batch_size)
            self.trainer.train_from_torch({k: torch.from_numpy(v).to(self.device, non_blocking=True) for k, v in batch.items()})
            train_time += time.perf_counter() - t
            self.updates += 1
        return {"updates": self.updates_per_epoch, "train_time": train_time, "env_steps": 0,
                **({} if self.model is None else self.model.pop_times())}

    def evaluate(self, epoch: int) -> Dict[str, float]:
        if self.evaluate_fn is not None:
            return self.evaluate_fn()
        return evaluation_row(self.eval_collector, self.eval_episodes, self.reference)

    def diagnostics(self) -> Dict[str, float]:
        return {"replay_buffer/size": len(self.buffer), "offline/updates total": self.updates,
                **({} if self.rollouts is None else self.rollouts.diagnostics())}

    def env_steps_total(self) -> int:
        return 0

    def finish(self, last_row: Dict[str, Any]) -> Dict[str, Any]:
        out = final_summary(last_row)
        out["updates"] = self.updates
        return out

    def state_dict(self, save_buffer: bool) -> Dict[str, Any]:
        return {"updates": self.updates, "buffer_rng": self.buffer.rng_state_dict(), "data": self.data_fingerprint,
                "rollouts": None if self.rollouts is None else self.rollouts.state_dict(save_buffer),
                "eval_collector": None if self.eval_collector is None else self.eval_collector.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        if state["data"] != self.data_fingerprint:
            raise SnapshotError("the data this run learns from (offline_kwargs/teacher_data_files, or a collective "
                                "stage's inputs) is not what it started with (remade or replaced since): start a new run")
        self.updates = int(state["updates"])
        self.buffer.rng.bit_generator.state = state["buffer_rng"]["rng"]
        if self.eval_collector is not None:
            self.eval_collector.load_state_dict(state["eval_collector"])
        if self.rollouts is not None:
            self.rollouts.load_state_dict(state["rollouts"])
            if state["rollouts"]["buffer"] is None:
                self.logger.log("the snapshot holds no model buffer: new model rollouts (the run is no longer the "
                                "uninterrupted one; --save-replay-buffer makes snapshots that resume exactly)", always=True)
                self.model.generate_rollouts()


class OnPolicySchedule(SteppedSchedule):
    """Rollouts of `buffer.num_steps` vector steps, each followed by GAE and the trainer's
    `train_on_rollout`. An epoch is a whole number of rollouts, so snapshots fall between rollouts."""

    def __init__(self, trainer, buffer, collectors: Sequence, eval_collector: Optional[PathCollector],
                 logger: Logger, device: torch.device, steps_per_epoch: int, eval_episodes: int = 1):
        self.trainer, self.buffer, self.logger, self.device = trainer, buffer, logger, device
        self.collectors = list(collectors)
        self.eval_collector, self.eval_episodes, self.steps_per_epoch = eval_collector, eval_episodes, steps_per_epoch
        self.env_steps = 0
        self._rollout_collector = None

    def collect_and_train(self, num_steps: int, pick: Pick) -> Dict[str, float]:
        """Vector steps until `num_steps` env steps; a rollout comes from one collector (task)."""
        updates, train_time, start = 0, 0.0, self.env_steps
        while self.env_steps - start < num_steps:
            collector, _ = pick(self.env_steps)
            if self.buffer.pos and collector is not self._rollout_collector:
                raise RuntimeError("an on-policy rollout may not span two tasks: make steps per task a multiple of "
                                   "the rollout's env steps")
            self._rollout_collector = collector
            collector.collect_one_step(self.buffer)
            self.env_steps += collector.num_envs
            if self.buffer.full:
                t = time.perf_counter()
                self.buffer.compute_returns_and_advantages(collector.last_values(), self.buffer.data["final_values"])
                self.trainer.train_on_rollout(self.buffer)
                self.buffer.reset()
                updates += 1
                train_time += time.perf_counter() - t
        return {"updates": updates, "train_time": train_time, "env_steps": self.env_steps - start}

    def train_epoch(self, epoch: int) -> Dict[str, float]:
        return self.collect_and_train(self.steps_per_epoch, lambda step: (self.collectors[0], False))

    def state_dict(self, save_buffer: bool) -> Dict[str, Any]:
        """The rollout buffer is always kept, whatever `save_buffer` says: a rollout in progress (a
        continual epoch may end inside one) is part of the run's state, and it is small."""
        return {"env_steps": self.env_steps, "buffer": self.buffer.state_dict(),
                "collectors": [c.state_dict() for c in self.collectors],
                "rollout_collector": self.collectors.index(self._rollout_collector) if self._rollout_collector else None,
                "eval_collector": None if self.eval_collector is None else self.eval_collector.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.env_steps = int(state["env_steps"])
        self.buffer.load_state_dict(state["buffer"])
        for c, s in zip(self.collectors, state["collectors"]):
            c.load_state_dict(s)
        i = state["rollout_collector"]
        self._rollout_collector = None if i is None else self.collectors[i]
        if self.eval_collector is not None:
            self.eval_collector.load_state_dict(state["eval_collector"])
