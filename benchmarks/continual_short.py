"""Continual benchmark (issue 4): a 3-task stream of tasks SAC learns alone in under 100k steps,
100k steps per task, 3 seeds, for finetune, perfect_memory and ewc. First the single-task reference
runs (which also justify the choice of tasks: their final success is printed), then the continual
runs; prints average performance, forgetting and forward transfer, mean +- std over seeds.

    python benchmarks/continual_short.py                                  # full size: many CPU hours
    python benchmarks/continual_short.py --steps-per-task 2000 --eval-every 1000 --seeds 1   # smoke

Tasks: reach, window-close, drawer-close (override with --stream).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import mean_spread  # noqa: E402

from experiment_utils.launcher import launch  # noqa: E402
from lifelong_rl.registry import default_variant  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import continual_references  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stream", default="reach,window-close,drawer-close")
    p.add_argument("--methods", default="finetune,perfect_memory,ewc")
    p.add_argument("--steps-per-task", type=int, default=100_000)
    p.add_argument("--eval-every", type=int, default=10_000)
    p.add_argument("--eval-episodes", type=int, default=3)
    p.add_argument("--random-steps", type=int, default=5000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--mode", default="local_par", choices=["local", "local_par"])
    p.add_argument("--out", default="data/benchmarks/continual_short")
    args = p.parse_args()
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S")
    root = os.path.join(args.out, stamp)

    refs = []
    for seed in range(args.seeds):
        path = os.path.join(root, f"references_s{seed}.json")
        rc = continual_references.main(["--stream", args.stream, "--steps-per-task", str(args.steps_per_task),
                                        "--eval-every", str(args.eval_every), "--eval-episodes", str(args.eval_episodes),
                                        "--seed", str(seed), "--mode", args.mode, "--log-dir", os.path.join(root, "references"),
                                        "--out", path])
        if rc:
            return rc
        refs.append(path)
    for seed, path in enumerate(refs):
        tasks = json.load(open(path))["tasks"]
        print(f"single-task reference, seed {seed}: final success "
              + ", ".join(f"{t} {c['success'][-1]:.2f}" for t, c in tasks.items()))

    jobs = []
    for method in args.methods.split(","):
        for seed in range(args.seeds):
            v = default_variant("continual_sac")
            v.update(seed=seed, exp_name="continual_short")
            v["continual"].update(stream=args.stream, cl_method=method, steps_per_task=args.steps_per_task,
                                  eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                                  random_steps_per_task=args.random_steps, references=refs[seed])
            v["logging"].update(progress_bar=False, snapshot_mode="last")
            jobs.append((copy.deepcopy(v), os.path.join(root, f"{method}_s{seed}"), None))
    rc = launch(jobs, args.mode)
    if rc:
        return rc
    print(f"stream {args.stream}, {args.steps_per_task} steps/task, {args.seeds} seeds")
    for method in args.methods.split(","):
        ms = [json.load(open(os.path.join(root, f"{method}_s{s}", "metrics.json"))) for s in range(args.seeds)]
        for key in ("average_performance", "forgetting", "forward_transfer"):
            vals = [m[key] for m in ms if m[key] is not None]
            print(f"{method:15s} {key:20s} " + (mean_spread(vals) if vals else "unavailable"))
        print(f"{method:15s} final success matrix (mean): {np.round(np.mean([m['success_matrix'] for m in ms], 0), 2).tolist()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
