"""Make an offline dataset in agent_data/<name> (Minari format when the `offline` extra is installed,
else .npz; lifelong_rl/data_management/datasets.py describes both).

Kinds (whole episodes until --steps transitions; the last episode is cut there, as a timeout):
  random     a uniformly random policy
  policy     a snapshot's policy, deterministic, or with Gaussian action noise (--noise STD)
  replay     a snapshot's replay buffer, in the order it was written (saved with --save-replay-buffer)
  scripted   MetaWorld's scripted expert policy of a v3 task (metaworld.policies), --noise optional
  mix        the concatenation of existing datasets (--from NAME, repeatable)
  relabel    a gymnasium MuJoCo dataset (--from NAME) as data of the lifelong env on the same simulator
             (--env lifelong/hopper from gym/Hopper-v5): rewards of the lifelong env at --target-velocity,
             no terminals (the lifelong env never terminates: an episode that did ends as a timeout)

    python scripts/collect_dataset.py --env gym/Hopper-v5 --kind random --steps 100000 --name hopper-random-v0
    python scripts/collect_dataset.py --kind policy --snapshot data/.../itr_3.pt --steps 100000 --name hopper-medium-v0
    python scripts/collect_dataset.py --kind mix --from hopper-medium-v0 --from hopper-expert-v0 --name hopper-medium-expert-v0
    python scripts/collect_dataset.py --kind relabel --from hopper-medium-expert-v0 --env lifelong/hopper --name lifelong-hopper-v0

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
import torch

from lifelong_rl.core.logger import SnapshotError, load_snapshot
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.data_management.datasets import (DATA_ROOT, DatasetError, OfflineDataset, find_dataset,
                                                  load_dataset, save_dataset)
from lifelong_rl.envs.lifelong import TaskReward
from lifelong_rl.envs.make_env import UnknownEnvError, episode_length, make_env, validate_env_name
from lifelong_rl.envs.reference_scores import normalized_score
from lifelong_rl.samplers.dataset_collection import NoisyPolicy, RandomPolicy, ScriptedPolicy, collect
from lifelong_rl.variants import ConfigError

KINDS = ("random", "policy", "replay", "scripted", "mix", "relabel")
SAME_SIMULATOR = {"lifelong/hopper": "gym/Hopper-v5"}  # lifelong/ant drops gym's contact forces: no match


def from_replay(snapshot: str, steps: int) -> OfflineDataset:
    snap = load_snapshot(snapshot, mmap=True)
    buffer = (snap.get("schedule") or {}).get("buffer")
    keys = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")
    if not buffer or "env" not in snap["variant"] or not set(keys) <= set(buffer.get("data", {})):
        raise SnapshotError(f"{snapshot} holds no single-env replay buffer (an off-policy run saved with "
                            "--save-replay-buffer has one)")
    size, top = int(buffer["size"]), int(buffer["top"])
    order = np.arange(size) if size < buffer["max_size"] else (top + np.arange(size)) % size  # oldest first
    order = order[:steps] if steps else order
    return OfflineDataset({k: np.asarray(buffer["data"][k])[order] for k in keys})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--name", required=True, help=f"the dataset's name: it goes to {DATA_ROOT}/<name>")
    p.add_argument("--env", help="random, scripted: the env (gym/<Id> or metaworld/<task>-v3); policy and replay use "
                   "the snapshot's")
    p.add_argument("--snapshot", help="policy, replay: a snapshot (itr_<n>.pt, params.pt)")
    p.add_argument("--from", dest="sources", action="append", default=[], help="mix: a dataset to include (repeatable); "
                   "relabel: the dataset")
    p.add_argument("--target-velocity", type=float, default=2.0, help="relabel: the lifelong env's v* of the rewards")
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
    # Written beside, then moved in place: a failed write keeps the dataset it was to replace.
    partial = os.path.join(args.root, ".partial")
    written = save_dataset(data, args.name, partial, args.format, env=env)
    path = os.path.join(args.root, os.path.relpath(written, partial))
    _remove(args.name, args.root)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    os.replace(written, path)
    shutil.rmtree(partial, ignore_errors=True)
    score = normalized_score(env_name, float(returns.mean()), meta.get("run_seed"))
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
    if args.steps < 0 or args.noise < 0 or (args.steps == 0 and args.kind in ("random", "policy", "scripted")):
        raise ConfigError("--steps must be > 0 (0: a replay kind's whole buffer) and --noise >= 0")
    if args.kind in ("policy", "replay") and not args.snapshot:
        raise ConfigError(f"--kind {args.kind} needs --snapshot")
    if args.kind in ("random", "scripted") and not args.env:
        raise ConfigError(f"--kind {args.kind} needs --env")
    if args.kind == "mix":
        if not args.sources:
            raise ConfigError("--kind mix needs --from NAME (repeatable)")
        parts = [load_dataset(s, args.root) for s in args.sources]
        origins = {(part.meta.get("env"), part.meta.get("run_seed")) for part in parts}
        if len(origins) != 1 or next(iter(origins))[0] is None:
            raise ConfigError(f"--from datasets must be of one env (and one run seed's goal), known from their "
                              f"metadata: {sorted(map(str, origins))}")
        env_name, run_seed = origins.pop()
        return OfflineDataset.concatenate(parts, {}), env_name, {"sources": list(args.sources), "run_seed": run_seed}
    if args.kind == "relabel":
        return relabel(args)
    # run_seed: the seed of the run whose MetaWorld goal the data is on (a run's goal comes from its seed)
    if args.kind == "replay":
        variant = load_snapshot(args.snapshot, mmap=True)["variant"]
        data = from_replay(args.snapshot, args.steps)
        return data, variant["env"], {"snapshot": os.path.abspath(args.snapshot), "run_seed": variant["seed"]}
    if args.kind == "policy":
        from experiment_configs.evaluation import load_policy

        variant, policy, env = load_policy(args.snapshot, seed=args.seed)
        if args.noise:
            policy = NoisyPolicy(policy, args.noise, env.action_space.low, env.action_space.high, args.seed)
        meta = {"snapshot": os.path.abspath(args.snapshot), "noise": args.noise, "seed": args.seed,
                "run_seed": variant["seed"]}
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
    meta = {"noise": args.noise, "seed": args.seed, "run_seed": args.seed}
    return collect(env, policy, args.steps, _length(env, args)), args.env, meta


def relabel(args):
    """A gymnasium dataset as the lifelong env's on the same simulator (checked), rewards recomputed."""
    if args.env not in SAME_SIMULATOR or len(args.sources) != 1:
        raise ConfigError(f"--kind relabel needs --env in {', '.join(SAME_SIMULATOR)} and one --from dataset of its "
                          f"simulator ({', '.join(SAME_SIMULATOR.values())})")
    source = load_dataset(args.sources[0], args.root)
    if source.meta.get("env") != SAME_SIMULATOR[args.env]:
        raise ConfigError(f"dataset '{args.sources[0]}' is of {source.meta.get('env')}, not {SAME_SIMULATOR[args.env]}")
    arrays = source.arrays()
    reward = TaskReward(args.env.split("/", 1)[1], args.target_velocity)
    arrays["rewards"] = reward(*(torch.from_numpy(arrays[k]) for k in ("observations", "actions", "next_observations"))).numpy()
    arrays["timeouts"] = arrays["timeouts"] | arrays["terminals"]
    arrays["terminals"] = np.zeros_like(arrays["terminals"])
    return OfflineDataset(arrays), args.env, {"sources": list(args.sources), "target_velocity": args.target_velocity}


def _length(env, args) -> int:
    return args.max_path_length or episode_length(env)


if __name__ == "__main__":
    sys.exit(main())
