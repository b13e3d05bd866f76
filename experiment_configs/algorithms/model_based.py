"""Assembly shared by the model-based algorithms (mpc, mbpo, loop): the dynamics ensemble and its
fit, the model (with the reward / termination given by hand where asked), the MPC planner, and the
ModelBasedSchedule through the off-policy builder."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Dict, Optional

import torch

from experiment_configs.algorithms.continual import build_continual, check_stream_keys, continual_evaluation, continual_schema
from experiment_configs.algorithms.off_policy import build_off_policy, check_env, off_policy_evaluation
from experiment_configs.common import Run, check_buffer_size
from lifelong_rl.continual.strategies import STRATEGIES
from lifelong_rl.core.schedules import ModelBasedSchedule
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.envs.model_functions import REWARDS, TERMINATIONS
from lifelong_rl.models.dynamics import DynamicsModel, ProbabilisticEnsemble
from lifelong_rl.models.networks import ACTIVATIONS
from lifelong_rl.planners import PLANNERS, Planner
from lifelong_rl.policies.mpc_policy import PROPAGATIONS, MPCPolicy, PriorPolicy, ValueFn
from lifelong_rl.trainers.dynamics_trainer import DynamicsTrainer
from lifelong_rl.variants import ConfigError, Param, Schema, has_key

SOURCES = ("learned", "given")


def model_schema(train_every: int = 250, ensemble_size: int = 7, num_elites: int = 5,
                 hidden_sizes=(200, 200, 200, 200)) -> Schema:
    """`model_kwargs`: the probabilistic ensemble (defaults: MBPO's, Janner et al. 2019) and its fit."""
    return {"model_kwargs": {
        "ensemble_size": Param(ensemble_size, "members of the probabilistic ensemble", "int", low=1),
        "num_elites": Param(num_elites, "members with the lowest held-out error; the only ones sampled", "int", low=1),
        "hidden_sizes": Param(list(hidden_sizes), "each member's hidden layer sizes", "ints"),
        "activation": Param("swish", "hidden activation", "str", choices=ACTIVATIONS),
        "lr": Param(1e-3, "Adam learning rate of the fit", "float", low=0.0),
        "batch_size": Param(256, "transitions per member per fit step", "int", low=1),
        "holdout_ratio": Param(0.2, "share of the data held out to score members and stop the fit", "float", low=0.0, high=0.5),
        "max_holdout": Param(5000, "at most this many held-out transitions", "int", low=1),
        "patience": Param(5, "fit epochs without a >1% held-out improvement before it stops", "int", low=1),
        "max_epochs": Param(0, "at most this many fit epochs per fit; 0: no cap", "int", low=0),
        "max_grad_steps": Param(0, "at most this many gradient steps per fit; 0: no cap", "int", low=0),
        "train_every": Param(train_every, "env steps between fits (on the whole real buffer)", "int", low=1),
        "reward": Param("learned", "the reward: learned by the ensemble, or given by hand for the env "
                        f"({', '.join(sorted(REWARDS))})", "str", choices=SOURCES),
        "termination": Param("learned", "the termination: learned, or given by hand for the env "
                             f"({', '.join(sorted(TERMINATIONS))})", "str", choices=SOURCES),
    }}


def planner_schema(planner: str = "mppi", horizon: int = 15, population: int = 100, iterations: int = 3,
                   num_particles: int = 1) -> Schema:
    """`planner_kwargs`: the action-sequence optimiser and the trajectory sampling of the MPC policy."""
    return {"planner_kwargs": {
        "planner": Param(planner, "rs: random shooting, cem, mppi", "str", choices=tuple(PLANNERS)),
        "horizon": Param(horizon, "planning horizon H (env steps)", "int", low=1),
        "population": Param(population, "candidate sequences per iteration", "int", low=1),
        "iterations": Param(iterations, "optimiser iterations per env step", "int", low=1),
        "init_std": Param(0.5, "cem, mppi: std of the sampling noise (actions in [-1, 1])", "float", low=0.0),
        "temperature": Param(0.1, "mppi: softmax temperature on the returns scaled to [0, 1]", "float", low=1e-6),
        "beta": Param(0.7, "mppi: noise smoothing, u_t = beta eps_t + (1 - beta) u_t-1", "float", low=0.0, high=1.0),
        "elite_frac": Param(0.1, "cem: share of candidates refitted to", "float", low=0.0, high=1.0),
        "alpha": Param(0.1, "cem: momentum of the mean and std", "float", low=0.0, high=1.0),
        "num_particles": Param(num_particles, "particles per candidate and elite member", "int", low=1),
        "propagation": Param("ts_inf", "ts_inf: a particle keeps its member; ts1: members reassigned every step",
                             "str", choices=PROPAGATIONS),
        "discount": Param(0.99, "discount of the planned return", "float", low=0.0, high=1.0),
    }}


def check_model(variant: Dict[str, Any]) -> None:
    """The env exists; the ensemble's elites fit in it; a reward / termination given by hand exists for it."""
    check_env(variant)
    check_model_keys(variant, variant["env"])


def check_model_keys(variant: Dict[str, Any], name: str) -> None:
    m = variant["model_kwargs"]
    if m["num_elites"] > m["ensemble_size"]:
        raise ConfigError(f"model_kwargs/num_elites ({m['num_elites']}) exceeds model_kwargs/ensemble_size ({m['ensemble_size']})")
    for key, table in (("reward", REWARDS), ("termination", TERMINATIONS)):
        if m[key] == "given" and name not in table:
            raise ConfigError(f"model_kwargs/{key}=given: no hand-written {key} for '{name}'; envs that have one: "
                              f"{', '.join(sorted(table))}")


def dynamics(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device, seeds: RunSeeds):
    """(DynamicsTrainer, DynamicsModel) of the variant's `model_kwargs` (on a stream, with no "env"
    key, both are learned: check_continual_model refuses "given")."""
    m = variant["model_kwargs"]
    ensemble = ProbabilisticEnsemble(obs_dim, action_dim, m["ensemble_size"], m["num_elites"], m["hidden_sizes"],
                                     m["activation"], learn_reward=m["reward"] == "learned",
                                     learn_terminal=m["termination"] == "learned").to(device)
    trainer = DynamicsTrainer(ensemble, m["lr"], batch_size=m["batch_size"], holdout_ratio=m["holdout_ratio"],
                              max_holdout=m["max_holdout"], patience=m["patience"], max_epochs=m["max_epochs"],
                              max_grad_steps=m["max_grad_steps"], seed=seeds.child("model"))
    env = variant.get("env")
    model = DynamicsModel(ensemble, REWARDS[env] if m["reward"] == "given" else None,
                          TERMINATIONS[env] if m["termination"] == "given" else None)
    return trainer, model


def mpc_policy(variant: Dict[str, Any], model, action_dim: int, device: torch.device,
               value_fn: Optional[ValueFn] = None, prior_policy: Optional[PriorPolicy] = None,
               prior_samples: int = 0) -> MPCPolicy:
    p = variant["planner_kwargs"]
    return MPCPolicy(model, make_planner(variant, action_dim), p["num_particles"], p["propagation"], p["discount"],
                     value_fn=value_fn, prior_policy=prior_policy, prior_samples=prior_samples, device=str(device))


def make_planner(variant: Dict[str, Any], dim: int) -> Planner:
    """The variant's `planner_kwargs` optimiser over sequences of `dim`-D elements (actions, skills)."""
    p = variant["planner_kwargs"]
    extra = {"rs": {}, "cem": {"init_std": p["init_std"], "elite_frac": p["elite_frac"], "alpha": p["alpha"]},
             "mppi": {"init_std": p["init_std"], "temperature": p["temperature"], "beta": p["beta"]}}[p["planner"]]
    return PLANNERS[p["planner"]](p["horizon"], dim, p["population"], p["iterations"], **extra)


def model_based(agent: Callable[..., Dict[str, Any]]):
    """(build, evaluation_setup) of a single-task model-based method from its agent builder
    (variant, obs_dim, action_dim, device, seeds), on the off-policy builder with a ModelBasedSchedule."""
    def build(run: Run):
        return build_off_policy(run, partial(agent, seeds=run.seeds), schedule_class=ModelBasedSchedule)

    def evaluation_setup(run: Run, env_seed=None):
        return off_policy_evaluation(run, partial(agent, seeds=run.seeds), env_seed)

    return build, evaluation_setup


# -- on a task stream (the continual wrapper) ---------------------------------------------------------
CONTINUAL_METHODS = ("finetune", "perfect_memory", "reservoir")  # the CL methods that only shape the buffer
SINGLE_TASK_KEYS = ("loop", "reset_free", "num_epochs", "max_path_length", "num_eval_steps_per_epoch", "num_expl_steps_per_train_loop",
                    "num_trains_per_train_loop", "num_train_loops_per_epoch", "min_num_steps_before_training")


def continual_model_based_schema(name: str, single_task: Schema, updates: bool) -> Schema:
    """A model-based method's keys on a MetaWorld stream: its single-task keys without the env and the
    epoch / episode keys (the stream sets them), `updates_per_step` if it trains a policy, and the
    `continual` group with the buffer-shaping CL methods."""
    s = dict(single_task)
    s.update(algorithm=Param(name, "registered algorithm name", "str"), exp_name=Param(name, s["exp_name"].doc, "str"))
    del s["env"], s["env_kwargs"]
    s.pop("offline_kwargs", None)  # a stream has no offline phase
    s["algorithm_kwargs"] = {k: p for k, p in s["algorithm_kwargs"].items() if k not in SINGLE_TASK_KEYS}
    if updates:
        s["algorithm_kwargs"]["updates_per_step"] = Param(1.0, "policy updates per env step after a task's random steps",
                                                          "float", low=0.0)
    s["continual"] = {
        **continual_schema(),
        "cl_method": Param("finetune", "continual-learning method: finetune (the buffer emptied at each switch), "
                           "perfect_memory (kept), reservoir", "str", choices=CONTINUAL_METHODS),
        "task_id": Param("one_hot", "task identity: none or one-hot in the observation", "str", choices=("none", "one_hot")),
    }
    return s


def continual_quick(schema: Schema, *quick: Dict[str, Any]) -> Dict[str, Any]:
    """The smoke-run overrides (single-task QUICK, the streams' QUICK_STREAM) that `schema` has keys for."""
    return {k: v for q in quick for k, v in q.items() if has_key(schema, k)}


def check_continual_model(variant: Dict[str, Any]) -> None:
    check_stream_keys(variant)
    if "batch_size" in variant["algorithm_kwargs"]:
        check_buffer_size(variant)
    check_model_keys(variant, "a MetaWorld stream")


def continual_model_based(agent: Callable[..., Dict[str, Any]]):
    """(build, evaluation_setup) of a model-based method on a stream from its single-task agent
    builder (variant, obs_dim, action_dim, device, seeds): one model and policy for every task."""
    def stream_agent(seeds: RunSeeds):
        def make(variant, obs_dim, action_dim, device, tasks, strategy) -> Dict[str, Any]:
            out = agent(variant, obs_dim, action_dim, device, seeds=seeds)
            return {**out, "task_policies": [(out["exploration_policy"], out["evaluation_policy"])] * len(tasks)}
        return make

    def strategy(run: Run):
        return STRATEGIES[run.variant["continual"]["cl_method"]](0.0, run.seeds.child("strategy"))

    def build(run: Run):
        c = run.variant["continual"]
        return build_continual(run, stream_agent(run.seeds), strategy(run), "sequential", c["task_id"] == "one_hot",
                               c["cl_method"], schedule_class=ModelBasedSchedule)

    def evaluation_setup(run: Run, env_seed=None):
        return continual_evaluation(run, stream_agent(run.seeds), strategy(run), run.variant["continual"]["task_id"] == "one_hot",
                                    env_seed)

    return build, evaluation_setup
