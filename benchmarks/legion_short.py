"""LEGION benchmark (issue 5): the 3-task stream of benchmarks/continual_short.py, the same steps,
3 seeds: LEGION (continual mode) against finetune and perfect_memory SAC. Prints average
performance and forgetting (mean +- std over seeds), LEGION's number of active DPMM components
after each task, and the component-task purity of the latents of its last prior fit.

    python benchmarks/legion_short.py                                    # full size: many CPU hours
    python benchmarks/legion_short.py --steps-per-task 3000 --eval-every 1500 --seeds 1 --fit-every 1500  # smoke

All methods use the same actor/critic sizes (--hidden, default 256,256), so LEGION differs from
perfect_memory SAC only by its latent task code (the baselines keep CW's multi-head task identity).
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

from experiment_utils.launcher import launch  # noqa: E402
from lifelong_rl.core.logger import load_snapshot  # noqa: E402
from lifelong_rl.models.dpmm import component_purity  # noqa: E402
from lifelong_rl.registry import default_variant  # noqa: E402


def variant_for(method: str, seed: int, args) -> dict:
    hidden = [int(h) for h in args.hidden.split(",")]
    v = default_variant("legion" if method == "legion" else "continual_sac")
    v.update(seed=seed, exp_name="legion_short")
    v["policy_kwargs"]["hidden_sizes"] = v["qf_kwargs"]["hidden_sizes"] = hidden
    v["continual"].update(stream=args.stream, steps_per_task=args.steps_per_task, eval_every=args.eval_every,
                          eval_episodes=args.eval_episodes, random_steps_per_task=args.random_steps)
    if method == "legion":
        v["legion"]["dpmm"]["fit_every"] = args.fit_every
    else:
        v["continual"]["cl_method"] = method
    v["logging"].update(progress_bar=False, snapshot_mode="last")
    return copy.deepcopy(v)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stream", default="reach,window-close,drawer-close")
    p.add_argument("--methods", default="legion,finetune,perfect_memory")
    p.add_argument("--steps-per-task", type=int, default=100_000)
    p.add_argument("--eval-every", type=int, default=10_000)
    p.add_argument("--eval-episodes", type=int, default=3)
    p.add_argument("--random-steps", type=int, default=5000)
    p.add_argument("--fit-every", type=int, default=10_000, help="LEGION's legion/dpmm/fit_every")
    p.add_argument("--hidden", default="256,256")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--mode", default="local_par", choices=["local", "local_par"])
    p.add_argument("--out", default="data/benchmarks/legion_short")
    args = p.parse_args()
    root = os.path.join(args.out, time.strftime("%Y_%m_%d_%H_%M_%S"))
    methods = args.methods.split(",")
    jobs = [(variant_for(m, s, args), os.path.join(root, f"{m}_s{s}"), None) for m in methods for s in range(args.seeds)]
    t0 = time.time()
    rc = launch(jobs, args.mode)
    if rc:
        return rc
    print(f"stream {args.stream}, {args.steps_per_task} steps/task, {args.seeds} seeds, hidden {args.hidden}, "
          f"wall {(time.time() - t0) / 60:.1f} min")
    for m in methods:
        dirs = [os.path.join(root, f"{m}_s{s}") for s in range(args.seeds)]
        ms = [json.load(open(os.path.join(d, "metrics.json"))) for d in dirs]
        for key in ("average_performance", "forgetting"):
            print(f"{m:15s} {key:20s} {mean_spread([x[key] for x in ms])}")
        print(f"{m:15s} success matrix (mean): {np.round(np.mean([x['success_matrix'] for x in ms], 0), 2).tolist()}")
        if m != "legion":
            continue
        purities = []
        for s, d in enumerate(dirs):
            df = pd.read_csv(os.path.join(d, "progress.csv"))
            ends = df[df["continual/average performance"].notna()]
            sample = load_snapshot(os.path.join(d, "params.pt"))["trainer"]["fit_sample"]
            purity = component_purity(sample["components"], sample["task_ids"]) if sample is not None else float("nan")
            purities.append(purity)
            print(f"legion seed {s}: active components after tasks 1..{len(ends)}: "
                  f"{ends['trainer/LEGION Active Components'].astype(int).tolist()}, purity {purity:.3f}")
        print(f"{m:15s} {'purity':20s} {mean_spread(purities)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
