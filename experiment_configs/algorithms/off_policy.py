"""Assembly of a single-task off-policy run: envs (exploration and evaluation, each with its own
child seed, sharing a MetaWorld goal), buffer, collectors, the OffPolicySchedule and the loop."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import gymnasium as gym

from experiment_configs.common import Run, check_buffer_size, net_schema, run_schema
from lifelong_rl.core.loop import TrainingLoop
from lifelong_rl.core.schedules import OffPolicySchedule
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.data_management.fields import transition_fields
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.envs.make_env import episode_length, make_env, validate_env_name
from lifelong_rl.envs.reference_scores import reference
from lifelong_rl.samplers.collectors import FollowerPathCollector, PathCollector, ResetFreeCollector, StepCollector
from lifelong_rl.variants import ConfigError, Param, Schema

# (variant, obs_dim, action_dim, device) -> {"trainer", "exploration_policy", "evaluation_policy"}
AgentBuilder = Callable[..., Dict[str, Any]]


def off_policy_schema(name: str, trainer_kwargs: Schema, **extra: Schema) -> Schema:
    """The keys of a single-task off-policy algorithm (SAC, TD3, DDPG): env, buffer, actor and
    critic networks, `trainer_kwargs`, the step / update schedule, and any `extra` groups."""
    return {
        **run_schema(name),
        "env": Param("metaworld/reach-v3", "metaworld/<task>-v3 or gym/<Id>", "str"),
        "env_kwargs": env_kwargs_schema(),
        "replay_buffer_size": Param(int(1e6), "replay buffer capacity (transitions)", "int", low=1),
        "policy_kwargs": net_schema([256, 256], "actor"),
        "qf_kwargs": net_schema([256, 256], "critics"),
        "trainer_kwargs": trainer_kwargs,
        **extra,
        "algorithm_kwargs": {
            "loop": Param("online", "online: updates follow each env step; batch: a block of steps, then a block of updates",
                          "str", choices=("online", "batch")),
            "num_epochs": Param(100, "epochs (one progress.csv row each)", "int", low=1),
            "batch_size": Param(256, "transitions per update", "int", low=1),
            "max_path_length": Param(0, "episode length; 0: the env's own (MetaWorld 500)", "int", low=0),
            "num_eval_steps_per_epoch": Param(1000, "evaluation steps per epoch (whole episodes); 0: none", "int", low=0),
            "num_expl_steps_per_train_loop": Param(1000, "env steps per train loop", "int", low=1),
            "num_trains_per_train_loop": Param(1000, "updates per train loop", "int", low=0),
            "num_train_loops_per_epoch": Param(1, "train loops per epoch", "int", low=1),
            "min_num_steps_before_training": Param(5000, "uniformly random warm-up steps before the first epoch", "int", low=0),
            "reset_free": Param(False, "reset-free (lifelong/ and gridworld/ envs): one reset at the start; terminals and "
                                "max_path_length (then only the length of the returns' bookkeeping segments) never reset "
                                "the env; a reset the env demands is given and counted", "bool"),
        },
    }


def env_kwargs_schema() -> Schema:
    return {
        "new_goal_each_episode": Param(False, "MetaWorld: a new goal of the 50 at every reset", "bool"),
        "target_velocities": Param([], "lifelong/ envs: the target velocities v* cycles through; []: the env's "
                                   "(forward fast, forward slow, backward slow)", "floats"),
        "switch_every": Param(-1, "lifelong/ envs: env steps between changes of v*; gridworld/: between "
                              "rearrangements; 0: never; -1: the env's (5000; volcano 200)", "int", low=-1),
    }


OFF_POLICY_QUICK = {
    "algorithm_kwargs/num_epochs": 2,
    "algorithm_kwargs/batch_size": 32,
    "algorithm_kwargs/max_path_length": 70,  # epochs of 100 steps end mid-episode (as they do at full size)
    "algorithm_kwargs/num_eval_steps_per_epoch": 70,
    "algorithm_kwargs/num_expl_steps_per_train_loop": 100,
    "algorithm_kwargs/num_trains_per_train_loop": 20,
    "algorithm_kwargs/min_num_steps_before_training": 100,
    "policy_kwargs/hidden_sizes": [32, 32],
    "qf_kwargs/hidden_sizes": [32, 32],
    "replay_buffer_size": 10_000,
    "logging/snapshot_gap": 1,
}


def check_env(variant: Dict[str, Any]) -> Optional[gym.Env]:
    """The single env of a run exists, has continuous actions and takes its env_kwargs; a gym env
    is built once to see its spaces (returned, closed; None for MetaWorld's, which always fit)."""
    name = variant["env"]
    validate_env_name(name)
    kw = variant["env_kwargs"]
    if kw["new_goal_each_episode"] and not name.startswith(("metaworld/", "goal/metaworld/")):
        raise ConfigError(f"env_kwargs/new_goal_each_episode applies to MetaWorld tasks only, not '{name}'")
    if kw["target_velocities"] and not name.startswith("lifelong/"):
        raise ConfigError(f"env_kwargs/target_velocities applies to lifelong/ envs only, not '{name}'")
    if kw["switch_every"] != -1 and not name.startswith(("lifelong/", "gridworld/")):
        raise ConfigError(f"env_kwargs/switch_every applies to lifelong/ and gridworld/ envs only, not '{name}'")
    if variant["algorithm_kwargs"].get("reset_free") and not name.startswith(("lifelong/", "gridworld/")):
        raise ConfigError(f"algorithm_kwargs/reset_free needs an env whose state a snapshot can hold (lifelong/<hopper|ant>, "
                          f"gridworld/<world>), not '{name}'")
    if not name.startswith("gym/"):
        return None
    try:
        env = make_env(name, 0)
    except ValueError as e:  # UnknownEnvError (discrete actions), NotAGoalEnv (dict observations without goals)
        raise ConfigError(str(e)) from None
    env.close()
    return env


def check_off_policy(variant: Dict[str, Any]) -> None:
    check_env(variant)
    check_buffer_size(variant)


# (env, role) -> the env the agent sees in that role (exploration, evaluation)
EnvWrapper = Callable[[gym.Env, str], gym.Env]


def single_env(variant: Dict[str, Any], seeds: RunSeeds, role: str, env_seed: Optional[int] = None,
               wrap: Optional[EnvWrapper] = None) -> gym.Env:
    """The run's env for `role` (exploration, evaluation): its own simulator seed, the run's goal;
    through `wrap` when given (the collective's embedding or shaping bonus)."""
    seed = seeds.child(f"env/{role}") if env_seed is None else env_seed
    env = make_env(variant["env"], seed, max_path_length=variant["algorithm_kwargs"]["max_path_length"],
                   goal_seed=seeds.child("goal"), **variant["env_kwargs"])
    return env if wrap is None else wrap(env, role)


# (variant, env, seed) -> the run's replay buffer
BufferBuilder = Callable[[Dict[str, Any], gym.Env, int], Any]


def replay_buffer(variant: Dict[str, Any], env: gym.Env, seed: int) -> ReplayBuffer:
    fields = transition_fields(env.observation_space.shape[0], env.action_space.shape[0])
    return ReplayBuffer(variant["replay_buffer_size"], fields, seed=seed)


def evaluation_episodes(algorithm_kwargs: Dict[str, Any], length: int) -> int:
    """Whole evaluation episodes per epoch: num_eval_steps_per_epoch // the episode length, at least one (0: none)."""
    steps = algorithm_kwargs["num_eval_steps_per_epoch"]
    return max(1, steps // length) if steps else 0


def build_off_policy(run: Run, make_agent: AgentBuilder, make_buffer: BufferBuilder = replay_buffer,
                     schedule_class: type = OffPolicySchedule,
                     wrap_env: Optional[EnvWrapper] = None) -> Tuple[TrainingLoop, List[gym.Env]]:
    """The loop of a single-task off-policy run; the agent's optional "schedule_kwargs" go to
    `schedule_class` (ModelBasedSchedule: the model's fit, rollouts and planners)."""
    v, ak = run.variant, run.variant["algorithm_kwargs"]
    expl_env = single_env(v, run.seeds, "exploration", wrap=wrap_env)
    eval_env = single_env(v, run.seeds, "evaluation", wrap=wrap_env)
    length = episode_length(expl_env)
    obs_dim, action_dim = expl_env.observation_space.shape[0], expl_env.action_space.shape[0]
    buffer = make_buffer(v, expl_env, run.seeds.child("buffer"))
    agent = make_agent(v, obs_dim, action_dim, run.device)
    steps = ak["num_expl_steps_per_train_loop"] * ak["num_train_loops_per_epoch"]
    expl, evaluation = exploration_and_evaluation(run, expl_env, eval_env, agent, length)
    # A method without a policy to update (MPC) has no batch_size, num_trains_per_train_loop or loop keys.
    schedule = schedule_class(
        agent["trainer"], buffer, [expl], evaluation, run.logger, run.device,
        batch_size=ak.get("batch_size", 1), steps_per_epoch=steps,
        updates_per_step=ak.get("num_trains_per_train_loop", 0) / ak["num_expl_steps_per_train_loop"],
        train_every=1 if ak.get("loop", "online") == "online" else ak["num_expl_steps_per_train_loop"],
        warmup_steps=ak["min_num_steps_before_training"],
        eval_episodes=evaluation_episodes(ak, length), **agent.get("schedule_kwargs", {}),
    )
    schedule.reference = reference(v["env"], v["seed"])
    log = v["logging"]
    loop = TrainingLoop(schedule, run.logger, v, ak["num_epochs"], log["save_replay_buffer"], log["progress_bar"])
    return loop, [expl_env, eval_env]


def exploration_and_evaluation(run: Run, expl_env: gym.Env, eval_env: gym.Env, agent: Dict[str, Any],
                               length: int) -> Tuple[StepCollector, PathCollector]:
    """The exploration collector (reset-free where asked) and the evaluation one (a lifelong env's
    evaluation follows the exploration env's task)."""
    if run.variant["algorithm_kwargs"].get("reset_free", False):
        expl = ResetFreeCollector(expl_env, agent["exploration_policy"], length, log=run.logger.log)
    else:
        expl = StepCollector(expl_env, agent["exploration_policy"], length)
    if hasattr(eval_env.unwrapped, "sync_task"):
        return expl, FollowerPathCollector(eval_env, agent["evaluation_policy"], length, expl_env)
    return expl, PathCollector(eval_env, agent["evaluation_policy"], length)


def off_policy_evaluation(run: Run, make_agent: AgentBuilder, env_seed: Optional[int] = None,
                          wrap_env: Optional[EnvWrapper] = None):
    """(trainer, [(env name, env, deterministic policy)]) for offline evaluation of a snapshot."""
    env = single_env(run.variant, run.seeds, "evaluation", env_seed, wrap_env)
    agent = make_agent(run.variant, env.observation_space.shape[0], env.action_space.shape[0], run.device)
    return agent["trainer"], [(run.variant["env"], env, agent["evaluation_policy"])]
