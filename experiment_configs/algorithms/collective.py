"""Assembly shared by the collective learning framework's registered stages (experiment_configs/
configs/collective/): the stage files they read and write, loading them with one-line errors that
name the stage that makes them, the experts' recording, and evaluation of the collective.

Stage outputs (in a pipeline dir, run_scripts/collective.py):
    experts/<task>/trajectories.npz    the expert's episodes with its action distribution
    transformer/transformer.pt         the trained trajectory transformer (config + weights)
    distill/collective.pt              the collective actor and critics (sizes + weights)
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from lifelong_rl.core.evaluation import evaluate
from lifelong_rl.data_management.datasets import REPO_DATA, DatasetError, OfflineDataset, load_dataset
from lifelong_rl.envs.make_env import make_env
from lifelong_rl.envs.trajectory_window import TaskEmbeddingWrapper
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.models.trajectory_transformer import TrajectoryTransformer
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.samplers.collectors import rollout
from lifelong_rl.samplers.dataset_collection import ScriptedPolicy
from lifelong_rl.variants import ConfigError, Param, Schema

TRANSFORMER_FILE = "transformer.pt"
COLLECTIVE_FILE = "collective.pt"


def collective_inputs_schema() -> Schema:
    return {"collective": {
        "transformer": Param("", "the transformer stage's transformer.pt (run_scripts/collective.py makes it)", "str"),
        "policy": Param("", "the distill stage's collective.pt: the collective actor and critics", "str"),
    }}


def _load(path: str, stage: str, what: str) -> Dict[str, Any]:
    """A stage's output file (a relative path is looked up in the working dir, then the repository)."""
    if path and not os.path.isfile(path) and not os.path.isabs(path):
        in_repo = os.path.join(os.path.dirname(REPO_DATA), path)
        path = in_repo if os.path.isfile(in_repo) else path
    if not path or not os.path.isfile(path):
        raise ConfigError(f"{what} '{path}' not found: run the {stage} stage first (run_scripts/collective.py --stage {stage})")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to read is a corrupt file
        raise ConfigError(f"{what} {path} is corrupt or unreadable ({type(e).__name__})") from None


def load_transformer(path: str) -> TrajectoryTransformer:
    data = _load(path, "transformer", "trajectory transformer")
    try:
        return TrajectoryTransformer.from_export(data)
    except (KeyError, TypeError, RuntimeError) as e:
        raise ConfigError(f"trajectory transformer {path} does not load ({type(e).__name__}: {str(e)[:100]})") from None


def load_collective(path: str) -> Tuple[TanhGaussianPolicy, ParallelizedEnsemble, Dict[str, Any]]:
    """The collective actor and twin critics of a collective.pt, and its sizes."""
    data = _load(path, "distill", "collective policy")
    try:
        sizes = data["sizes"]
        policy = TanhGaussianPolicy(sizes["input_dim"], sizes["action_dim"], **sizes["policy_kwargs"])
        qfs = ParallelizedEnsemble(2, sizes["input_dim"] + sizes["action_dim"], 1, **sizes["qf_kwargs"])
        policy.load_state_dict(data["policy"])
        qfs.load_state_dict(data["qfs"])
    except (KeyError, TypeError, RuntimeError) as e:
        raise ConfigError(f"collective policy {path} does not load ({type(e).__name__}: {str(e)[:100]})") from None
    return policy.eval(), qfs, sizes


def check_inputs(variant: Dict[str, Any], env_dims: Optional[Tuple[int, int]] = None) -> Tuple[TrajectoryTransformer, TanhGaussianPolicy]:
    """The transformer and collective files exist, load and fit each other (and the env's
    observation and action sizes)."""
    transformer = load_transformer(variant["collective"]["transformer"])
    policy, _, sizes = load_collective(variant["collective"]["policy"])
    expected = transformer.embedding_dim + transformer.config["obs_dim"]
    if sizes["input_dim"] != expected:
        raise ConfigError(f"collective policy {variant['collective']['policy']} takes inputs of size {sizes['input_dim']}, "
                          f"the transformer's embedding + state is {expected}: they are of different pipelines")
    if env_dims is not None and env_dims != (transformer.config["obs_dim"], sizes["action_dim"]):
        raise ConfigError(f"{variant['env']} has observations and actions of sizes {env_dims}; the collective's are "
                          f"{(transformer.config['obs_dim'], sizes['action_dim'])}")
    return transformer, policy


def load_trajectories(paths: Sequence[str]) -> List[OfflineDataset]:
    """The experts' recorded episodes (one dataset per task, with expert_means and expert_log_stds)."""
    if not paths:
        raise ConfigError("trajectories is empty: give the experts' trajectories.npz, one per task")
    out = []
    for p in paths:
        data = load_dataset(p)
        missing = [k for k in ("expert_means", "expert_log_stds") if k not in data.extras]
        if missing:
            raise DatasetError(f"dataset {p} has no {' or '.join(missing)}: record it with the experts stage")
        out.append(data)
    if len({(d.obs_dim, d.action_dim) for d in out}) > 1:
        raise DatasetError("the trajectories have different observation or action sizes")
    return out


# -- experts ------------------------------------------------------------------------------------------
class Expert:
    """An expert that records its own action distribution at every step it takes: MetaWorld's
    scripted policy plus N(0, std^2) noise (its distribution: the scripted action, log std), or a
    SAC snapshot's tanh-Gaussian actor (its squashed mean and log std; it acts by sampling)."""

    def __init__(self, scripted: Optional[ScriptedPolicy] = None, std: float = 0.1,
                 policy: Optional[TanhGaussianPolicy] = None, seed: int = 0):
        self.scripted, self.std, self.policy = scripted, std, policy
        self.rng = np.random.default_rng(seed)
        self.means: List[np.ndarray] = []
        self.log_stds: List[np.ndarray] = []

    def get_action(self, obs: np.ndarray) -> np.ndarray:
        """A sample of the expert's distribution at `obs`; the distribution is recorded."""
        if self.scripted is not None:
            mean = self.scripted.get_action(obs)
            log_std = np.full_like(mean, np.log(self.std))
            action = np.clip(mean + self.std * self.rng.standard_normal(mean.shape), -1.0, 1.0)
        else:
            with torch.no_grad():
                dist = self.policy(torch.as_tensor(obs, dtype=torch.float32)[None])
            pre_tanh, std = dist.mean[0].numpy(), dist.std[0].numpy()
            mean, log_std = np.tanh(pre_tanh), np.log(std)
            action = np.tanh(pre_tanh + std * self.rng.standard_normal(std.shape))
        self.means.append(mean)
        self.log_stds.append(log_std)
        return action.astype(np.float32)

    def reset(self) -> None:
        pass


def record(env, expert: Expert, episodes: int, max_path_length: int, meta: Dict[str, Any]) -> OfflineDataset:
    """Whole episodes of the expert, with its action distribution at every step."""
    paths = [rollout(env, expert, max_path_length) for _ in range(episodes)]
    arrays = {k: np.concatenate([p[k] for p in paths]) for k in ("observations", "actions", "rewards", "next_observations",
                                                                 "terminals", "timeouts")}
    arrays["expert_means"], arrays["expert_log_stds"] = np.stack(expert.means), np.stack(expert.log_stds)
    successes = [p["success"] for p in paths if p["success"] is not None]
    meta = {**meta, "episodes": episodes, "success_rate": float(np.mean(successes)) if successes else None,
            "mean_return": float(np.mean([p["rewards"].sum() for p in paths]))}
    return OfflineDataset(arrays, meta)


def sac_expert_policy(run_dir: str) -> TanhGaussianPolicy:
    """The actor of a finished SAC run (its params.pt)."""
    from experiment_configs.evaluation import load_policy

    _, policy, env = load_policy(os.path.join(run_dir, "params.pt"))
    env.close()
    return policy.policy.eval()


# -- evaluation ---------------------------------------------------------------------------------------
def collective_env(task_env: str, transformer: TrajectoryTransformer, seed: int, max_path_length: int,
                   new_goal_each_episode: bool):
    """A task's env whose observations are [embedding of the agent's own window, state]."""
    return TaskEmbeddingWrapper(make_env(task_env, seed, max_path_length=max_path_length,
                                         new_goal_each_episode=new_goal_each_episode), transformer)


def evaluate_policy_on(task_env: str, policy, seed: int, episodes: int, max_path_length: int, new_goal_each_episode: bool,
                       transformer: Optional[TrajectoryTransformer] = None) -> Dict[str, Any]:
    """Deterministic episodes of `policy` (on [e, s] when a transformer is given): success and return."""
    env = collective_env(task_env, transformer, seed, max_path_length, new_goal_each_episode) if transformer is not None \
        else make_env(task_env, seed, max_path_length=max_path_length, new_goal_each_episode=new_goal_each_episode)
    try:
        res = evaluate(env, policy, episodes, max_path_length)
    finally:
        env.close()
    return {"success": res["success_rate"], "return": res["mean_return"], "episodes": episodes}

