"""Model-based methods (issue 18): PETS-style MPC on InvertedPendulum, MBPO against SAC on Hopper.

Cells: method x seed, each in its own process, each a run of ours in <root>/<method>/s<seed>/run
with its result in result.json; a cell with a result is skipped and an unfinished one resumes
from its snapshot, so the same command again resumes a killed benchmark.

    method  env                        budget (env steps)       what is reported
    mpc     gym/InvertedPendulum-v5    200 random + 12 x 500    env steps until the first evaluation
                                                                episode of return 1000 (all 1000 steps)
    mbpo    gym/Hopper-v5              2000 random + 13 x 1000  final evaluation return (3 episodes)
    sac     gym/Hopper-v5              2000 random + 13 x 1000  final evaluation return (3 episodes)

Budget choices for a 2-core CPU (about 2 hours of wall time for 3 seeds of all three, 2 processes):
- MBPO: 10 SAC updates per env step (MBPO uses 20), 5% real data, a model fit every 250 steps
  capped at 500 gradient steps (warm-started), 20k rollouts every 250 steps (MBPO: 100k), SAC's
  model data the last 4 generations (one epoch's, as MBPO), k = 1 (MBPO's schedule keeps k = 1 until 20k
  steps), the Hopper termination given by hand (as MBPO's code), the reward learned.
- SAC: 1 update per env step, the library's defaults; same networks (256-256), batch and warm-up.
- MPC: the CPU defaults of `mpc` (5 members of [128] * 3, MPPI with H 25, 64 candidates, 2
  iterations, TS-inf with one particle per member), the InvertedPendulum reward and termination
  given by hand (PETS gives its cost functions too), the model refitted every 200 steps.

Also reported: model-fit time and planning time per env step (from each run's timings.csv).

    python benchmarks/model_based.py --root /tmp/bench/model_based
    python benchmarks/model_based.py --root /tmp/mb --methods mpc --seeds 1 --scale 0.2   # a smoke run
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Dict, List, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cell_parser, claim_cell, finish_cell, mean_spread, run_pending  # noqa: E402

METHODS = ("mpc", "mbpo", "sac")
HOPPER = dict(env="gym/Hopper-v5", warmup=2000, epoch=1000, epochs=13, eval_episodes=3)
PENDULUM = dict(env="gym/InvertedPendulum-v5", warmup=200, epoch=500, epochs=12)


def variant(method: str, seed: int, scale: float) -> Dict[str, Any]:
    from experiment_configs.registry import default_variant

    v = default_variant(method)
    v.update(seed=seed, exp_name=f"bench_{method}")
    v["logging"].update(progress_bar=False, snapshot_mode="last")
    ak = v["algorithm_kwargs"]
    if method == "mpc":
        v["env"] = PENDULUM["env"]
        v["model_kwargs"].update(reward="given", termination="given")
        ak.update(num_epochs=PENDULUM["epochs"], min_num_steps_before_training=max(10, int(PENDULUM["warmup"] * scale)),
                  num_expl_steps_per_train_loop=max(1, int(PENDULUM["epoch"] * scale)), num_eval_steps_per_epoch=1000)
        return v
    epoch = max(1, int(HOPPER["epoch"] * scale))
    v["env"] = HOPPER["env"]
    ak.update(num_epochs=HOPPER["epochs"], min_num_steps_before_training=max(10, int(HOPPER["warmup"] * scale)),
              num_expl_steps_per_train_loop=epoch, num_trains_per_train_loop=epoch,
              num_eval_steps_per_epoch=1000 * HOPPER["eval_episodes"])
    if method == "mbpo":
        ak["num_trains_per_train_loop"] = 10 * epoch
        v["model_kwargs"].update(termination="given", max_grad_steps=500)
        v["mbpo_kwargs"].update(rollout_batch_size=max(10, int(20_000 * scale)), retain_generations=4)
    return v


def first_full_episode(df) -> Optional[int]:
    """Env steps at the first evaluation whose return is 1000 (the whole InvertedPendulum episode)."""
    hit = df[df["evaluation/Average Returns"] >= 1000]
    return None if hit.empty else int(hit["Env Steps Total"].iloc[0])


def run_cell(cell_args) -> str:
    method, seed, scale, cell = cell_args
    import pandas as pd
    import torch

    from experiment_configs.base_experiment import experiment
    from lifelong_rl.core.logger import latest_snapshot

    torch.set_num_threads(1)
    if not claim_cell(cell):
        return f"{method} seed {seed}: skipped (another process has it; remove {cell}/.running after a kill)"
    run_dir = os.path.join(cell, "run")
    snap = latest_snapshot(run_dir) if os.path.isdir(run_dir) else None
    t0 = time.time()
    experiment(variant(method, seed, scale), run_dir, resume_from=snap)
    df = pd.read_csv(os.path.join(run_dir, "progress.csv"))
    times = pd.read_csv(os.path.join(run_dir, "timings.csv"))
    res: Dict[str, Any] = {
        "method": method, "seed": seed, "scale": scale, "resumed": snap is not None, "wall_s": time.time() - t0,
        "final": float(df["evaluation/Average Returns"].iloc[-1]), "env_steps": int(df["Env Steps Total"].iloc[-1]),
        "curve": [float(x) for x in df["evaluation/Average Returns"]], "steps": [int(x) for x in df["Env Steps Total"]],
        "model_fit_s": float(times.get("time/model fit (s)", pd.Series([0.0])).sum()),
    }
    if "time/planning per env step (s)" in times:
        res["planning_s_per_step"] = float(times["time/planning per env step (s)"].mean())
    if method == "mpc":
        res["steps_to_full_episode"] = first_full_episode(df)
    finish_cell(cell, res)
    return f"{method} seed {seed}: final {res['final']:.1f}, {res['wall_s']:.0f} s"


def load(root: str, method: str, seeds: List[int]) -> List[Dict[str, Any]]:
    out = []
    for s in seeds:
        p = os.path.join(root, method, f"s{s}", "result.json")
        if os.path.isfile(p):
            with open(p) as f:
                out.append(json.load(f))
    return out


def report(root: str, methods, seeds) -> None:
    print(f"\n== {root}")
    for m in methods:
        rs = load(root, m, seeds)
        if not rs:
            continue
        line = (f"{m:4s} final return: {mean_spread([r['final'] for r in rs])}; per seed {[round(r['final'], 1) for r in rs]}; "
                f"env steps {rs[0]['env_steps']}; wall {mean_spread([r['wall_s'] / 60 for r in rs])} min; "
                f"model fit {mean_spread([r['model_fit_s'] / r['env_steps'] * 1000 for r in rs])} s per 1000 env steps")
        if any("planning_s_per_step" in r for r in rs):
            line += f"; planning {mean_spread([1000 * r['planning_s_per_step'] for r in rs])} ms per env step"
        print(line)
        if m == "mpc":
            hits = [r["steps_to_full_episode"] for r in rs]
            reached = [h for h in hits if h is not None]
            print(f"mpc  env steps to the first 1000-return evaluation episode: per seed {hits}"
                  + (f"; mean {mean_spread(reached)} over the {len(reached)} seeds that reached it" if reached else ""))
    mbpo, sac = load(root, "mbpo", seeds), load(root, "sac", seeds)
    if mbpo and sac:
        fm, fs = [r["final"] for r in mbpo], [r["final"] for r in sac]
        clear = np.mean(fm) - np.std(fm) > np.mean(fs) + np.std(fs)
        print(f"mbpo {np.mean(fm):.1f} +- {np.std(fm):.1f} vs sac {np.mean(fs):.1f} +- {np.std(fs):.1f} at "
              f"{mbpo[0]['env_steps']} env steps: {'MBPO clearly above SAC (spreads apart)' if clear else 'NOT clearly above'}")


def main() -> int:
    p = cell_parser(__doc__, "model_based")
    p.add_argument("--methods", default=",".join(METHODS))
    args = p.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    bad = [m for m in methods if m not in METHODS]
    if bad:
        print(f"error: unknown method {bad}; methods {', '.join(METHODS)}", file=sys.stderr)
        return 2
    if args.seeds < 1 or args.procs < 1 or not args.scale > 0:
        print("error: --seeds and --procs must be >= 1, --scale > 0", file=sys.stderr)
        return 2
    os.environ["OMP_NUM_THREADS"] = "1"  # one thread per cell; the spawned workers inherit it
    seeds = list(range(args.seeds))
    if not args.report:
        # The longest cells first, so the two processes finish together.
        order = {"mbpo": 0, "mpc": 1, "sac": 2}
        cells = [(m, s, args.scale, os.path.join(args.root, m, f"s{s}")) for m in sorted(methods, key=order.get) for s in seeds]
        run_pending(run_cell, cells, args.root, args.procs)
    report(args.root, methods, seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
