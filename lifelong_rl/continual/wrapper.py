"""Continual RL as a wrapper around a schedule (any SteppedSchedule): one agent, the tasks of a stream.

An epoch is `eval_every` env steps taken where the task schedule (sequential, expand, multitask;
lifelong_rl.continual.task_schedules) says, each phase starting with `random_steps_per_task`
uniformly random actions and no updates; then every task of the stream, seen or not, is evaluated
(deterministic, K episodes each). The last evaluation of each task is a row of the success matrix;
at the end, metrics.json holds the Continual World metrics. At a task switch the CL strategy
(lifelong_rl.continual.strategies) and the per-task options decide what survives: the buffer,
regulariser anchors, optimizer moments, the entropy coefficient.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

import numpy as np

from lifelong_rl.continual.metrics import continual_metrics
from lifelong_rl.continual.strategies import CLStrategy, TaskContext
from lifelong_rl.continual.task_schedules import TaskSchedule
from lifelong_rl.core.loop import Schedule
from lifelong_rl.core.schedules import SteppedSchedule
from lifelong_rl.samplers.collectors import PathCollector


class ContinualSchedule(Schedule):
    def __init__(
        self,
        inner: SteppedSchedule,
        task_names: List[str],
        tasks: TaskSchedule,
        strategy: CLStrategy,
        eval_collectors: List[PathCollector],
        eval_every: int,
        eval_episodes: int,
        random_steps_per_task: int,
        reset_buffer: bool,
        reset_optimizer: bool,
        reset_entropy: bool,
        method_name: str,
        references: Optional[Dict[str, Dict[str, List[float]]]] = None,
    ):
        self.inner, self.trainer, self.logger = inner, inner.trainer, inner.logger
        self.task_names, self.tasks, self.strategy = task_names, tasks, strategy
        self.eval_collectors, self.eval_every, self.eval_episodes = eval_collectors, eval_every, eval_episodes
        self.random_steps_per_task = random_steps_per_task
        self.reset_buffer, self.reset_optimizer, self.reset_entropy = reset_buffer, reset_optimizer, reset_entropy
        self.method_name, self.references = method_name, references
        self.success_rows: List[List[float]] = []
        self.curves: List[Dict[str, List[float]]] = [{"steps": [], "success": []} for _ in task_names]
        self._last_successes: List[float] = []

    @property
    def steps(self) -> int:
        return self.inner.env_steps

    @property
    def buffer(self):
        return self.inner.buffer

    @property
    def collectors(self):
        return self.inner.collectors

    def _context(self) -> TaskContext:
        return TaskContext(self.trainer, self.inner.buffer, self.inner.device, self.logger.log, self.task_names)

    # -- interaction and training --------------------------------------------------------------
    def start(self) -> None:
        self.logger.log(f"task 0: {self.task_names[0]}" if self.tasks.switches else
                        f"{self.tasks.name}: {len(self.task_names)} tasks in turn", always=True)

    def _start_task(self, task: int) -> None:
        buf = self.inner.buffer
        if self.reset_buffer:
            self.inner.clear_buffers()
        if self.reset_optimizer:
            self.trainer.reset_optimizers()
        if self.reset_entropy:
            self.trainer.reset_entropy()
        self.logger.log(f"task {task}: {self.task_names[task]} (buffer {'reset' if self.reset_buffer else 'kept'}, "
                        f"{len(buf)} samples)", always=True)

    def pick(self, step: int):
        """The collector (the task's env) of env step `step`, and whether it acts at random."""
        return self.inner.collectors[self.tasks.task_at(step)], self.tasks.step_in_phase(step) < self.random_steps_per_task

    def begin_epoch(self) -> None:
        """A task switch, when the epoch starts a new phase (a seed-vectorized run calls it for each seed
        and then steps every seed's inner schedule as one: lifelong_rl/core/lockstep.py)."""
        step = self.steps
        if self.tasks.switches and step > 0 and step % self.tasks.steps_per_task == 0:
            self._start_task(self.tasks.phase(step))

    def train_epoch(self, epoch: int) -> Dict[str, float]:
        self.begin_epoch()
        return self.inner.collect_and_train(self.eval_every, self.pick)

    # -- evaluation and the success matrix -------------------------------------------------------
    def evaluate(self, epoch: int) -> Dict[str, float]:
        out: Dict[str, float] = {}
        successes = []
        for i, (name, col) in enumerate(zip(self.task_names, self.eval_collectors)):
            col.collect_episodes(self.eval_episodes)
            stats = col.get_diagnostics("")
            succ = stats.get("Success Rate", 0.0)
            successes.append(succ)
            out[f"evaluation/{i:02d}_{name}/Success Rate"] = succ
            out[f"evaluation/{i:02d}_{name}/Average Returns"] = stats["Average Returns"]
            self.curves[i]["steps"].append(self.steps)
            self.curves[i]["success"].append(succ)
        step = self.steps - 1  # the last step taken
        out["evaluation/Average Success"] = float(np.mean(successes))
        out["evaluation/Average Success Seen"] = float(np.mean(successes[: self.tasks.seen(step)]))
        out["continual/task index"] = self.tasks.phase(step)
        out["continual/steps"] = self.steps
        self._last_successes = successes
        return out

    def end_epoch(self, epoch: int, row: Dict[str, Any]) -> None:
        if self.steps % self.tasks.steps_per_task:
            return
        k = self.steps // self.tasks.steps_per_task - 1
        self.success_rows.append(list(self._last_successes))
        S = np.array(self.success_rows)
        row["continual/average performance"] = float(S[-1].mean())
        if self.tasks.switches:
            row["continual/forgetting"] = float(np.mean(np.diag(S)[: k + 1] - S[-1, : k + 1]))
            if k < len(self.task_names) - 1:
                self.strategy.on_task_end(self._context(), k)
        self._write_success_matrix()

    def _write_success_matrix(self) -> None:
        with open(os.path.join(self.logger.log_dir, "success_matrix.csv"), "w") as f:
            f.write("after_task," + ",".join(f"{i:02d}_{n}" for i, n in enumerate(self.task_names)) + "\n")
            for k, row in enumerate(self.success_rows):
                f.write(f"{k}," + ",".join(f"{v:.4f}" for v in row) + "\n")

    def diagnostics(self) -> Dict[str, float]:
        return self.inner.diagnostics()

    def env_steps_total(self) -> int:
        return self.steps

    def metrics(self) -> Dict[str, Any]:
        S = np.array(self.success_rows)
        refs = None if self.references is None else [self.references.get(name) for name in self.task_names]
        m = continual_metrics(S, self.curves, self.tasks.steps_per_task, refs)
        if not self.tasks.switches:
            m["forgetting"] = m["forgetting_per_task"] = None  # not defined without a sequence
        if m["forward_transfer"] is None:
            m["forward_transfer_note"] = ("unavailable: no single-task reference curves"
                                          if refs is None else "unavailable: reference missing for some task")
        m.update(tasks=self.task_names, method=self.method_name, steps_per_task=self.tasks.steps_per_task,
                 success_matrix=S.tolist())
        return m

    def finish(self, last_row: Dict[str, Any]) -> Dict[str, Any]:
        m = self.metrics()
        with open(os.path.join(self.logger.log_dir, "metrics.json"), "w") as f:
            json.dump(m, f, indent=2)
        return {"average performance": m["average_performance"], "forgetting": m["forgetting"],
                "forward transfer": m["forward_transfer"]}

    # -- snapshots ---------------------------------------------------------------------------
    def state_dict(self, save_buffer: bool) -> Dict[str, Any]:
        return {"inner": self.inner.state_dict(save_buffer), "success_rows": self.success_rows, "curves": self.curves,
                "strategy": self.strategy.state_dict(),
                "eval_collectors": [c.state_dict() for c in self.eval_collectors]}  # their envs' and policies' generators

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.inner.load_state_dict(state["inner"])
        self.success_rows = [list(r) for r in state["success_rows"]]
        self.curves = state["curves"]
        self.strategy.load_state_dict(state["strategy"])
        for c, s in zip(self.eval_collectors, state.get("eval_collectors", [])):
            c.load_state_dict(s)
        phase = self.tasks.phase(self.steps - 1)
        self.logger.log(f"resumed in task {phase}: {self.task_names[phase]} ({self.steps} env steps)", always=True)
