"""Continual benchmark (issue 4): a 3-task stream of tasks SAC learns alone in under 100k steps,
100k steps per task, 3 seeds, for finetune, perfect_memory and ewc (and `legion`, issue 5).

All runs go to one process pool: the single-task reference runs (which also justify the choice of
tasks: their final success is printed) and the continual runs. Forward transfer is computed
afterwards from the references and each run's per-task success curve (progress.csv). Prints
average performance, forgetting and forward transfer, mean +- std over seeds.

    python benchmarks/continual_short.py                                  # full size: many CPU hours
    python benchmarks/continual_short.py --steps-per-task 2000 --eval-every 1000 --seeds 1   # smoke
    python benchmarks/continual_short.py --methods finetune,perfect_memory,ewc,legion --hidden 128,128 --batch-size 128
    python benchmarks/continual_short.py --report data/benchmarks/continual_short/<stamp> [same options]   # summarise again
    python benchmarks/continual_short.py --root DIR [options]   # resumable: run again to go on where it stopped
    python benchmarks/continual_short.py --root DIR --methods none [options]   # the references alone (another machine)
    python benchmarks/continual_short.py --set policy_kwargs/layer_norm=true --set qf_kwargs/layer_norm=true \
        --set policy_kwargs/activation=leaky_relu --set qf_kwargs/activation=leaky_relu   # CW's networks, every run

With --root, runs go to DIR (no timestamp) and keep their replay buffer in each snapshot; a second
invocation with the same options skips the finished runs (metrics.json) and resumes the others from
their last snapshot, so a benchmark longer than one sitting can be run in parts.

Tasks: reach, handle-press, drawer-close (override with --stream). Why these: single-task SAC runs
(128x128, batch 128, seed 0) learned reach and drawer-close within 20k steps in 2 of 3 seeds; at 40k
steps handle-press reached exploration success 0.6, against 0.1 for window-close and plate-slide and
0 for button-press-topdown, whose evaluation success was still 0 (screen of 2026-11-22). The
single-task reference runs print their final success, which is the check at full length. --hidden and --batch-size apply
to every run (references, baselines, and LEGION's actor, critics, encoder and decoders).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import mean_spread  # noqa: E402

from experiment_utils.launcher import launch, pending_jobs, require_ray  # noqa: E402
from lifelong_rl.continual.metrics import continual_metrics  # noqa: E402
from lifelong_rl.core.logger import load_snapshot  # noqa: E402
from lifelong_rl.envs.streams import stream_tasks  # noqa: E402
from lifelong_rl.models.dpmm import component_purity  # noqa: E402
from experiment_configs.registry import default_variant, schema  # noqa: E402
from lifelong_rl.variants import ConfigError, apply_set, lookup  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import continual_references  # noqa: E402


def parser(methods: str, references: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stream", default="reach,handle-press,drawer-close")
    p.add_argument("--methods", default=methods,
                   help="continual_sac methods, and/or legion; 'none': the single-task references alone")
    p.add_argument("--steps-per-task", type=int, default=100_000)
    p.add_argument("--eval-every", type=int, default=10_000)
    p.add_argument("--eval-episodes", type=int, default=3)
    p.add_argument("--random-steps", type=int, default=5000)
    p.add_argument("--hidden", default="256,256")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--legion-fit-every", type=int, default=10_000, help="LEGION's legion/dpmm/fit_every")
    p.add_argument("--references", action=argparse.BooleanOptionalAction, default=references,
                   help="single-task reference runs for forward transfer")
    p.add_argument("--set", action="append", default=[], metavar="KEY/PATH=VALUE",
                   help="a variant override for every run, references included (e.g. policy_kwargs/layer_norm=true)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--mode", default="local_par", choices=["local", "local_par", "ray"])
    p.add_argument("--out", default="data/benchmarks/continual_short")
    p.add_argument("--root", default="", metavar="DIR",
                   help="resumable: runs go to DIR; finished runs are skipped, unfinished ones resume")
    p.add_argument("--report", default="", metavar="ROOT",
                   help="run nothing: summarise the finished runs under ROOT (a previous invocation's dir, same options)")
    return p


def overrides(args) -> list:
    """The settings every run shares, as --set assignments (so references match the continual runs)."""
    return [f"policy_kwargs/hidden_sizes=[{args.hidden}]", f"qf_kwargs/hidden_sizes=[{args.hidden}]",
            f"algorithm_kwargs/batch_size={args.batch_size}", f"continual/random_steps_per_task={args.random_steps}",
            *args.set]


def parse_methods(text: str) -> list:
    """The comma-separated --methods, checked against the registry ('none' or '': no continual runs)."""
    methods = [m for m in text.split(",") if m and m != "none"]
    for m in methods:
        if m != "legion":
            lookup(schema("continual_sac"), "continual/cl_method").check(m, "--methods")  # names the valid ones
    return methods


def continual_variant(method: str, seed: int, args) -> dict:
    hidden = [int(h) for h in args.hidden.split(",")]
    v = default_variant("legion" if method == "legion" else "continual_sac")
    v.update(seed=seed, exp_name="continual_short")
    v["policy_kwargs"]["hidden_sizes"] = v["qf_kwargs"]["hidden_sizes"] = hidden
    v["algorithm_kwargs"]["batch_size"] = args.batch_size
    v["continual"].update(stream=args.stream, steps_per_task=args.steps_per_task, eval_every=args.eval_every,
                          eval_episodes=args.eval_episodes, random_steps_per_task=args.random_steps)
    if method == "legion":
        v["legion"].update(encoder_hidden=hidden, decoder_hidden=hidden)
        v["legion"]["dpmm"]["fit_every"] = args.legion_fit_every
    else:
        v["continual"]["cl_method"] = method
    v["logging"].update(progress_bar=False, snapshot_mode="last", save_replay_buffer=bool(args.root))
    keys = schema(v["algorithm"])
    for assignment in args.set:
        apply_set(v, keys, assignment)  # ConfigError on an unknown key
    return copy.deepcopy(v)


def run_curves(run_dir: str, tasks: list) -> list:
    df = pd.read_csv(os.path.join(run_dir, "progress.csv"))
    return [{"steps": df["continual/steps"].tolist(), "success": df[f"evaluation/{i:02d}_{t}/Success Rate"].tolist()}
            for i, t in enumerate(tasks)]


def legion_report(run_dirs: list) -> None:
    """Active DPMM components after each task and the component-task purity of the last fit."""
    purities = []
    for s, d in enumerate(run_dirs):
        df = pd.read_csv(os.path.join(d, "progress.csv"))
        ends = df[df["continual/average performance"].notna()]
        sample = load_snapshot(os.path.join(d, "params.pt"))["trainer"]["fit_sample"]
        purity = component_purity(sample["components"], sample["task_ids"]) if sample is not None else float("nan")
        purities.append(purity)
        print(f"legion seed {s}: active components after tasks 1..{len(ends)}: "
              f"{ends['trainer/LEGION Active Components'].astype(int).tolist()}, purity {purity:.3f}")
    print(f"{'legion':15s} {'purity':20s} {mean_spread(purities)}")


def main(argv=None, methods: str = "finetune,perfect_memory,ewc", references: bool = True) -> int:
    args = parser(methods, references).parse_args(argv)
    require_ray(args.mode)
    root = args.root or os.path.join(args.out, time.strftime("%Y_%m_%d_%H_%M_%S"))
    try:
        methods = parse_methods(args.methods)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    tasks = stream_tasks(args.stream)
    runs = {(m, s): os.path.join(root, f"{m}_s{s}") for m in methods for s in range(args.seeds)}
    try:
        jobs = [(continual_variant(m, s, args), d, None) for (m, s), d in runs.items()]
        ref_jobs = {}
        if args.references:
            for s in range(args.seeds):
                ref_jobs[s] = continual_references.reference_jobs(args.stream, args.steps_per_task, args.eval_every,
                                                                  args.eval_episodes, s, overrides(args),
                                                                  os.path.join(root, "references"))
                for v, _, _ in ref_jobs[s]:
                    v["logging"]["save_replay_buffer"] = bool(args.root)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.time()
    if args.report:
        root = args.report
        runs = {k: os.path.join(root, os.path.basename(d)) for k, d in runs.items()}
        ref_jobs = {s: [(v, os.path.join(root, "references", os.path.basename(d)), r) for v, d, r in js]
                    for s, js in ref_jobs.items()}
    else:
        # Longest first (LEGION, then continual SAC, then the single-task references): no idle tail.
        all_jobs = sorted(jobs, key=lambda j: j[0]["algorithm"] != "legion") + [j for js in ref_jobs.values() for j in js]
        todo = pending_jobs(all_jobs) if args.root else all_jobs
        rc = launch(todo, args.mode) if todo else 0
        if rc:
            print("some runs failed (see above); the finished ones are summarised below", file=sys.stderr)
    missing = [d for d in [*runs.values(), *(d for js in ref_jobs.values() for _, d, _ in js)]
               if not os.path.isfile(os.path.join(d, "metrics.json"))]
    if missing:
        print(f"unfinished runs, left out: {', '.join(missing)}", file=sys.stderr)
    ref_jobs = {s: js for s, js in ref_jobs.items() if not any(d in missing for _, d, _ in js)}
    refs = {}
    for s, js in ref_jobs.items():
        refs[s] = continual_references.write_references(js, overrides(args), args.steps_per_task, args.eval_every, s,
                                                        os.path.join(root, f"references_s{s}.json"))["tasks"]
        print(f"single-task reference, seed {s}: final success "
              + ", ".join(f"{t} {c['success'][-1]:.2f}" for t, c in refs[s].items()))
    print(f"stream {args.stream}, {args.steps_per_task} steps/task, {args.seeds} seeds, hidden {args.hidden}, "
          f"batch {args.batch_size}" + ("" if args.report else f", wall {(time.time() - t0) / 60:.1f} min"))
    for m in methods:
        ms, matrices = [], []
        for s in range(args.seeds):
            if runs[m, s] in missing:
                continue
            matrices.append(json.load(open(os.path.join(runs[m, s], "metrics.json")))["success_matrix"])
            ref = [refs[s].get(t) for t in tasks] if s in refs else None
            ms.append(continual_metrics(np.array(matrices[-1]), run_curves(runs[m, s], tasks), args.steps_per_task, ref))
        if not ms:
            continue
        for key in ("average_performance", "forgetting", "forward_transfer"):
            vals = [x[key] for x in ms if x[key] is not None]
            print(f"{m:15s} {key:20s} " + (mean_spread(vals) if vals else "unavailable"))
        print(f"{m:15s} success matrix (mean): {np.round(np.mean(matrices, 0), 2).tolist()}")
        if m == "legion":
            legion_report([runs[m, s] for s in range(args.seeds) if runs[m, s] not in missing])
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
