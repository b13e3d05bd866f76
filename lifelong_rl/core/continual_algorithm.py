"""Continual RL: one agent trained on the tasks of a stream one after another.

An epoch is `eval_every` env steps on the current task (`steps_per_task` per task, each task
starting with `random_steps_per_task` uniformly random actions and no updates), then an
evaluation of every task of the stream, seen or not (deterministic, K episodes each). The last
evaluation of each task is a row of the success matrix. At a task switch the CL method decides
what survives: the buffer (reset / kept / reservoir), regulariser anchors (L2, EWC); options reset
the optimizers and the entropy coefficient. `multitask` trains on all tasks at once instead,
taking env steps from the tasks in turn, for the same total number of steps; `expand` trains on
tasks 0..k in turn during phase k (the tasks seen so far).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch

from lifelong_rl.continual.methods import CLMethod
from lifelong_rl.continual.metrics import continual_metrics
from lifelong_rl.continual.regularizers import ParameterRegularizer, actor_fisher, critic_fisher
from lifelong_rl.core.rl_algorithm import RLAlgorithm
from lifelong_rl.samplers.collectors import PathCollector, StepCollector


class ContinualRLAlgorithm(RLAlgorithm):
    def __init__(
        self,
        trainer,
        task_names: List[str],
        exploration_collectors: List[StepCollector],
        evaluation_collectors: List[PathCollector],
        replay_buffer,
        logger,
        variant: Dict[str, Any],
        device: torch.device,
        method: CLMethod,
        steps_per_task: int,
        eval_every: int,
        eval_episodes: int,
        episode_length: int,
        batch_size: int,
        updates_per_step: float = 1.0,
        random_steps_per_task: int = 1000,
        reset_buffer: bool = True,
        reset_optimizer: bool = True,
        reset_entropy: bool = True,
        policy_regularizer: Optional[ParameterRegularizer] = None,
        qf_regularizer: Optional[ParameterRegularizer] = None,
        fisher_samples: int = 1024,
        references: Optional[Dict[str, Dict[str, List[float]]]] = None,
        save_replay_buffer: bool = False,
        progress_bar: bool = True,
        env_step_hook: Optional[Callable[[int, Any], None]] = None,
    ):
        num_tasks = len(task_names)
        super().__init__(
            trainer, exploration_collectors[0], None, replay_buffer, logger, variant, device,
            num_epochs=num_tasks * steps_per_task // eval_every, batch_size=batch_size, num_eval_steps_per_epoch=0,
            num_expl_steps_per_train_loop=eval_every, num_trains_per_train_loop=int(round(eval_every * updates_per_step)),
            min_num_steps_before_training=0, save_replay_buffer=save_replay_buffer, progress_bar=progress_bar,
        )
        self.task_names, self.num_tasks, self.method = task_names, num_tasks, method
        self.expl_collectors, self.eval_collectors = exploration_collectors, evaluation_collectors
        self.steps_per_task, self.eval_every, self.eval_episodes = steps_per_task, eval_every, eval_episodes
        self.episode_length, self.updates_per_step = episode_length, updates_per_step
        self.random_steps_per_task = random_steps_per_task
        self.reset_buffer, self.reset_optimizer, self.reset_entropy = reset_buffer, reset_optimizer, reset_entropy
        self.trainer.policy_regularizer, self.trainer.qf_regularizer = policy_regularizer, qf_regularizer
        self.fisher_samples = fisher_samples
        self.references = references
        self.env_step_hook = env_step_hook  # called as hook(total_steps, replay_buffer) after each env step
        self.total_steps = 0
        self.task_index = 0
        self.success_rows: List[List[float]] = []
        self.curves: List[Dict[str, List[float]]] = [{"steps": [], "success": []} for _ in task_names]
        self._warmed_up = True  # each task begins with its own random steps instead
        if method.multitask:  # all tasks explore in turn: one set of episode statistics for them all
            for col in exploration_collectors[1:]:
                col.stats = exploration_collectors[0].stats

    def env_steps_total(self) -> int:
        return self.total_steps

    # -- task switches -----------------------------------------------------------------------
    def _task_of_step(self, step: int) -> int:
        return min(step // self.steps_per_task, self.num_tasks - 1)

    def _begin_epoch(self, epoch: int) -> None:
        if self.method.multitask:
            return
        task = self._task_of_step(self.total_steps)
        if task == self.task_index and self.expl_collector is self.expl_collectors[task]:
            return
        self.task_index = task
        self.expl_collector = self.expl_collectors[task]
        self.expl_collector.end_episode()
        if self.reset_buffer:
            self.replay_buffer.clear()
        if self.reset_optimizer:
            self.trainer.reset_optimizers()
        if self.reset_entropy:
            self.trainer.reset_entropy()
        self.logger.log(f"task {task}: {self.task_names[task]} (buffer {'reset' if self.reset_buffer else 'kept'}, "
                        f"{len(self.replay_buffer)} samples)")

    def _collect_and_train(self) -> None:
        credit = 0.0
        for _ in range(self.eval_every):
            step_in_task = self.total_steps % self.steps_per_task if not self.method.multitask else self.total_steps
            random_phase = step_in_task < self.random_steps_per_task
            if self.method.multitask:
                self.expl_collector = self.expl_collectors[self.total_steps % self.num_tasks]
            elif self.method.expand:  # phase k explores tasks 0..k in turn
                self.expl_collector = self.expl_collectors[self.total_steps % (self.task_index + 1)]
            self.expl_collector.collect_one_step(self.replay_buffer, random_action=random_phase)
            self.total_steps += 1
            if self.env_step_hook is not None:
                self.env_step_hook(self.total_steps, self.replay_buffer)
            if random_phase or len(self.replay_buffer) < self.batch_size:
                continue
            credit += self.updates_per_step
            t = time.perf_counter()
            while credit >= 1.0:
                self._train_step()
                credit -= 1.0
            self._train_time += time.perf_counter() - t

    # -- evaluation and the success matrix -------------------------------------------------------
    def _evaluate(self) -> Dict[str, float]:
        out: Dict[str, float] = {}
        successes = []
        for i, (name, col) in enumerate(zip(self.task_names, self.eval_collectors)):
            col.collect_new_paths(self.eval_episodes * self.episode_length, discard_incomplete_paths=True)
            stats = col.get_diagnostics("")
            succ = stats.get("Success Rate", 0.0)
            successes.append(succ)
            out[f"evaluation/{i:02d}_{name}/Success Rate"] = succ
            out[f"evaluation/{i:02d}_{name}/Average Returns"] = stats.get("Average Returns", float("nan"))
            self.curves[i]["steps"].append(self.total_steps)
            self.curves[i]["success"].append(succ)
        seen = self.num_tasks if self.method.multitask else self.task_index + 1
        out["evaluation/Average Success"] = float(np.mean(successes))
        out["evaluation/Average Success Seen"] = float(np.mean(successes[:seen]))
        out["continual/task index"] = self.task_index
        out["continual/steps"] = self.total_steps
        self._last_successes = successes
        return out

    def _end_epoch(self, epoch: int, eval_stats: Dict[str, float]) -> None:
        if self.total_steps % self.steps_per_task != 0:
            return
        k = self.total_steps // self.steps_per_task - 1
        self.success_rows.append(list(self._last_successes))
        S = np.array(self.success_rows)
        eval_stats["continual/average performance"] = float(S[-1].mean())
        if not self.method.multitask:
            eval_stats["continual/forgetting"] = float(np.mean(np.diag(S)[: k + 1] - S[-1, : k + 1]))
            if k < self.num_tasks - 1:
                self._consolidate(k)
        self._write_success_matrix()

    def _consolidate(self, task: int) -> None:
        """At the end of a task: anchor the regularisers (EWC: add this task's Fisher)."""
        pr, qr = self.trainer.policy_regularizer, self.trainer.qf_regularizer
        if pr is None and qr is None:
            return
        fisher_p = fisher_q = None
        if self.method.regularizer == "ewc":
            idx = self.replay_buffer.task_indices(task)
            idx = self.replay_buffer.rng.choice(idx, size=min(self.fisher_samples, len(idx)), replace=False)
            obs = torch.from_numpy(self.replay_buffer.observations[idx]).to(self.device)
            act = torch.from_numpy(self.replay_buffer.actions[idx]).to(self.device)
            noise = torch.randn(len(idx), act.shape[1], device=self.device)
            fisher_p = actor_fisher(self.trainer.policy, obs, noise)
            fisher_q = critic_fisher(self.trainer.qfs, obs, act) if qr is not None else None
        pr.consolidate(fisher_p)
        if qr is not None:
            qr.consolidate(fisher_q)
        self.logger.log(f"consolidated {self.method.regularizer} after task {task} ({self.task_names[task]})")

    def _write_success_matrix(self) -> None:
        path = os.path.join(self.logger.log_dir, "success_matrix.csv")
        with open(path, "w") as f:
            f.write("after_task," + ",".join(f"{i:02d}_{n}" for i, n in enumerate(self.task_names)) + "\n")
            for k, row in enumerate(self.success_rows):
                f.write(f"{k}," + ",".join(f"{v:.4f}" for v in row) + "\n")

    def metrics(self) -> Dict[str, Any]:
        S = np.array(self.success_rows)
        refs = None
        if self.references is not None:
            refs = [self.references.get(name) for name in self.task_names]
        m = continual_metrics(S, self.curves, self.steps_per_task, refs)
        if self.method.multitask:
            m["forgetting"] = m["forgetting_per_task"] = None  # not defined without a sequence
        if m["forward_transfer"] is None:
            m["forward_transfer_note"] = ("unavailable: no single-task reference curves"
                                          if refs is None else "unavailable: reference missing for some task")
        m.update(tasks=self.task_names, method=self.method.name, steps_per_task=self.steps_per_task,
                 success_matrix=S.tolist())
        return m

    def _end_training(self) -> None:
        m = self.metrics()
        with open(os.path.join(self.logger.log_dir, "metrics.json"), "w") as f:
            json.dump(m, f, indent=2)
        ft = "unavailable" if m["forward_transfer"] is None else f"{m['forward_transfer']:.3f}"
        fg = "n/a" if m["forgetting"] is None else f"{m['forgetting']:.3f}"
        self.logger.log(f"continual metrics: average performance {m['average_performance']:.3f}, "
                        f"forgetting {fg}, forward transfer {ft}")

    # -- snapshots ---------------------------------------------------------------------------
    def get_snapshot(self, epoch: int) -> Dict[str, Any]:
        snap = super().get_snapshot(epoch)
        pr, qr = self.trainer.policy_regularizer, self.trainer.qf_regularizer
        snap["continual"] = {
            "total_steps": self.total_steps,
            "task_index": self.task_index,
            "success_rows": self.success_rows,
            "curves": self.curves,
            "collectors": [c.state_dict() for c in self.expl_collectors],
            "policy_regularizer": None if pr is None else pr.state_dict(),
            "qf_regularizer": None if qr is None else qr.state_dict(),
        }
        return snap

    def restore(self, snap: Dict[str, Any]) -> None:
        c = snap["continual"]
        for col, state in zip(self.expl_collectors, c["collectors"]):
            col.load_state_dict(state)
        self.task_index = int(c["task_index"])
        self.expl_collector = self.expl_collectors[self.task_index]
        super().restore(snap)
        self._warmed_up = True
        self.total_steps = int(c["total_steps"])
        self.success_rows = [list(r) for r in c["success_rows"]]
        self.curves = c["curves"]
        for reg, state in ((self.trainer.policy_regularizer, c["policy_regularizer"]),
                           (self.trainer.qf_regularizer, c["qf_regularizer"])):
            if reg is not None and state is not None:
                reg.load_state_dict(state)
