"""Make an offline dataset in agent_data/<name> (Minari format when the `offline` extra is installed,
else .npz; lifelong_rl/data_management/datasets.py describes both).

Kinds (whole episodes until --steps transitions; the last episode is cut there, as a timeout):
  random     a uniformly random policy
  policy     a snapshot's policy, deterministic, or with Gaussian action noise (--noise STD)
  replay     a snapshot's replay buffer, in the order it was written (saved with --save-replay-buffer)
  scripted   MetaWorld's scripted expert policy of a v3 task (metaworld.policies), --noise optional
  mix        the concatenation of existing datasets (--from NAME, repeatable)

    python scripts/collect_dataset.py --env gym/Hopper-v5 --kind random --steps 100000 --name hopper-random-v0
    python scripts/collect_dataset.py --kind policy --snapshot data/.../itr_3.pt --steps 100000 --name hopper-medium-v0
    python scripts/collect_dataset.py --kind mix --from hopper-medium-v0 --from hopper-expert-v0 --name hopper-medium-expert-v0

Prints the episodes' mean return (and D4RL's normalised score where the env has reference
returns: lifelong_rl/envs/reference_scores.py). Exit 2 with a one-line error for bad input (a
missing snapshot or dataset, an unknown env or task, an existing name without --overwrite),
before anything is written.
"""
import argparse
import os
import shutil
import sys

import numpy as np

from lifelong_rl.core.logger import SnapshotError, load_snapshot
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.data_management.datasets import (DATA_ROOT, DatasetError, OfflineDataset, find_dataset,
                                                  load_dataset, save_dataset)
from lifelong_rl.envs.make_env import UnknownEnvError, make_env, validate_env_name
from lifelong_rl.envs.reference_scores import normalized_score
from lifelong_rl.samplers.collectors import rollout
from lifelong_rl.variants import ConfigError

KINDS = ("random", "policy", "replay", "scripted", "mix")


class RandomPolicy:
    def __init__(self, env):
        self.space = env.action_space

    def get_action(self, obs):
        return self.space.sample()

    def reset(self):
        pass


class NoisyPolicy:
    """A policy's actions plus N(0, std^2) noise, clipped to the action bounds."""

    def __init__(self, policy, std: float, low, high, seed: int):
        self.policy, self.std, self.low, self.high = policy, std, low, high
        self.rng = np.random.default_rng(seed)

    def get_action(self, obs):
        a = np.asarray(self.policy.get_action(obs), np.float32)
        return np.clip(a + self.std * self.rng.standard_normal(a.shape), self.low, self.high).astype(np.float32)

    def reset(self):
        self.policy.reset()


class ScriptedPolicy:
    def __init__(self, task: str):
        from metaworld.policies import ENV_POLICY_MAP

        if task not in ENV_POLICY_MAP:
            raise ConfigError(f"MetaWorld has no scripted policy for '{task}'")
        self.policy = ENV_POLICY_MAP[task]()

    def get_action(self, obs):
        return np.clip(self.policy.get_action(np.asarray(obs, np.float64)), -1.0, 1.0).astype(np.float32)

    def reset(self):
        pass


def collect(env, policy, steps: int, max_path_length: int) -> OfflineDataset:
    """Whole episodes of `policy` until `steps` transitions (the last one cut to fit)."""
    paths, n = [], 0
    while n < steps:
        path = rollout(env, policy, max_path_length)
        paths.append({k: v[: steps - n] for k, v in path.items() if isinstance(v, np.ndarray)})
        n += len(paths[-1]["rewards"])
    return OfflineDataset({k: np.concatenate([p[k] for p in paths]) for k in paths[0]})


def from_replay(snapshot: str, steps: int) -> OfflineDataset:
    snap = load_snapshot(snapshot, mmap=True)
    buffer = (snap.get("schedule") or {}).get("buffer")
    if not buffer:
        raise SnapshotError(f"{snapshot} holds no replay buffer (the run needs --save-replay-buffer)")
    size, top = int(buffer["size"]), int(buffer["top"])
    order = np.arange(size) if size < buffer["max_size"] else (top + np.arange(size)) % size  # oldest first
    order = order[:steps] if steps else order
    data = {k: np.asarray(buffer["data"][k])[order] for k in ("observations", "actions", "rewards", "next_observations",
                                                                  "terminals", "timeouts")}
    return OfflineDataset(data)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--name", required=True, help=f"the dataset's name: it goes to {DATA_ROOT}/<name>")
    p.add_argument("--env", help="random, scripted: the env (gym/<Id> or metaworld/<task>-v3); policy and replay use "
                   "the snapshot's")
    p.add_argument("--snapshot", help="policy, replay: a snapshot (itr_<n>.pt, params.pt)")
    p.add_argument("--from", dest="sources", action="append", default=[], help="mix: a dataset to include (repeatable)")
    p.add_argument("--steps", type=int, default=100_000, help="transitions (replay: at most; 0: the whole buffer)")
    p.add_argument("--noise", type=float, default=0.0, help="policy, scripted: std of Gaussian action noise")
    p.add_argument("--max-path-length", type=int, default=0, help="episode length; 0: the env's own")
    p.add_argument("--seed", type=int, default=0, help="the env's and the noise's seed; random, scripted: a MetaWorld "
                   "task gets the goal of a run of this seed (policy, replay: the snapshot's run's goal)")
    p.add_argument("--format", choices=("auto", "minari", "npz"), default="auto")
    p.add_argument("--root", default=DATA_ROOT, help="where datasets live")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset of that name")
    args = p.parse_args(argv)
    try:
        data, env_name, meta = make(args)
    except (ConfigError, SnapshotError, UnknownEnvError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    data.meta = {"env": env_name, "kind": args.kind, **meta}
    returns = data.episode_returns()
    data.meta.update(num_episodes=len(returns), mean_return=float(returns.mean()), std_return=float(returns.std()))
    env = None
    if env_name.startswith("gym/"):
        import gymnasium as gym

        env = gym.make(env_name[4:])
    _remove(args.name, args.root)
    path = save_dataset(data, args.name, args.root, args.format, env=env)
    score = normalized_score(env_name, float(returns.mean()))
    print(f"{path}: {len(data)} transitions, {len(returns)} episodes ({int(data.terminals.sum())} terminal), "
          f"mean return {returns.mean():.1f} +- {returns.std():.1f}"
          + (f", normalized score {score:.1f}" if score is not None else ""))
    return 0


def _remove(name: str, root: str) -> None:
    base = os.path.join(root, name)
    for p in (base, base + ".npz"):
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.isfile(p):
            os.remove(p)


def make(args):
    """(dataset, env name, meta) of the arguments, after checking them all (nothing written yet)."""
    try:
        existing = find_dataset(args.name, args.root)
    except DatasetError:
        existing = None
    if existing and not args.overwrite:
        raise ConfigError(f"dataset '{args.name}' exists ({existing}); --overwrite replaces it")
    if args.steps < 0 or args.noise < 0:
        raise ConfigError("--steps and --noise must be >= 0")
    if args.kind in ("policy", "replay") and not args.snapshot:
        raise ConfigError(f"--kind {args.kind} needs --snapshot")
    if args.kind in ("random", "scripted") and not args.env:
        raise ConfigError(f"--kind {args.kind} needs --env")
    if args.kind == "mix":
        if not args.sources:
            raise ConfigError("--kind mix needs --from NAME (repeatable)")
        parts = [load_dataset(s, args.root) for s in args.sources]
        envs = {part.meta.get("env") for part in parts}
        if len(envs) != 1:
            raise ConfigError(f"--from datasets are of different envs: {sorted(map(str, envs))}")
        return OfflineDataset.concatenate(parts, {}), envs.pop(), {"sources": list(args.sources)}
    if args.kind == "replay":
        snap = load_snapshot(args.snapshot, mmap=True)
        return from_replay(args.snapshot, args.steps), snap["variant"]["env"], {"snapshot": os.path.abspath(args.snapshot)}
    if args.kind == "policy":
        from experiment_configs.evaluation import load_policy

        variant, policy, env = load_policy(args.snapshot, seed=args.seed)
        if args.noise:
            policy = NoisyPolicy(policy, args.noise, env.action_space.low, env.action_space.high, args.seed)
        meta = {"snapshot": os.path.abspath(args.snapshot), "noise": args.noise, "seed": args.seed}
        return collect(env, policy, args.steps, _length(env, args)), variant["env"], meta
    validate_env_name(args.env)
    # A MetaWorld task's goal: the one a run of seed --seed trains and evaluates on (as a policy or
    # replay dataset from that run's snapshot has it).
    env = make_env(args.env, args.seed, args.max_path_length, goal_seed=RunSeeds(args.seed).child("goal"))
    if args.kind == "random":
        policy = RandomPolicy(env)
    else:
        if not args.env.startswith("metaworld/"):
            raise ConfigError(f"--kind scripted needs a MetaWorld task (metaworld/<task>-v3), not '{args.env}'")
        policy = ScriptedPolicy(args.env.split("/", 1)[1])
        if args.noise:
            policy = NoisyPolicy(policy, args.noise, -1.0, 1.0, args.seed)
    return collect(env, policy, args.steps, _length(env, args)), args.env, {"noise": args.noise, "seed": args.seed}


def _length(env, args) -> int:
    from lifelong_rl.envs.make_env import episode_length

    return args.max_path_length or episode_length(env)


if __name__ == "__main__":
    sys.exit(main())
