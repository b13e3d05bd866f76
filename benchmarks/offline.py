"""Offline methods (issue 19): MOPO, MOReL and behaviour cloning on the Hopper-v5 datasets made here.

Cells: method x dataset x seed, each in its own process, each a run of ours in
<root>/<dataset>/<method>/s<seed>/run with its result in result.json; a cell with a result is
skipped and an unfinished one resumes from its snapshot, so the same command again resumes a killed
benchmark. The datasets must exist in agent_data/ (the commands of the README's "Offline RL" section
make them); the reference returns are lifelong_rl/envs/reference_scores.py's.

Reported: D4RL's normalised score 100 (R - R_random) / (R_expert - R_random) of the last
evaluation (EVAL_EPISODES episodes) and the mean of the last three evaluations, mean +- std over seeds.

Budget for a 2-core CPU (about 2 hours of wall time for 3 seeds of all 12 method x dataset pairs,
2 processes), against MOPO's D4RL settings (1M SAC updates, 50k rollouts per 1000 updates):
- every method: EPOCHS offline epochs of 1000 updates, batch 256, networks of 256-256;
- MOPO / MOReL: the ensemble (7 members, 5 elites, [200] * 4) fitted once to the dataset, capped at
  MODEL_GRAD_STEPS gradient steps; 10k rollouts of length 5 every 1000 updates, kept for 5
  generations; 5% real data; the Hopper termination given by hand (as MBPO's and MOPO's code),
  the reward learned; MOPO lambda = 1, MOReL threshold 1 x the data's largest disagreement and
  kappa = 100.

    python benchmarks/offline.py --root /tmp/bench/offline
    python benchmarks/offline.py --root /tmp/off --datasets medium-replay --seeds 1 --scale 0.05   # a smoke run
    python benchmarks/offline.py --root /tmp/bench/offline --report
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Dict, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cell_parser, claim_cell, finish_cell, mean_spread, run_pending  # noqa: E402

METHODS = ("mopo", "morel", "bc")
DATASETS = ("medium-replay", "medium", "medium-expert", "random")  # the goal's dataset first
ENV = "gym/Hopper-v5"
EPOCHS, UPDATES, EVAL_EPISODES, MODEL_GRAD_STEPS, ROLLOUTS = 30, 1000, 3, 3000, 10_000


def variant(method: str, dataset: str, seed: int, scale: float) -> Dict[str, Any]:
    from experiment_configs.registry import default_variant

    v = default_variant(method)
    v.update(seed=seed, exp_name=f"bench_{method}", env=ENV)
    v["logging"].update(progress_bar=False, snapshot_mode="last")
    v["offline_kwargs"].update(teacher_data_files=[f"hopper-{dataset}-v0"], num_epochs=max(3, int(EPOCHS * scale)),
                               num_trains_per_epoch=max(1, int(UPDATES * scale)))
    v["algorithm_kwargs"].update(num_eval_steps_per_epoch=1000 * EVAL_EPISODES)
    if method != "bc":
        v["model_kwargs"].update(termination="given", max_grad_steps=max(1, int(MODEL_GRAD_STEPS * scale)))
        v["mbpo_kwargs"].update(rollout_batch_size=max(10, int(ROLLOUTS * scale)),
                                rollout_every=max(1, int(UPDATES * scale)))
    return v


def run_cell(cell_args) -> str:
    method, dataset, seed, scale, cell = cell_args
    import pandas as pd
    import torch

    from experiment_configs.base_experiment import experiment
    from lifelong_rl.core.logger import latest_snapshot

    torch.set_num_threads(1)
    name = f"{method} {dataset} seed {seed}"
    if not claim_cell(cell):
        return f"{name}: skipped (another process has it; remove {cell}/.running after a kill)"
    run_dir = os.path.join(cell, "run")
    snap = latest_snapshot(run_dir) if os.path.isdir(run_dir) else None
    t0 = time.time()
    experiment(variant(method, dataset, seed, scale), run_dir, resume_from=snap)
    df = pd.read_csv(os.path.join(run_dir, "offline_progress.csv"))
    times = pd.read_csv(os.path.join(run_dir, "offline_timings.csv"))
    score = df["evaluation/Normalized Score"]
    res: Dict[str, Any] = {
        "method": method, "dataset": dataset, "seed": seed, "scale": scale, "resumed": snap is not None,
        "wall_s": time.time() - t0, "final": float(score.iloc[-1]), "last3": float(score.iloc[-3:].mean()),
        "final_return": float(df["evaluation/Average Returns"].iloc[-1]), "curve": [float(x) for x in score],
        "model_fit_s": float(times.get("time/model fit (s)", pd.Series([0.0])).sum()),
    }
    finish_cell(cell, res)
    return f"{name}: normalized score {res['final']:.1f} (return {res['final_return']:.0f}), {res['wall_s']:.0f} s"


def load(root: str, dataset: str, method: str, seeds: List[int]) -> List[Dict[str, Any]]:
    out = []
    for s in seeds:
        p = os.path.join(root, dataset, method, f"s{s}", "result.json")
        if os.path.isfile(p):
            with open(p) as f:
                out.append(json.load(f))
    return out


def report(root: str, methods, datasets, seeds) -> None:
    print(f"\n== {root}: D4RL-normalised score on {ENV} (last evaluation; mean of the last 3), mean +- std over seeds")
    for d in datasets:
        finals = {}
        for m in methods:
            rs = load(root, d, m, seeds)
            if not rs:
                continue
            finals[m] = [r["final"] for r in rs]
            print(f"{d:14s} {m:5s} {mean_spread(finals[m])}; last-3 {mean_spread([r['last3'] for r in rs])}; per seed "
                  f"{[round(x, 1) for x in finals[m]]}; wall {mean_spread([r['wall_s'] / 60 for r in rs])} min"
                  + (f"; model fit {mean_spread([r['model_fit_s'] for r in rs])} s" if m != "bc" else ""))
        if "bc" in finals:
            for m in ("mopo", "morel"):
                if m in finals:
                    above = np.mean(finals[m]) > np.mean(finals["bc"])
                    print(f"{d:14s} {m} {'ABOVE' if above else 'not above'} BC ({np.mean(finals[m]):.1f} vs "
                          f"{np.mean(finals['bc']):.1f})")


def main() -> int:
    p = cell_parser(__doc__, "offline", "epochs / updates / rollouts / model steps multiplier (smoke runs)")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--datasets", default=",".join(DATASETS))
    args = p.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    datasets = [d for d in args.datasets.split(",") if d]
    bad = [m for m in methods if m not in METHODS] + [d for d in datasets if d not in DATASETS]
    if bad:
        print(f"error: unknown {bad}; methods {', '.join(METHODS)}; datasets {', '.join(DATASETS)}", file=sys.stderr)
        return 2
    if args.seeds < 1 or args.procs < 1 or not args.scale > 0:
        print("error: --seeds and --procs must be >= 1, --scale > 0", file=sys.stderr)
        return 2
    from lifelong_rl.data_management.datasets import DatasetError, find_dataset

    try:
        for d in datasets:
            find_dataset(f"hopper-{d}-v0")
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    os.environ["OMP_NUM_THREADS"] = "1"  # one thread per cell; the spawned workers inherit it
    seeds = list(range(args.seeds))
    if not args.report:
        # Dataset by dataset (the goal's first), the model-based cells (the longer) before BC's.
        cells = [(m, d, s, args.scale, os.path.join(args.root, d, m, f"s{s}")) for d in datasets for m in methods for s in seeds]
        run_pending(run_cell, cells, args.root, args.procs)
    report(args.root, methods, datasets, seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
