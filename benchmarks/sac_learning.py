"""SAC learning benchmark (issues 2, 16): metaworld/reach-v3, 3 seeds, 100k env steps each, the
seeds trained as one batch (--vectorize-seeds) by default.

Prints, per seed and as mean +- std over seeds, the evaluation success rate averaged over the last
3 evaluations (goal: >= 0.9), env steps per second and the wall time.

    python benchmarks/sac_learning.py --root /tmp/sac_learning   # the full benchmark; again: resumes
    python benchmarks/sac_learning.py --mode local_par             # one process per seed (as in issue 2)
    python benchmarks/sac_learning.py --steps 20000 --seeds 1 --env gym/Pendulum-v1 --mode local
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import mean_spread  # noqa: E402

from experiment_utils.launcher import launch, pending_jobs, require_ray  # noqa: E402
from experiment_configs.registry import default_variant  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="metaworld/reach-v3")
    p.add_argument("--steps", type=int, default=100_000, help="env steps per seed, warm-up included")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    p.add_argument("--warmup", type=int, default=5000)
    p.add_argument("--eval-steps", type=int, default=1000, help="eval steps per epoch (2 MetaWorld episodes)")
    p.add_argument("--mode", default="vectorized", choices=["vectorized", "local", "local_par", "ray"],
                   help="vectorized: the seeds as one batch in one process; the others: one run per seed")
    p.add_argument("--procs", type=int, default=0, help="processes for local_par (0: one per core)")
    p.add_argument("--out", default="data/benchmarks/sac_learning", help="a new <out>/<timestamp> dir per call")
    p.add_argument("--root", help="a fixed dir instead: the same command again resumes the runs in it")
    p.add_argument("--matmul-dtype", default="float32", choices=["float32", "bfloat16"], help="trainer_kwargs/matmul_dtype")
    args = p.parse_args()
    require_ray(args.mode)

    steps_per_epoch = 1000
    epochs = (args.steps - args.warmup) // steps_per_epoch
    root = args.root or os.path.join(args.out, time.strftime("%Y_%m_%d_%H_%M_%S"))
    jobs = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        v = default_variant("sac")
        v.update(env=args.env, seed=seed, exp_name="sac_learning")
        v["trainer_kwargs"]["matmul_dtype"] = args.matmul_dtype
        v["algorithm_kwargs"].update(num_epochs=epochs, min_num_steps_before_training=args.warmup,
                                     num_expl_steps_per_train_loop=steps_per_epoch,
                                     num_trains_per_train_loop=steps_per_epoch,
                                     num_eval_steps_per_epoch=args.eval_steps)
        v["logging"].update(progress_bar=False, snapshot_mode="last")
        jobs.append((copy.deepcopy(v), os.path.join(root, f"{args.env.replace('/', '_')}_s{seed}"), None))
    t0 = time.time()
    todo = pending_jobs(jobs, seed_group=args.mode == "vectorized")
    if args.mode == "vectorized":
        rc = launch([todo], "local")
    else:
        rc = launch(todo, args.mode, args.procs)
    wall = time.time() - t0
    if rc:
        return rc

    finals, speeds, key = [], [], None
    for (v, d, _) in jobs:
        seed = v["seed"]
        df = pd.read_csv(os.path.join(d, "progress.csv"))
        key = "evaluation/Success Rate" if "evaluation/Success Rate" in df else "evaluation/Average Returns"
        finals.append(float(df[key].tail(3).mean()))
        t = pd.read_csv(os.path.join(d, "timings.csv"))
        speeds.append(float(t["time/env steps per s"].median()))
        print(f"seed {seed}: last-3 {key} = {finals[-1]:.3f}, "
              f"median env steps/s = {speeds[-1]:.1f}, env steps = {int(df['Env Steps Total'].iloc[-1])}  [{d}]")
    print(f"env {args.env}, {args.seeds} seeds x {args.steps} env steps, mode {args.mode}, {args.matmul_dtype} matmuls, "
          f"wall {wall / 60:.1f} min"
          + (" (this call; earlier calls trained the resumed part)" if any(r for _, _, r in todo) else ""))
    print(f"env steps/s per run (median over epochs): {mean_spread(speeds)}; summed over runs {sum(speeds):.1f}")
    print(f"last-3-eval {key}: {mean_spread(finals)}")
    print(json.dumps({"env": args.env, "metric": key, "per_seed": finals, "steps_per_s": speeds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
