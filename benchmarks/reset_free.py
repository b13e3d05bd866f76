"""Reset-free lifelong learning (issue 21): LiSP against SAC (and MBPO) without resets, and LiSP's
offline skill-space planning against PETS-style MPC (Lu et al. 2021, "Reset-Free Lifelong Learning
with Skill-Space Planning", Fig. 4, Fig. 3 and Table 1).

Cells (one run each, in <root>/<part>/<method>/s<seed>/, result.json when done; the same command
again resumes a killed benchmark from the runs' snapshots):

  part     methods          what runs                                             what is reported
  volcano  lisp, sac        gridworld/volcano reset-free (the grid rearranges      resets needed (the agent
                            every 200 steps), 1000 random steps + 9 x 1000 steps   trapped in a hole), return
                                                                                   and reward per step over
                                                                                   the lifetime
  hopper   lisp, sac, mbpo  lifelong/hopper reset-free, v* = 2, 1, -1 m/s, a        reward per step over the
                            change every 2000 steps; first an offline phase on     lifetime, per v* phase and
                            lifelong-hopper-v0 (5 epochs), then 6 x 1000 steps      normalised by |v*|
  offline  lisp, pets_short, the LiSP hopper run's model and skills after its      normalised score (mean reward
           pets_long        offline phase only; one 200-step episode per target   per step / |v*|) per target
                            v* = 2 (forward fast), 1 (forward slow), -1
                            (backward slow)

The dataset lifelong-hopper-v0 is gym/Hopper-v5's hopper-medium-expert-v0 (issue 19, 200k transitions
of a medium and an expert SAC agent) relabelled with the lifelong reward at v* = 2; the benchmark makes
it when missing (scripts/collect_dataset.py --kind relabel).

Budget choices for a 2-core CPU (about 2 hours of wall time for 3 seeds, 2 processes):
- LiSP: the `lisp` defaults (5 members of [200] * 4, one skill iteration of 400 model rollouts per 10
  env steps), except a fit every 1000 steps capped at 1000 gradient steps, L = 16 alternatives and a
  [256, 256] skill dynamics (Lu et al.: 32 and [512, 512]; together 2.6x cheaper), and the planner:
  MPPI over 10 skills x 3 steps (a 30-step horizon; Lu et al.: 60 x 3), 32 candidates, 2 iterations,
  one particle per elite. On lifelong/hopper the planner is told the current v* (`planning_reward=task`);
  on the volcano it plans with the model's learned reward (the goal is in the observation).
- SAC: the library's defaults (256-256, one update per env step); offline phase 5 x 1000 updates.
- MBPO: 10 SAC updates per env step (MBPO: 20), 20k model rollouts of length 1 every 250 steps, a fit
  every 250 steps capped at 500 gradient steps; offline phase 5 x 1000 updates.
- SAC and MBPO learn from the env's rewards, which change with v*; they are not told v*.
- Offline planning: LiSP over 20 skills x 3 steps (a 60-step horizon); PETS: MPPI over actions with
  the LiSP run's ensemble and the task's reward, H = 25 (short) or 180
  (long), 32 candidates, 2 iterations, one particle per elite, replanning every step; no
  disagreement penalty (LiSP's planner has one).

    python benchmarks/reset_free.py --root /tmp/bench/reset_free
    python benchmarks/reset_free.py --root /tmp/rf --seeds 1 --scale 0.1      # a smoke run
    python benchmarks/reset_free.py --root /tmp/bench/reset_free --report
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cell_parser, claim_cell, finish_cell, mean_spread, release_cell, run_pending  # noqa: E402

PARTS = {"volcano": ("lisp", "sac"), "hopper": ("lisp", "sac", "mbpo"), "offline": ("lisp", "pets_short", "pets_long")}
TARGETS = (2.0, 1.0, -1.0)
DATASET = "lifelong-hopper-v0"
VOLCANO = dict(warmup=1000, epoch=1000, epochs=9)
HOPPER = dict(switch_every=2000, epoch=1000, epochs=6, offline_epochs=5, offline_updates=1000, lisp_offline_updates=100)
OFFLINE_EPISODE = 200


def variant(part: str, method: str, seed: int, scale: float) -> Dict[str, Any]:
    from experiment_configs.registry import default_variant

    v = default_variant(method)
    v.update(seed=seed, exp_name=f"bench_{part}_{method}")
    v["logging"].update(progress_bar=False, snapshot_mode="last")
    ak = v["algorithm_kwargs"]
    ak.update(reset_free=True, num_eval_steps_per_epoch=0)
    epoch = max(10, int((VOLCANO if part == "volcano" else HOPPER)["epoch"] * scale))
    ak.update(num_expl_steps_per_train_loop=epoch,
              num_trains_per_train_loop={"lisp": epoch // 10, "sac": epoch, "mbpo": 10 * epoch}[method])
    if method == "lisp":
        v["lisp_kwargs"].update(num_prior_samples=16, discriminator_hidden_sizes=[256, 256])
        v["planner_kwargs"].update(horizon=10)
        v["model_kwargs"].update(train_every=max(10, int(1000 * scale)), max_grad_steps=1000)
    if method == "mbpo":
        v["model_kwargs"].update(max_grad_steps=500)
        v["mbpo_kwargs"].update(rollout_batch_size=max(10, int(20_000 * scale)), rollout_length_schedule=[1, 1, 1, 1])
    if part == "volcano":
        v["env"] = "gridworld/volcano"
        ak.update(num_epochs=VOLCANO["epochs"], min_num_steps_before_training=max(10, int(VOLCANO["warmup"] * scale)))
        return v
    v["env"] = "lifelong/hopper"
    v["env_kwargs"].update(target_velocities=list(TARGETS), switch_every=max(10, int(HOPPER["switch_every"] * scale)))
    v["offline_kwargs"].update(teacher_data_files=[DATASET], num_epochs=HOPPER["offline_epochs"],
                               num_trains_per_epoch=max(1, int(HOPPER["lisp_offline_updates" if method == "lisp" else
                                                                     "offline_updates"] * scale)))
    v["replay_buffer_size"] = 300_000
    ak.update(num_epochs=HOPPER["epochs"], min_num_steps_before_training=0)
    if method == "lisp":
        v["lisp_kwargs"]["planning_reward"] = "task"
    return v


def lifetime(df, steps_col: str = "Env Steps Total") -> Dict[str, Any]:
    """Per-epoch reward per step and resets, and the whole lifetime's."""
    steps = df[steps_col].to_numpy()
    total = float(df["exploration/lifetime return"].iloc[-1])
    return {"steps": [int(s) for s in steps], "reward_per_step": [float(x) for x in df["exploration/reward per step"]],
            "resets": [int(x) for x in df["exploration/resets needed"]], "lifetime_return": total,
            "lifetime_reward_per_step": total / float(steps[-1]), "resets_needed": int(df["exploration/resets needed"].iloc[-1]),
            "task": [float(x) for x in df["exploration/task"]] if "exploration/task" in df else []}


def ensure_dataset() -> None:
    from lifelong_rl.data_management.datasets import DatasetError, find_dataset

    try:
        find_dataset(DATASET)
    except DatasetError:
        subprocess.run([sys.executable, "scripts/collect_dataset.py", "--kind", "relabel", "--from", "hopper-medium-expert-v0",
                        "--env", "lifelong/hopper", "--target-velocity", str(TARGETS[0]), "--name", DATASET], check=True)


def run_cell(cell_args) -> str:
    part, method, seed, scale, cell = cell_args
    import pandas as pd
    import torch

    torch.set_num_threads(1)
    if not claim_cell(cell):
        return f"{part} {method} seed {seed}: skipped (another process has it; remove {cell}/.running after a kill)"
    t0 = time.time()
    try:
        if part == "offline":  # cell = <root>/offline/<method>/s<seed>
            res = offline_cell(method, seed, scale, os.path.dirname(os.path.dirname(os.path.dirname(cell))))
        else:
            from experiment_configs.base_experiment import experiment
            from lifelong_rl.core.logger import latest_snapshot

            run_dir = os.path.join(cell, "run")
            snap = latest_snapshot(run_dir) if os.path.isdir(run_dir) else None
            experiment(variant(part, method, seed, scale), run_dir, resume_from=snap)
            df = pd.read_csv(os.path.join(run_dir, "progress.csv"))
            times = pd.read_csv(os.path.join(run_dir, "timings.csv"))
            res = {"resumed": snap is not None, **lifetime(df)}
            if "time/planning per env step (s)" in times:
                res["planning_s_per_step"] = float(times["time/planning per env step (s)"].mean())
    except BaseException:
        release_cell(cell)
        raise
    res.update(part=part, method=method, seed=seed, scale=scale, wall_s=time.time() - t0)
    finish_cell(cell, res)
    return f"{part} {method} seed {seed}: {res.get('lifetime_reward_per_step', res.get('scores'))}, {res['wall_s']:.0f} s"


class TaskRewardModel:
    """The LiSP run's ensemble with the task's reward in place of its learned one (PETS' planner is
    given the reward, as LiSP's is)."""

    def __init__(self, model, reward_fn):
        self.model, self.reward_fn = model, reward_fn
        self.num_members, self.random_members = model.num_members, model.random_members

    def step(self, obs, act, members):
        next_obs, _, done = self.model.step(obs, act, members)
        return next_obs, self.reward_fn(obs, act, next_obs), done


def offline_cell(method: str, seed: int, scale: float, root: str) -> Dict[str, Any]:
    """One planner's 200-step episode per target v*, from the hopper LiSP run's offline snapshot."""
    import torch

    from experiment_configs import registry
    from lifelong_rl.core.evaluation import evaluate
    from lifelong_rl.core.logger import load_snapshot
    from lifelong_rl.envs.lifelong import TaskReward
    from lifelong_rl.planners.planners import MPPI
    from lifelong_rl.policies.mpc_policy import MPCPolicy

    snap = load_snapshot(os.path.join(root, "hopper", "lisp", f"s{seed}", "run", "offline_params.pt"))
    scores, planning = {}, []
    for v_star in TARGETS:
        torch.manual_seed(seed)
        v = json.loads(json.dumps(snap["variant"]))
        v["env_kwargs"].update(target_velocities=[v_star], switch_every=0)
        v["lisp_kwargs"].update(evaluation="planner", planning_reward="task")
        v["planner_kwargs"].update(horizon=20)
        trainer, entries = registry.evaluation_setup(v, "cpu", seed)
        trainer.load_state_dict(snap["trainer"])
        _, env, policy = entries[0]
        if method != "lisp":
            horizon = {"pets_short": 25, "pets_long": 180}[method]
            model = TaskRewardModel(trainer.policy_trainer.model, TaskReward("hopper", v_star))
            policy = MPCPolicy(model, MPPI(horizon, env.action_space.shape[0], 32, 2), num_particles=1)
        length = max(10, int(OFFLINE_EPISODE * scale))
        res = evaluate(env, policy, 1, max_path_length=length)
        scores[str(v_star)] = res["mean_return"] / length / abs(v_star)
        planning.append(policy.pop_planning_time())
    return {"scores": scores, "planning_s_per_step": float(np.mean(planning))}


def load(root: str, part: str, method: str, seeds: List[int]) -> List[Dict[str, Any]]:
    out = []
    for s in seeds:
        p = os.path.join(root, part, method, f"s{s}", "result.json")
        if os.path.isfile(p):
            with open(p) as f:
                out.append(json.load(f))
    return out


def phase_means(r: Dict[str, Any]) -> Dict[float, float]:
    """Mean reward per step over the epochs of each v* (by the task logged at the epoch's end),
    normalised by |v*|."""
    by: Dict[float, List[float]] = {}
    for task, x in zip(r["task"], r["reward_per_step"]):
        by.setdefault(task, []).append(x)
    return {t: float(np.mean(xs)) / abs(t) for t, xs in by.items()}


def report(root: str, seeds: List[int]) -> None:
    print(f"\n== {root} (mean +- population std over seeds)")
    for m in PARTS["volcano"]:
        rs = load(root, "volcano", m, seeds)
        if rs:
            print(f"volcano {m:4s}: resets needed {mean_spread([r['resets_needed'] for r in rs])}; per seed "
                  f"{[r['resets_needed'] for r in rs]}; lifetime return {mean_spread([r['lifetime_return'] for r in rs])}; "
                  f"reward per step {mean_spread([r['lifetime_reward_per_step'] for r in rs])} over {rs[0]['steps'][-1]} "
                  f"steps; wall {mean_spread([r['wall_s'] / 60 for r in rs])} min"
                  + (f"; planning {1000 * np.mean([r['planning_s_per_step'] for r in rs]):.1f} ms per env step"
                     if 'planning_s_per_step' in rs[0] else ""))
            print(f"    reward per step by epoch: {np.round(np.mean([r['reward_per_step'] for r in rs], 0), 2).tolist()}")
    for m in PARTS["hopper"]:
        rs = load(root, "hopper", m, seeds)
        if rs:
            phases = [phase_means(r) for r in rs]
            by_target = "; ".join(f"v*={t:g}: {mean_spread([p[t] for p in phases if t in p])}" for t in TARGETS)
            print(f"hopper  {m:4s}: lifetime reward per step {mean_spread([r['lifetime_reward_per_step'] for r in rs])} "
                  f"over {rs[0]['steps'][-1]} steps; normalised by v* phase: {by_target}; wall "
                  f"{mean_spread([r['wall_s'] / 60 for r in rs])} min"
                  + (f"; planning {1000 * np.mean([r['planning_s_per_step'] for r in rs]):.1f} ms per env step"
                     if 'planning_s_per_step' in rs[0] else ""))
            print(f"    reward per step by epoch: {np.round(np.mean([r['reward_per_step'] for r in rs], 0), 2).tolist()} "
                  f"(v*: {rs[0]['task']})")
    paper = {"lisp": (0.84, 0.88, 0.81), "pets_long": (0.27, 0.49, 0.38), "pets_short": (0.27, 0.32, 0.27)}
    for m in PARTS["offline"]:
        rs = load(root, "offline", m, seeds)
        if rs:
            cols = "; ".join(f"v*={t:g}: {mean_spread([r['scores'][str(t)] for r in rs])} (paper {p})"
                             for t, p in zip(TARGETS, paper[m]))
            print(f"offline {m:10s}: {cols}; planning {1000 * np.mean([r['planning_s_per_step'] for r in rs]):.0f} ms "
                  f"per env step")


def main() -> int:
    p = cell_parser(__doc__, "reset_free")
    p.add_argument("--parts", default=",".join(PARTS))
    args = p.parse_args()
    parts = [x for x in args.parts.split(",") if x]
    if any(x not in PARTS for x in parts) or args.seeds < 1 or args.procs < 1 or not args.scale > 0:
        print(f"error: --parts from {', '.join(PARTS)}; --seeds and --procs >= 1; --scale > 0", file=sys.stderr)
        return 2
    os.environ["OMP_NUM_THREADS"] = "1"
    seeds = list(range(args.seeds))
    if not args.report:
        if {"hopper", "offline"} & set(parts):
            ensure_dataset()
        order = {("hopper", "mbpo"): 0, ("hopper", "lisp"): 1, ("volcano", "lisp"): 2}
        cells = sorted(((part, m, s, args.scale, os.path.join(args.root, part, m, f"s{s}"))
                        for part in parts if part != "offline" for m in PARTS[part] for s in seeds),
                       key=lambda c: order.get(c[:2], 3))
        run_pending(run_cell, cells, args.root, args.procs)
        if "offline" in parts:
            ready = [s for s in seeds if os.path.isfile(os.path.join(args.root, "hopper", "lisp", f"s{s}", "result.json"))]
            cells = [("offline", m, s, args.scale, os.path.join(args.root, "offline", m, f"s{s}"))
                     for m in PARTS["offline"] for s in ready]
            run_pending(run_cell, cells, args.root, args.procs)
    report(args.root, seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
