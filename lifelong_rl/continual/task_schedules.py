"""Task schedules of a continual run: which task's env takes each env step.

- sequential: task k for steps [k * D, (k + 1) * D) (D = steps per task), one task at a time;
- expand: phase k lasts D steps and takes its steps from tasks 0..k in turn (the tasks seen so far);
- multitask: every task in turn from the first step, for the same N * D steps (the upper reference).

A task switch (sequential, expand) happens when a phase begins; the CL strategy and the
per-task options act there. Everything is a function of the global env step, so a resumed run
switches exactly where an uninterrupted one does.
"""
from __future__ import annotations

from typing import Dict, Type

from lifelong_rl.variants import ConfigError


class TaskSchedule:
    name = ""
    switches = True  # phases follow one another (task switches happen)

    def __init__(self, num_tasks: int, steps_per_task: int):
        self.num_tasks, self.steps_per_task = num_tasks, steps_per_task
        self.total_steps = num_tasks * steps_per_task

    def phase(self, step: int) -> int:
        """The phase (current task) at a global env step."""
        return min(step // self.steps_per_task, self.num_tasks - 1)

    def task_at(self, step: int) -> int:
        """The task whose env takes this step."""
        return self.phase(step)

    def step_in_phase(self, step: int) -> int:
        return step - self.phase(step) * self.steps_per_task

    def seen(self, step: int) -> int:
        """How many tasks have been trained on by this step."""
        return self.phase(step) + 1


class Sequential(TaskSchedule):
    name = "sequential"


class Expand(TaskSchedule):
    name = "expand"

    def task_at(self, step: int) -> int:
        return step % (self.phase(step) + 1)


class Multitask(TaskSchedule):
    name = "multitask"
    switches = False

    def phase(self, step: int) -> int:
        return 0

    def task_at(self, step: int) -> int:
        return step % self.num_tasks

    def seen(self, step: int) -> int:
        return self.num_tasks


TASK_SCHEDULES: Dict[str, Type[TaskSchedule]] = {c.name: c for c in (Sequential, Expand, Multitask)}


def make_task_schedule(name: str, num_tasks: int, steps_per_task: int) -> TaskSchedule:
    if name not in TASK_SCHEDULES:
        raise ConfigError(f"unknown task schedule '{name}'; valid: {', '.join(TASK_SCHEDULES)}")
    return TASK_SCHEDULES[name](num_tasks, steps_per_task)
