"""Command line of every run script: flags -> variant overrides -> sweep x seeds -> launch.

Every value is checked against the algorithm's schema before anything is written; bad input is a
one-line error with exit code 2.
"""
from __future__ import annotations

import argparse
import copy
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
import traceback
from typing import Any, Dict, List, Optional, Tuple, Union

from experiment_configs import registry
from lifelong_rl.core.logger import SnapshotError, common_snapshots, latest_snapshot, load_snapshot, snapshot_epochs
from lifelong_rl.core.loop import NaNLossError, summary_line
from lifelong_rl.envs.make_env import UnknownEnvError
from experiment_utils.ray_launch import RayOptions
from lifelong_rl.variants import ConfigError, apply_set, expand_sweep, has_key, lookup, merge_variant, parse_sweep, set_path

MODES = ("local", "local_par", "ray")
BAD_INPUT = (ConfigError, UnknownEnvError, SnapshotError)

# Command-line flags of every continual run script -> variant keys.
CONTINUAL_FLAGS = {
    "--stream": "continual/stream",
    "--num-tasks": "continual/num_tasks",
    "--steps-per-task": "continual/steps_per_task",
    "--eval-every": "continual/eval_every",
    "--eval-episodes": "continual/eval_episodes",
}

EXAMPLES = """examples:
  {script} --quick                                   a smoke run of seconds
  {script} --seed 0 --num-seeds 3 --mode local_par   three seeds, one process each
  {script} --num-seeds 4 --vectorize-seeds            four seeds as one batch in one process
  {script} --num-seeds 5 --mode ray                    a run per seed as Ray tasks (a local Ray, or --ray-address)
  {script} --set trainer_kwargs/discount=0.98 --sweep trainer_kwargs/policy_lr=1e-3,3e-4 --dry-run
  {script} --resume data/<exp_name>/<run>            continue a killed run from its last snapshot
"""
# With --resume, only these may be given: the others would change the run.
RESUME_FLAGS = ("resume", "epochs", "no_progress", "mode", "ray_address", "cpus_per_run", "gpus_per_run", "max_retries")


class OneLineParser(argparse.ArgumentParser):
    """Bad flags (an unknown one, a value of the wrong type) are one line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser(description: str = "", extra_flags: Optional[Dict[str, Tuple[str, Any]]] = None,
                 script: str = "run_scripts/<algo>.py", schema: Optional[Dict[str, Any]] = None) -> argparse.ArgumentParser:
    """Common flags of every run script, plus `extra_flags` {flag: (variant key, Param)} of one script.
    Flags whose variant key the algorithm's `schema` lacks are left out of --help (given anyway,
    they are a one-line error)."""

    def shown(key: str, text: str) -> str:
        return text if schema is None or has_key(schema, key) else argparse.SUPPRESS

    p = OneLineParser(description=description, epilog=EXAMPLES.format(script=script), allow_abbrev=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, (key, param) in (extra_flags or {}).items():
        choices = f" ({', '.join(map(str, param.choices))})" if param.choices else ""
        p.add_argument(flag, dest="extra:" + key, metavar=param.type.upper(),
                       help=f"{param.doc}{choices}; variant key {key}, default {param.default!r}")
    p.add_argument("--env", metavar="NAME", help=shown("env", "metaworld/<task>-v3 or gym/<Id>, e.g. gym/Hopper-v5"))
    p.add_argument("--seed", type=int, metavar="N", help="first seed (child seeds for every env, buffer and network)")
    p.add_argument("--num-seeds", type=int, default=1, metavar="N", help="run seeds seed..seed+N-1 (default 1)")
    p.add_argument("--epochs", type=int, metavar="N",
                   help=shown("algorithm_kwargs/num_epochs", "algorithm_kwargs/num_epochs; with --resume, train a run further"))
    p.add_argument("--set", action="append", default=[], metavar="KEY/PATH=VALUE", help="override a variant key (repeatable)")
    p.add_argument("--sweep", action="append", default=[], metavar="KEY/PATH=V1,V2",
                   help="sweep a key (repeatable; Cartesian product; lists separated by ';')")
    p.add_argument("--mode", choices=MODES, default="local",
                   help="local: one run after another; local_par: one process per run; ray: one Ray task per run, "
                        "retried from its last snapshot when its worker dies")
    p.add_argument("--vectorize-seeds", action="store_true",
                   help="train the --num-seeds seeds of each configuration as one batch in one process "
                        "(stacked networks; one run dir per seed)")
    p.add_argument("--ray-address", metavar="ADDR", help="--mode ray: join a running cluster (auto or HOST:PORT); "
                   "default: start a Ray on this machine")
    p.add_argument("--cpus-per-run", type=int, default=1, metavar="N", help="--mode ray: CPUs (and torch threads) per run")
    p.add_argument("--gpus-per-run", type=float, default=0.0, metavar="N", help="--mode ray: GPUs per run (fractions share one)")
    p.add_argument("--max-retries", type=int, default=3, metavar="N",
                   help="--mode ray: retries of a run whose worker died (each resumes from the last snapshot)")
    p.add_argument("--device", metavar="DEVICE", help="cpu, cuda or cuda:N")
    p.add_argument("--exp-name", metavar="NAME", help="runs go to <log-dir>/<exp-name>/<run-name>/")
    p.add_argument("--log-dir", default="data", metavar="DIR", help="base directory of runs (default: data)")
    p.add_argument("--snapshot-mode", metavar="MODE", help="which snapshots to keep: all, last, gap, gap_and_last or none")
    p.add_argument("--snapshot-gap", type=int, metavar="N", help="epochs between snapshots in the gap modes")
    p.add_argument("--save-replay-buffer", action=argparse.BooleanOptionalAction,
                   help="keep the replay buffer in snapshots: exact resume (the default); --no-save-replay-buffer: "
                        "smaller snapshots")
    p.add_argument("--log-to-wandb", action="store_true", help="also log to wandb (online when logged in, else offline)")
    p.add_argument("--log-to-tensorboard", action="store_true", help="also log to TensorBoard")
    p.add_argument("--no-progress", action="store_true", help="no progress bar; a log line per epoch")
    p.add_argument("--dry-run", action="store_true", help="print the expanded variants as JSON and run nothing")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest snapshot")
    p.add_argument("--quick", action="store_true", help="tiny sizes for a smoke run")
    p.add_argument("--preset", metavar="NAME", help="a named set of sizes the algorithm offers (mpc: gpu, Lu et al.'s "
                                                     "planner sizes); applied after --quick, before --set")
    return p


def variants_from_args(args: argparse.Namespace, variant: Dict[str, Any], sweep_values: Dict[str, List[Any]]) -> List[Dict[str, Any]]:
    """Apply flags to the run script's variant and expand the sweep; every variant is checked (ConfigError)."""
    name = variant.get("algorithm", "")
    schema = registry.schema(name)
    v = merge_variant(registry.default_variant(name), variant)
    if args.quick:
        for k, val in registry.quick_overrides(name).items():
            set_path(v, k, copy.deepcopy(val))
    if args.preset:
        for k, val in registry.preset_overrides(name, args.preset).items():
            set_path(v, k, copy.deepcopy(val))
    simple = {
        ("--env", "env"): args.env, ("--seed", "seed"): args.seed, ("--device", "device"): args.device,
        ("--exp-name", "exp_name"): args.exp_name, ("--epochs", "algorithm_kwargs/num_epochs"): args.epochs,
        ("--snapshot-mode", "logging/snapshot_mode"): args.snapshot_mode,
        ("--snapshot-gap", "logging/snapshot_gap"): args.snapshot_gap,
    }
    for flag, key in ((args.log_to_wandb, "log_to_wandb"), (args.log_to_tensorboard, "log_to_tensorboard")):
        if flag:
            v["logging"][key] = True
    if args.save_replay_buffer is not None:
        v["logging"]["save_replay_buffer"] = args.save_replay_buffer
    if args.no_progress:
        v["logging"]["progress_bar"] = False
    for (flag, k), val in simple.items():
        if val is None:
            continue
        if not has_key(schema, k):
            raise ConfigError(f"{flag} does not apply to algorithm '{name}'")
        set_path(v, k, lookup(schema, k).check(val, k))
    for k, val in vars(args).items():
        if k.startswith("extra:") and val is not None:
            key = k[len("extra:"):]
            set_path(v, key, lookup(schema, key).parse(val, key))
    for s in args.set:
        apply_set(v, schema, s)
    sweeps = {}
    for k, vals in sweep_values.items():
        sweeps[k] = [lookup(schema, k).check(val, k) for val in vals]
    for s in args.sweep:
        k, vals = parse_sweep(s, schema)
        sweeps[k] = vals
    if args.num_seeds < 1:
        raise ConfigError(f"--num-seeds must be >= 1, got {args.num_seeds}")
    seeds = list(range(v["seed"], v["seed"] + args.num_seeds))
    return [registry.validate(var) for var in expand_sweep(v, sweeps, seeds)]


def run_name(variant: Dict[str, Any]) -> str:
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S")
    sweep = "_".join(f"{k.split('/')[-1]}={v}" for k, v in variant.get("sweep_point", {}).items())
    return "_".join(x for x in (stamp, sweep.replace(" ", ""), f"s{variant['seed']}") if x)


def _unique_dir(base: str) -> str:
    path, i = base, 1
    while os.path.exists(path):
        path, i = f"{base}_{i}", i + 1
    return path


Job = Tuple[Dict[str, Any], str, Optional[str]]  # (variant, log dir, snapshot to resume from)
Unit = List[Job]  # what one process runs: one job, or the seeds of one configuration as one batch
Result = Tuple[str, Optional[str], str, int]  # (log dir, error or None, summary line, exit code)


def _run_unit(unit: Unit, threads: int) -> List[Result]:
    """Run one unit; for each of its runs (log dir, error or None, summary line, exit code: 0, 1 a
    failed run, 2 bad input). `threads` > 0: this process's torch threads (and errors are reported,
    not raised, so the other runs of a parallel sweep go on)."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    from experiment_configs.base_experiment import experiment, lockstep_experiment

    dirs = [d for _, d, _ in unit]

    def failed(message: str, code: int) -> List[Result]:
        return [(d, message, "", code) for d in dirs]

    try:
        if len(unit) == 1:
            summaries = [experiment(*unit[0]).summary]
        else:
            summaries = lockstep_experiment([v for v, _, _ in unit], dirs, [r for _, _, r in unit])
        return [(d, None, summary_line(summary), 0) for d, summary in zip(dirs, summaries)]
    except BAD_INPUT as e:
        return failed(f"{type(e).__name__}: {e}", 2)
    except NaNLossError as e:
        return failed(f"{type(e).__name__}: {e}", 1)
    except Exception as e:  # a bug: the other runs of a parallel sweep go on, the traceback is kept
        if threads == 0:  # one process (local): raise with its traceback
            raise
        for d in dirs:
            with open(os.path.join(d, "error.txt"), "w") as f:
                f.write(traceback.format_exc())
        return failed(f"{type(e).__name__}: {e} (traceback in error.txt)", 1)


def pending_jobs(jobs: List[Job], seed_group: bool = False) -> List[Job]:
    """The jobs of a fixed-directory batch (a benchmark, reference runs) still to run: finished runs
    (metrics.json written, as continual runs do at their end) are left out, a run with a snapshot
    resumes from its latest one with the snapshot's own variant, the rest start. `seed_group`: the
    jobs are the seeds of one vectorized run, resumed from the latest epoch they all have."""
    todo = []
    common = common_snapshots([d for _, d, _ in jobs]) if seed_group else None
    if seed_group and common is None:  # nothing to resume: clear what a kill in the first save left
        for _, d, _ in jobs:
            if os.path.isdir(d):
                print(f"clearing {d} (no snapshot of an epoch all seeds have)")
                shutil.rmtree(d)
    for i, (variant, d, _) in enumerate(jobs):
        if os.path.isfile(os.path.join(d, "metrics.json")):
            continue
        if seed_group:
            snap = common[i] if common else None
        else:
            snap = latest_snapshot(d) if os.path.isdir(d) else None
        if snap is not None:
            state = load_snapshot(snap)
            variant = state["variant"]
            print(f"resuming {d} after epoch {state['epoch']}")
        todo.append((variant, d, snap))
    return todo


def launch(jobs: List[Union[Job, Unit]], mode: str, procs: int = 0, ray_options: Optional[RayOptions] = None) -> int:
    """Run jobs (a job, or a list of jobs: seeds trained as one batch); local_par uses `procs`
    processes (0: one per core), ray one Ray task per unit. Prints each run's end and summary;
    returns the largest exit code."""
    units = [u if isinstance(u, list) else [u] for u in jobs]
    if mode == "ray":
        from experiment_utils.ray_launch import launch_ray

        results = launch_ray(units, ray_options or RayOptions())
    elif mode == "local" or len(units) == 1:
        results = [r for u in units for r in _run_unit(u, 0)]
    else:
        procs = min(len(units), procs or os.cpu_count() or 1)
        threads = max(1, (os.cpu_count() or 1) // procs)
        with mp.get_context("spawn").Pool(procs) as pool:
            results = [r for rs in pool.starmap(_run_unit, [(u, threads) for u in units], chunksize=1) for r in rs]
    for d, err, _, _ in results:
        if err:
            print(f"error: {err} [{d}]", file=sys.stderr)
    for d, err, summary, _ in results:
        if not err:
            print(f"finished: {d}" + (f" ({summary})" if summary else ""))
    return max(code for *_, code in results)


def run_experiment(variant: Dict[str, Any], sweep_values: Optional[Dict[str, List[Any]]] = None,
                   argv: Optional[List[str]] = None, description: str = "",
                   extra_flags: Optional[Dict[str, str]] = None) -> int:
    """Entry point of run scripts. `extra_flags` maps a script's own flags to variant keys, e.g.
    {"--stream": "continual/stream"}. Returns the exit code (0 ok, 1 a run failed, 2 bad input)."""
    schema = registry.schema(variant["algorithm"])
    flags = {flag: (key, lookup(schema, key)) for flag, key in (extra_flags or {}).items()}
    parser = build_parser(description, flags, os.path.relpath(sys.argv[0]) if sys.argv[0] else "run_scripts/<algo>.py", schema)
    args = parser.parse_args(argv)
    try:
        ray_options = launch_options(args)
        if args.resume:
            return _resume(args, parser, ray_options)
        variants = variants_from_args(args, variant, sweep_values or {})
        check_vectorize(args.vectorize_seeds, variants, args.num_seeds)
    except BAD_INPUT as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(variants, indent=2, sort_keys=True))
        return 0
    jobs = [(v, _unique_dir(os.path.join(args.log_dir, v["exp_name"], run_name(v))), None) for v in variants]
    try:
        return launch(seed_groups(jobs) if args.vectorize_seeds else jobs, args.mode, ray_options=ray_options)
    except BAD_INPUT as e:  # raised before any run starts (e.g. a Ray cluster that cannot be joined)
        print(f"error: {e}", file=sys.stderr)
        return 2


def launch_options(args: argparse.Namespace) -> Optional[RayOptions]:
    """The Ray options of --mode ray (ConfigError when Ray is missing or a value is bad); None otherwise."""
    ray_flags = [f for f, given in (("--ray-address", args.ray_address is not None), ("--cpus-per-run", args.cpus_per_run != 1),
                                    ("--gpus-per-run", args.gpus_per_run != 0), ("--max-retries", args.max_retries != 3)) if given]
    if args.mode != "ray":
        if ray_flags:
            raise ConfigError(f"{', '.join(ray_flags)} applies to --mode ray only")
        return None
    options = RayOptions(args.ray_address, args.cpus_per_run, args.gpus_per_run, args.max_retries)
    options.check()
    return options


def require_ray(mode: str) -> None:
    """For benchmark and batch scripts with a --mode flag: without Ray, `--mode ray` is one line, exit 2."""
    if mode == "ray":
        try:
            RayOptions().check()
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)


def check_vectorize(vectorize: bool, variants: List[Dict[str, Any]], num_seeds: int) -> None:
    if not vectorize:
        return
    for v in variants:
        registry.check_vectorizable(v)
    if num_seeds < 2:
        raise ConfigError(f"--vectorize-seeds needs --num-seeds of 2 or more, got {num_seeds}")


def seed_groups(jobs: List[Job]) -> List[Unit]:
    """The jobs of each sweep point (its seeds) as one unit, in sweep order."""
    groups: Dict[str, Unit] = {}
    for job in jobs:
        groups.setdefault(json.dumps(job[0]["sweep_point"], sort_keys=True, default=str), []).append(job)
    return list(groups.values())


def _resume(args: argparse.Namespace, parser: argparse.ArgumentParser, ray_options: Optional[RayOptions]) -> int:
    """Continue a run from its latest snapshot; a seed of a vectorized run continues with its
    whole seed group (the sibling run dirs its snapshot names), as one batch again."""
    from experiment_configs.base_experiment import check_resumable

    defaults = vars(parser.parse_args([]))
    flag_of = {a.dest: a.option_strings[0] for a in parser._actions if a.option_strings}
    changed = [k for k, val in vars(args).items() if k not in RESUME_FLAGS and val != defaults[k]]
    if changed:
        flags = ", ".join(flag_of[k] for k in changed)
        raise ConfigError(f"--resume continues a run as it was; {flags} would change it (only --epochs, --no-progress "
                          "and the --mode ray flags may be given): start a new run instead")
    run_dir = os.path.normpath(args.resume)
    path, snap = _latest(run_dir)  # a seed dir killed while saving may hold its latest one as params.pt.prev
    group = snap.get("seed_group") or [os.path.basename(run_dir)]
    if os.path.basename(run_dir) not in group:
        raise SnapshotError(f"{run_dir} is not among the seed dirs its snapshot names ({', '.join(group)}): renamed?")
    dirs = [os.path.join(os.path.dirname(run_dir), name) for name in group]
    paths = [path] if len(dirs) == 1 else common_snapshots(dirs)
    if paths is None:
        raise SnapshotError(f"the seed dirs of {run_dir} ({', '.join(group)}) share no snapshot epoch (killed while "
                            "saving the first one): delete them and start again")
    unit: Unit = []
    for d, path in zip(dirs, paths):  # the seeds of a group: one epoch, one configuration
        snap = load_snapshot(path, mmap=True)
        check_resumable(snap, path)
        variant, num_epochs = snap["variant"], int(snap["num_epochs"])
        if args.epochs is not None:
            if "algorithm_kwargs" not in variant or "num_epochs" not in variant["algorithm_kwargs"]:
                raise ConfigError(f"--epochs does not apply to algorithm '{variant['algorithm']}'")
            variant["algorithm_kwargs"]["num_epochs"] = args.epochs
            registry.validate(variant)
            num_epochs = num_epochs if snap.get("phase") == "offline_" else args.epochs
        if args.no_progress:
            variant["logging"]["progress_bar"] = False
        online_next = snap.get("phase") == "offline_" and variant.get("algorithm_kwargs", {}).get("num_epochs", 0) > 0
        if snap["epoch"] + 1 >= num_epochs and not online_next:
            more = ("" if "num_epochs" not in variant.get("algorithm_kwargs", {}) else
                    " (--epochs N adds an online phase of N epochs)" if snap.get("phase") == "offline_" else
                    " (use --epochs to train longer)")
            print(f"run {d} already finished {snap['epoch'] + 1} {snap.get('phase', '')}epochs{more}")
            return 0
        unit.append((variant, d, path))
    for _, d, path in unit:
        print(f"resuming {d} from {os.path.basename(path)} (epoch {snap['epoch']})")
    return launch([unit], args.mode, ray_options=ray_options)


def _latest(run_dir: str) -> Tuple[str, Dict[str, Any]]:
    if not os.path.isdir(run_dir):
        raise SnapshotError(f"run directory not found: {run_dir}")
    epochs = snapshot_epochs(run_dir)
    path = epochs[max(epochs)] if epochs else latest_snapshot(run_dir)  # else a run killed in its offline phase
    if path is None:
        raise SnapshotError(f"no snapshot (params.pt, itr_<epoch>.pt or their offline_ ones) in {run_dir}")
    return path, load_snapshot(path, mmap=True)
