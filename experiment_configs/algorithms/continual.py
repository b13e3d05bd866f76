"""Assembly of a continual run on a MetaWorld task stream, for any continual algorithm: one env
per task for exploration and one for evaluation (each with its own child seed; the two of a task
share its goal), the strategy's buffer, the agent, the off-policy schedule and the continual
wrapper around it."""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

import gymnasium as gym

from experiment_configs.common import Run, check_buffer_size
from lifelong_rl.continual.strategies import CLStrategy
from lifelong_rl.continual.task_schedules import make_task_schedule
from lifelong_rl.continual.wrapper import ContinualSchedule
from lifelong_rl.core.loop import TrainingLoop
from lifelong_rl.core.schedules import OffPolicySchedule
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.data_management.fields import transition_fields
from lifelong_rl.envs.make_env import make_env
from lifelong_rl.envs.streams import stream_episode_length, stream_tasks
from lifelong_rl.envs.wrappers import TaskIdWrapper
from lifelong_rl.samplers.collectors import EpisodeStats, PathCollector, StepCollector
from lifelong_rl.variants import ConfigError, Param, Schema

RESET_BUFFER = ("auto", "reset", "keep")


def continual_schema() -> Schema:
    """The `continual` group every continual algorithm shares."""
    return {
        "stream": Param("cw10", "cw10, cw20, mt10, legion10, or a comma-separated list of MetaWorld v3 tasks", "str"),
        "num_tasks": Param(0, "keep the stream's first N tasks; 0: all", "int", low=0),
        "steps_per_task": Param(100_000, "env steps per task", "int", low=1),
        "eval_every": Param(10_000, "env steps between evaluations of every task (one epoch)", "int", low=1),
        # A MetaWorld task keeps one goal per run and the evaluation policy is deterministic, so
        # repeated evaluation episodes are exact copies; more only pay off with new_goal_each_episode.
        "eval_episodes": Param(1, "deterministic evaluation episodes per task", "int", low=1),
        "new_goal_each_episode": Param(False, "draw one of MetaWorld's 50 goals at every reset (train and eval)", "bool"),
        "episode_length": Param(0, "0: 200 on the CW streams (as CW), else MetaWorld's 500", "int", low=0),
        "random_steps_per_task": Param(5000, "uniformly random actions, no updates, at each task's start", "int", low=0),
        "reset_buffer": Param("auto", "at a task switch: the method's choice, reset or keep", "str", choices=RESET_BUFFER),
        "reset_optimizer": Param(True, "fresh Adam states at each task switch", "bool"),
        "reset_entropy": Param(True, "entropy coefficient back to its initial value at each task switch", "bool"),
        "references": Param("", "JSON of single-task reference curves for forward transfer", "str"),
    }


def check_stream(variant: Dict[str, Any]) -> None:
    """Cross-field checks shared by every continual off-policy algorithm."""
    check_stream_keys(variant)
    check_buffer_size(variant)


def check_stream_keys(variant: Dict[str, Any]) -> None:
    """The `continual` group's cross-field checks, shared by every continual algorithm."""
    c = variant["continual"]
    stream_tasks(c["stream"], c["num_tasks"] or None)
    if c["steps_per_task"] % c["eval_every"]:
        raise ConfigError(f"continual/steps_per_task ({c['steps_per_task']}) must be a multiple of continual/eval_every ({c['eval_every']})")
    if c["random_steps_per_task"] > c["steps_per_task"]:
        raise ConfigError(f"continual/random_steps_per_task ({c['random_steps_per_task']}) exceeds continual/steps_per_task ({c['steps_per_task']})")
    load_references(c["references"], c["steps_per_task"])


def num_epochs(variant: Dict[str, Any]) -> int:
    c = variant["continual"]
    return len(stream_tasks(c["stream"], c["num_tasks"] or None)) * c["steps_per_task"] // c["eval_every"]


def load_references(path: str, steps_per_task: int) -> Optional[Dict[str, Dict[str, list]]]:
    """Single-task reference curves {task: {steps, success}} (scripts/continual_references.py)."""
    if not path:
        return None
    try:
        with open(path) as f:
            data = json.load(f)
        tasks = data["tasks"]
    except FileNotFoundError:
        raise ConfigError(f"continual/references: file not found: {path}") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"continual/references: {path} is not a references JSON (scripts/continual_references.py)") from None
    if data.get("steps_per_task") != steps_per_task:
        raise ConfigError(f"references {path} were run with {data.get('steps_per_task')} steps per task, not {steps_per_task}")
    return tasks


def stream_envs(variant: Dict[str, Any], seeds: RunSeeds, role: str, one_hot: bool,
                env_seed: Optional[int] = None) -> Tuple[List[str], List[gym.Env], int]:
    """The stream's tasks, one env per task for `role` (exploration, evaluation) with the one-hot
    task id appended if asked, and the episode length."""
    tasks, length = stream_tasks_and_length(variant)
    return tasks, [stream_env(variant, seeds, role, one_hot, i, env_seed) for i in range(len(tasks))], length


def stream_tasks_and_length(variant: Dict[str, Any]) -> Tuple[List[str], int]:
    c = variant["continual"]
    return stream_tasks(c["stream"], c["num_tasks"] or None), c["episode_length"] or stream_episode_length(c["stream"])


def stream_env(variant: Dict[str, Any], seeds: RunSeeds, role: str, one_hot: bool, i: int,
               env_seed: Optional[int] = None) -> gym.Env:
    """Task i's env for `role`: its own child seed (or `env_seed + i`), the task's goal seed."""
    c = variant["continual"]
    tasks, length = stream_tasks_and_length(variant)
    seed = seeds.child(f"env/{role}/{i}") if env_seed is None else env_seed + i
    env = make_env(f"metaworld/{tasks[i]}", seed, max_path_length=length, goal_seed=seeds.child(f"goal/{i}"),
                   new_goal_each_episode=c["new_goal_each_episode"])
    return TaskIdWrapper(env, i, len(tasks)) if one_hot else env


# (variant, obs_dim, action_dim, device, tasks, strategy) -> {"trainer", "task_policies": [(explore, evaluate)],
#  optionally "env_step_hook"}
StreamAgentBuilder = Callable[..., Dict[str, Any]]


def build_continual(run: Run, make_agent: StreamAgentBuilder, strategy: CLStrategy, task_schedule: str,
                    one_hot: bool, method_name: str, schedule_class: type = OffPolicySchedule) -> Tuple[TrainingLoop, List[gym.Env]]:
    """The continual loop of an off-policy method; the agent's optional "schedule_kwargs" go to
    `schedule_class` (ModelBasedSchedule for the model-based methods, whose MPC has no updates and
    so no batch_size / updates_per_step keys)."""
    v, c = run.variant, run.variant["continual"]
    tasks, expl_envs, length = stream_envs(v, run.seeds, "exploration", one_hot)
    _, eval_envs, _ = stream_envs(v, run.seeds, "evaluation", one_hot)
    obs_dim, action_dim = expl_envs[0].observation_space.shape[0], expl_envs[0].action_space.shape[0]
    buffer = strategy.make_buffer(v["replay_buffer_size"], transition_fields(obs_dim, action_dim), run.seeds.child("buffer"))
    agent = make_agent(v, obs_dim, action_dim, run.device, tasks, strategy)
    stats = EpisodeStats()  # one set of exploration statistics for every task's collector
    collectors = [StepCollector(e, agent["task_policies"][i][0], length, task_id=i, stats=stats) for i, e in enumerate(expl_envs)]
    ak = v["algorithm_kwargs"]
    inner = schedule_class(agent["trainer"], buffer, collectors, None, run.logger, run.device,
                           batch_size=ak.get("batch_size", 1), steps_per_epoch=c["eval_every"],
                           updates_per_step=ak.get("updates_per_step", 0.0), env_step_hook=agent.get("env_step_hook"),
                           **agent.get("schedule_kwargs", {}))
    eval_collectors = [PathCollector(e, agent["task_policies"][i][1], length) for i, e in enumerate(eval_envs)]
    return continual_loop(run, inner, tasks, eval_collectors, strategy, task_schedule, method_name), expl_envs + eval_envs


def continual_loop(run: Run, inner, tasks: List[str], eval_collectors: List[PathCollector], strategy: CLStrategy,
                   task_schedule: str, method_name: str) -> TrainingLoop:
    """The continual wrapper around a stream's inner SteppedSchedule, and the loop."""
    v, c = run.variant, run.variant["continual"]
    reset_buffer = {"auto": strategy.reset_buffer, "reset": True, "keep": False}[c["reset_buffer"]]
    schedule = ContinualSchedule(
        inner, tasks, make_task_schedule(task_schedule, len(tasks), c["steps_per_task"]), strategy, eval_collectors,
        eval_every=c["eval_every"], eval_episodes=c["eval_episodes"], random_steps_per_task=c["random_steps_per_task"],
        reset_buffer=reset_buffer, reset_optimizer=c["reset_optimizer"],
        reset_entropy=c["reset_entropy"], method_name=method_name,
        references=load_references(c["references"], c["steps_per_task"]),
    )
    log = v["logging"]
    return TrainingLoop(schedule, run.logger, v, num_epochs(v), log["save_replay_buffer"], log["progress_bar"])


def continual_evaluation(run: Run, make_agent: StreamAgentBuilder, strategy: CLStrategy, one_hot: bool, env_seed=None):
    """(trainer, [(task, env, deterministic policy)]) for offline evaluation of every task of the stream."""
    tasks, envs, _ = stream_envs(run.variant, run.seeds, "evaluation", one_hot, env_seed)
    agent = make_agent(run.variant, envs[0].observation_space.shape[0], envs[0].action_space.shape[0], run.device,
                       tasks, strategy)
    return agent["trainer"], [(t, e, p[1]) for t, e, p in zip(tasks, envs, agent["task_policies"])]
