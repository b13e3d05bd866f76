"""Assembly of offline runs: the datasets of `offline_kwargs/teacher_data_files` loaded into the
run's replay buffer when it is built (so a resume has them too), the OfflineSchedule of the offline
phase, and the PhasedLoop that runs it before the online phase of the same networks and buffer (as
Lu et al.'s `do_offline_training` runs: offline_progress.csv and offline_itr_<n>.pt, then
progress.csv and itr_<n>.pt)."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Tuple

import gymnasium as gym

from experiment_configs.algorithms.off_policy import (AgentBuilder, build_off_policy, evaluation_episodes,
                                                      replay_buffer, single_env)
from experiment_configs.common import Run
from lifelong_rl.core.loop import PhasedLoop, TrainingLoop
from lifelong_rl.core.schedules import ModelBasedSchedule, OffPolicySchedule, OfflineSchedule
from lifelong_rl.data_management.datasets import DatasetError, OfflineDataset, load_dataset
from lifelong_rl.envs.make_env import episode_length, make_env
from lifelong_rl.envs.reference_scores import reference
from lifelong_rl.samplers.collectors import PathCollector
from lifelong_rl.variants import ConfigError, Param, Schema

_CACHE: Dict[Tuple, OfflineDataset] = {}
EXAMPLE_DATASET = "examples/pendulum-random-v0"  # committed: 1000 uniformly random Pendulum-v1 transitions
OFFLINE_QUICK = {  # smoke-run sizes of an offline method, on the example dataset
    "env": "gym/Pendulum-v1", "offline_kwargs/teacher_data_files": [EXAMPLE_DATASET], "offline_kwargs/num_epochs": 2,
    "offline_kwargs/num_trains_per_epoch": 20, "algorithm_kwargs/batch_size": 32, "algorithm_kwargs/max_path_length": 70,
    "algorithm_kwargs/num_eval_steps_per_epoch": 70, "policy_kwargs/hidden_sizes": [32, 32], "replay_buffer_size": 10_000,
    "logging/snapshot_gap": 1,
}


def offline_schema(num_epochs: int = 100, trains_per_epoch: int = 1000) -> Schema:
    """`offline_kwargs`: the datasets and the offline phase."""
    return {"offline_kwargs": {
        "teacher_data_files": Param([], "datasets loaded into the replay buffer before training: names in agent_data/ "
                                    "(made by scripts/collect_dataset.py) or paths", "strs"),
        "max_teacher_transitions": Param(0, "at most this many transitions of each dataset (its first); 0: all", "int", low=0),
        "num_epochs": Param(num_epochs, "epochs of the offline phase: updates on the buffer only, no env steps "
                            "(offline_progress.csv, offline_itr_<n>.pt)", "int", low=0),
        "num_trains_per_epoch": Param(trains_per_epoch, "updates per offline epoch", "int", low=1),
    }}


def teacher_datasets(variant: Dict[str, Any]) -> List[Tuple[str, OfflineDataset]]:
    """(name, dataset) of each of the variant's datasets, capped (read once per process)."""
    o = variant["offline_kwargs"]
    out = []
    for name in o["teacher_data_files"]:
        key = (name, os.path.abspath(name), o["max_teacher_transitions"])
        if key not in _CACHE:
            data = load_dataset(name)
            _CACHE[key] = data.head(o["max_teacher_transitions"]) if o["max_teacher_transitions"] else data
        out.append((name, _CACHE[key]))
    return out


def teacher_data(variant: Dict[str, Any]) -> OfflineDataset:
    """The variant's datasets, capped and concatenated."""
    return OfflineDataset.concatenate([d for _, d in teacher_datasets(variant)],
                                      {"datasets": list(variant["offline_kwargs"]["teacher_data_files"])})


def env_dims(name: str) -> Tuple[int, int]:
    """(observation size, action size) of a single env (checked by `check_env` before)."""
    env = make_env(name, 0)
    dims = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    return dims


def check_offline(variant: Dict[str, Any], online: bool = True) -> None:
    """The datasets exist, are readable, fit the env's observation and action sizes and the buffer;
    an offline phase has data to learn from. DatasetError / ConfigError: before any run dir exists."""
    o = variant["offline_kwargs"]
    if o["num_epochs"] > 0 and not o["teacher_data_files"]:
        raise ConfigError("offline_kwargs/num_epochs > 0 needs datasets: set offline_kwargs/teacher_data_files")
    if online and o["num_epochs"] == 0 and variant["algorithm_kwargs"]["num_epochs"] == 0:
        raise ConfigError("no epochs to run: offline_kwargs/num_epochs and algorithm_kwargs/num_epochs are both 0")
    if not o["teacher_data_files"]:
        return
    parts = teacher_datasets(variant)
    obs_dim, action_dim = env_dims(variant["env"])
    for name, part in parts:
        if (part.obs_dim, part.action_dim) != (obs_dim, action_dim):
            raise DatasetError(f"dataset '{name}' has observations of size {part.obs_dim} and actions of size "
                               f"{part.action_dim}; {variant['env']} has {obs_dim} and {action_dim}")
        if part.meta.get("env") not in (None, variant["env"]):
            raise DatasetError(f"dataset '{name}' is of {part.meta['env']}, not {variant['env']}")
    total = sum(len(part) for _, part in parts)
    if total > variant["replay_buffer_size"]:
        raise ConfigError(f"the datasets hold {total} transitions, more than replay_buffer_size "
                          f"({variant['replay_buffer_size']}); raise it or set offline_kwargs/max_teacher_transitions")


def offline_loop(run: Run, schedule: OfflineSchedule) -> TrainingLoop:
    v, log = run.variant, run.variant["logging"]
    return TrainingLoop(schedule, run.logger, v, v["offline_kwargs"]["num_epochs"], log["save_replay_buffer"],
                        log["progress_bar"], phase="offline_")


def build_phased(run: Run, make_agent: AgentBuilder,
                 schedule_class: type = OffPolicySchedule) -> Tuple[PhasedLoop, List[gym.Env]]:
    """An off-policy method's run with the datasets in its buffer: the offline phase (with a
    ModelBasedSchedule, the model's fit and rollouts) then the online phase, skipping an empty one."""
    online, envs = build_off_policy(run, make_agent, schedule_class=schedule_class)
    s = online.schedule
    data = teacher_data(run.variant) if run.variant["offline_kwargs"]["teacher_data_files"] else None  # else online only
    if data is not None:
        s.buffer.add_batch(**data.buffer_batch())
    offline = OfflineSchedule(s.trainer, s.buffer, s.eval_collector, run.logger, run.device, s.batch_size,
                              run.variant["offline_kwargs"]["num_trains_per_epoch"], s.eval_episodes,
                              model=s if isinstance(s, ModelBasedSchedule) else None, reference=s.reference,
                              data_fingerprint="" if data is None else data.fingerprint())
    return PhasedLoop(offline_loop(run, offline), online), envs


def build_offline_only(run: Run, make_agent: AgentBuilder) -> Tuple[PhasedLoop, List[gym.Env]]:
    """A method with no online phase (behaviour cloning): the datasets in a replay buffer, updates,
    evaluation episodes in the run's evaluation env, and no exploration env at all."""
    v, ak = run.variant, run.variant["algorithm_kwargs"]
    env = single_env(v, run.seeds, "evaluation")
    length = episode_length(env)
    agent = make_agent(v, env.observation_space.shape[0], env.action_space.shape[0], run.device)
    buffer = replay_buffer(v, env, run.seeds.child("buffer"))
    data = teacher_data(v)
    buffer.add_batch(**data.buffer_batch())
    schedule = OfflineSchedule(agent["trainer"], buffer, PathCollector(env, agent["evaluation_policy"], length), run.logger,
                               run.device, ak["batch_size"], v["offline_kwargs"]["num_trains_per_epoch"],
                               evaluation_episodes(ak, length), reference=reference(v["env"], v["seed"]),
                               data_fingerprint=data.fingerprint())
    return PhasedLoop(offline_loop(run, schedule)), [env]
