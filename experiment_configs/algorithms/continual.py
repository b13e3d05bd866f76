"""Continual SAC on a MetaWorld task stream: per-task envs and collectors, the CL method's buffer
and regularisers, and the continual loop."""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

from lifelong_rl import registry
from lifelong_rl.continual.methods import CLMethod, get_cl_method
from lifelong_rl.continual.regularizers import ParameterRegularizer
from lifelong_rl.core.continual_algorithm import ContinualRLAlgorithm
from lifelong_rl.data_management.replay_buffer import ReplayBuffer, ReservoirReplayBuffer
from lifelong_rl.envs.make_env import make_env
from lifelong_rl.envs.streams import stream_episode_length, stream_tasks
from lifelong_rl.envs.wrappers import TaskIdWrapper
from lifelong_rl.samplers.collectors import PathCollector, StepCollector
from lifelong_rl.variants import ConfigError

TASK_ID_MODES = ("none", "one_hot", "multi_head")
RESET_BUFFER = ("auto", "reset", "keep")


def check_stream(variant: Dict[str, Any]) -> None:
    """Checks shared by every continual algorithm: stream, schedule, buffer, references."""
    c = variant["continual"]
    stream_tasks(c["stream"], c["num_tasks"] or None)
    if c["reset_buffer"] not in RESET_BUFFER:
        raise ConfigError(f"unknown continual/reset_buffer '{c['reset_buffer']}'; valid: {', '.join(RESET_BUFFER)}")
    for k in ("steps_per_task", "eval_every", "eval_episodes"):
        if c[k] < 1:
            raise ConfigError(f"continual/{k} must be >= 1, got {c[k]}")
    if c["steps_per_task"] % c["eval_every"]:
        raise ConfigError(f"continual/steps_per_task ({c['steps_per_task']}) must be a multiple of continual/eval_every ({c['eval_every']})")
    if c["references"] and not os.path.isfile(c["references"]):
        raise ConfigError(f"continual/references: file not found: {c['references']}")
    if variant["replay_buffer_size"] < variant["algorithm_kwargs"]["batch_size"]:
        raise ConfigError("replay_buffer_size is smaller than algorithm_kwargs/batch_size")


def check(variant: Dict[str, Any]) -> None:
    c = variant["continual"]
    get_cl_method(c["cl_method"])
    if c["task_id"] not in TASK_ID_MODES:
        raise ConfigError(f"unknown continual/task_id '{c['task_id']}'; valid: {', '.join(TASK_ID_MODES)}")
    if c["hide_task_id"] and c["task_id"] != "multi_head":
        raise ConfigError(f"continual/hide_task_id needs continual/task_id=multi_head, not '{c['task_id']}'")
    check_stream(variant)


def load_references(path: str, steps_per_task: int) -> Optional[Dict[str, Dict[str, list]]]:
    """Single-task reference curves {task: {steps, success}} (scripts/continual_references.py)."""
    if not path:
        return None
    with open(path) as f:
        data = json.load(f)
    if data.get("steps_per_task") != steps_per_task:
        raise ConfigError(f"references {path} were run with {data.get('steps_per_task')} steps per task, not {steps_per_task}")
    return data["tasks"]


def config_options(variant: Dict[str, Any], tasks: List[str]) -> Dict[str, Any]:
    c = variant["continual"]
    if c["task_id"] != "multi_head":
        return {"num_heads": 0}
    return {"num_heads": len(tasks), "hide_task_id": c["hide_task_id"]}


def build(variant: Dict[str, Any], log_dir: str):
    c = variant["continual"]
    return build_stream(variant, log_dir, get_cl_method(c["cl_method"]), c["task_id"], config_options)


def stream_envs(variant: Dict[str, Any], task_id: str, seed: int):
    """The stream's task names, one env per task (with the task-identity wrapper unless task_id
    is 'none'), and the episode length."""
    c = variant["continual"]
    tasks = stream_tasks(c["stream"], c["num_tasks"] or None)
    length = c["episode_length"] or stream_episode_length(c["stream"])

    def env_for(i: int):
        env = make_env(f"metaworld/{tasks[i]}", seed, max_path_length=length,
                       new_goal_each_episode=c["new_goal_each_episode"])
        return env if task_id == "none" else TaskIdWrapper(env, i, len(tasks))

    return tasks, [env_for(i) for i in range(len(tasks))], length


def task_policies(config: Dict[str, Any], n: int) -> List[Tuple[Any, Any]]:
    """(exploration, evaluation) policy of each task: the config's per-task ones, or one shared pair."""
    if "task_policies" in config:
        return [config["task_policies"](i) for i in range(n)]
    return [(config["exploration_policy"], config["evaluation_policy"])] * n


def evaluation_setup(variant: Dict[str, Any], device, seed: int):
    return stream_evaluation_setup(variant, device, seed, variant["continual"]["task_id"], config_options)


def stream_evaluation_setup(variant: Dict[str, Any], device, seed: int, task_id: str, options: ConfigOptions):
    """(trainer, [(task, env, deterministic policy)]) for offline evaluation of every task of the stream."""
    tasks, envs, _ = stream_envs(variant, task_id, seed)
    config = registry.get_config(variant, envs[0].observation_space.shape[0], envs[0].action_space.shape[0], device,
                                 **options(variant, tasks))
    return config["trainer"], [(t, e, p[1]) for t, e, p in zip(tasks, envs, task_policies(config, len(tasks)))]


ConfigOptions = Callable[[Dict[str, Any], List[str]], Dict[str, Any]]


def build_stream(variant: Dict[str, Any], log_dir: str, method: CLMethod, task_id: str, options: ConfigOptions):
    """Envs, buffer, networks and the continual loop for any continual algorithm. The config
    builder gets `options(variant, tasks)`; its dict may hold `task_policies` (i -> (exploration,
    evaluation) policy of task i) and `env_step_hook` (called with (total_steps, replay_buffer))."""
    from experiment_configs.base_experiment import closer, open_run

    c = variant["continual"]
    device, logger = open_run(variant, log_dir)
    tasks, expl_envs, length = stream_envs(variant, task_id, variant["seed"])
    _, eval_envs, _ = stream_envs(variant, task_id, variant["seed"])
    n = len(tasks)
    obs_dim, action_dim = expl_envs[0].observation_space.shape[0], expl_envs[0].action_space.shape[0]
    buffer_cls = ReservoirReplayBuffer if method.reservoir else ReplayBuffer
    replay_buffer = buffer_cls(variant["replay_buffer_size"], obs_dim, action_dim, seed=variant["seed"])
    config = registry.get_config(variant, obs_dim, action_dim, device, **options(variant, tasks))
    trainer = config["trainer"]
    policies = task_policies(config, n)
    policy_reg = qf_reg = None
    if method.regularizer:
        coef = c["reg_coef"] or method.default_coef
        multi = task_id == "multi_head"
        # Output heads are task-specific: not regularised (a new task's head starts untrained).
        policy_reg = ParameterRegularizer(trainer.policy, coef, list(trainer.policy.net.last.parameters()) if multi else None)
        if c["regularize_critic"]:
            qf_reg = ParameterRegularizer(trainer.qfs, coef, trainer.qfs.head_parameters() if multi else None)
    reset_buffer = {"auto": method.reset_buffer, "reset": True, "keep": False}[c["reset_buffer"]]
    if method.multitask:
        reset_buffer = False
    log = variant["logging"]
    algorithm = ContinualRLAlgorithm(
        trainer=trainer,
        task_names=tasks,
        exploration_collectors=[StepCollector(e, policies[i][0], length, task_id=i) for i, e in enumerate(expl_envs)],
        evaluation_collectors=[PathCollector(e, policies[i][1], length) for i, e in enumerate(eval_envs)],
        replay_buffer=replay_buffer,
        logger=logger,
        variant=variant,
        device=device,
        method=method,
        steps_per_task=c["steps_per_task"],
        eval_every=c["eval_every"],
        eval_episodes=c["eval_episodes"],
        episode_length=length,
        batch_size=variant["algorithm_kwargs"]["batch_size"],
        updates_per_step=variant["algorithm_kwargs"]["updates_per_step"],
        random_steps_per_task=c["random_steps_per_task"],
        reset_buffer=reset_buffer,
        reset_optimizer=c["reset_optimizer"],
        reset_entropy=c["reset_entropy"],
        policy_regularizer=policy_reg,
        qf_regularizer=qf_reg,
        fisher_samples=c["fisher_samples"] if method.regularizer == "ewc" else 0,
        references=load_references(c["references"], c["steps_per_task"]),
        save_replay_buffer=log["save_replay_buffer"],
        progress_bar=log["progress_bar"],
        env_step_hook=config.get("env_step_hook"),
    )

    return algorithm, closer(logger, expl_envs + eval_envs)
