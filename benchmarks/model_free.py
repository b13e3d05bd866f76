"""Model-free methods against Stable-Baselines3 at equal budget and hyperparameters (issue 17).

Cells: method x implementation (ours, sb3) x seed, each in its own process, each writing
<root>/<method>/<impl>_s<seed>/result.json; a cell with a result is skipped, so the same command
again resumes a killed benchmark (an unfinished cell of ours resumes from its snapshot; an SB3 cell
starts over).

    method  ours                        SB3 counterpart                 env, budget
    td3     td3                         stable_baselines3.TD3           gym/Hopper-v5, 50k steps (10k random)
    ddpg    ddpg                        stable_baselines3.DDPG          gym/Hopper-v5, 50k steps (10k random)
    ppo     ppo                         stable_baselines3.PPO           gym/Hopper-v5, 307,200 steps (150 x 2048)
    npg     npg                         sb3_contrib.TRPO                gym/Hopper-v5, 307,200 steps
    her     her (SAC)                   SAC + HerReplayBuffer           goal/metaworld/reach-v3 (a new goal
                                                                        each episode, 100 steps), 20k steps

Both sides evaluate at the same env steps with deterministic actions on a separate env (5
episodes on Hopper, 10 on reach) and the same evaluation work, so the wall time compares like with
like; the reported figure is the last evaluation (success rate for HER) and env steps/s = training
env steps / the cell's wall time (evaluation included). On-policy runs on both sides normalise
observations and rewards (running statistics, clipped at 10: SB3's VecNormalize).

    python benchmarks/model_free.py --root /tmp/bench/model_free            # everything, 2 processes
    python benchmarks/model_free.py --root /tmp/mf --methods td3 --impls sb3 --scale 0.05   # a smoke run
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Dict, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cell_parser, claim_cell, finish_cell, mean_spread, release_cell, run_pending  # noqa: E402

METHODS = ("td3", "ddpg", "ppo", "npg", "her")
HOPPER = "gym/Hopper-v5"
OFF = dict(steps=50_000, warmup=10_000, epoch=5000, eval_episodes=5, hidden=[256, 256], lr=3e-4, batch=256)
ON = dict(rollout=2048, rollouts_per_epoch=10, epochs=15, eval_episodes=5)
HER = dict(env="goal/metaworld/reach-v3", length=100, steps=20_000, warmup=1000, epoch=1000, eval_episodes=10,
           gamma=0.98, k=4, hidden=[256, 256], lr=3e-4, batch=256)


def budget(method: str, scale: float) -> Dict[str, int]:
    """Env steps, the random warm-up, steps per evaluation and evaluation episodes of a cell."""
    if method in ("td3", "ddpg"):
        warm = max(1, int(OFF["warmup"] * scale))
        epoch = max(1, int(OFF["epoch"] * scale))
        return dict(steps=warm + 8 * epoch, warmup=warm, epoch=epoch, epochs=8, episodes=OFF["eval_episodes"])
    if method == "her":
        warm, epoch = max(HER["length"], int(HER["warmup"] * scale)), max(1, int(HER["epoch"] * scale))
        return dict(steps=warm + 19 * epoch, warmup=warm, epoch=epoch, epochs=19, episodes=HER["eval_episodes"])
    rollout = max(64, int(ON["rollout"] * scale))
    epoch = rollout * ON["rollouts_per_epoch"]
    return dict(steps=epoch * ON["epochs"], warmup=0, epoch=epoch, epochs=ON["epochs"], rollout=rollout,
                episodes=ON["eval_episodes"])


# -- ours ---------------------------------------------------------------------------------------
def our_variant(method: str, seed: int, b: Dict[str, int]) -> Dict[str, Any]:
    from experiment_configs.registry import default_variant

    v = default_variant(method)
    v.update(seed=seed, exp_name=f"bench_{method}")
    v["logging"].update(progress_bar=False, snapshot_mode="last")
    ak = v["algorithm_kwargs"]
    if method in ("td3", "ddpg", "her"):
        spec = HER if method == "her" else OFF
        v["env"] = HER["env"] if method == "her" else HOPPER
        for net in ("policy_kwargs", "qf_kwargs"):
            v[net]["hidden_sizes"] = list(spec["hidden"])
        v["trainer_kwargs"].update(policy_lr=spec["lr"], qf_lr=spec["lr"])
        ak.update(batch_size=spec["batch"], num_epochs=b["epochs"], min_num_steps_before_training=b["warmup"],
                  num_expl_steps_per_train_loop=b["epoch"], num_trains_per_train_loop=b["epoch"])
        if method == "her":
            v["env_kwargs"]["new_goal_each_episode"] = True
            v["trainer_kwargs"]["discount"] = HER["gamma"]
            v["her_kwargs"].update(base="sac", relabels_per_transition=HER["k"])
            ak.update(max_path_length=HER["length"], num_eval_steps_per_epoch=HER["length"] * b["episodes"])
        else:
            ak.update(num_eval_steps_per_epoch=1000 * b["episodes"])
    else:
        v["env"] = HOPPER
        ak.update(num_epochs=b["epochs"], num_envs=1, rollout_steps=b["rollout"],
                  rollouts_per_epoch=ON["rollouts_per_epoch"], num_eval_steps_per_epoch=1000 * b["episodes"],
                  normalize_obs=True, normalize_reward=True)
    return v


def run_ours(method: str, seed: int, b: Dict[str, int], cell: str) -> Dict[str, Any]:
    import pandas as pd

    from experiment_configs.base_experiment import experiment
    from lifelong_rl.core.logger import latest_snapshot

    run_dir = os.path.join(cell, "run")
    snap = latest_snapshot(run_dir) if os.path.isdir(run_dir) else None
    experiment(our_variant(method, seed, b), run_dir, resume_from=snap)
    df = pd.read_csv(os.path.join(run_dir, "progress.csv"))
    key = "evaluation/Success Rate" if method == "her" else "evaluation/Average Returns"
    return {"final": float(df[key].iloc[-1]), "env_steps": int(df["Env Steps Total"].iloc[-1]),
            "curve": [float(x) for x in df[key]], "resumed": snap is not None}


# -- Stable-Baselines3 -------------------------------------------------------------------------
def sb3_env(method: str, seed: int):
    import gymnasium as gym

    if method == "her":
        from lifelong_rl.envs.goal_env import MetaWorldGoalEnv

        env = MetaWorldGoalEnv("reach-v3", seed, HER["length"], new_goal_each_episode=True)
        env.reset(seed=seed)
        return env
    env = gym.make("Hopper-v5")
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def run_sb3(method: str, seed: int, b: Dict[str, int]) -> Dict[str, Any]:
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize, sync_envs_normalization

    on_policy = method in ("ppo", "npg")
    train = DummyVecEnv([lambda: sb3_env(method, seed)])
    evalenv = DummyVecEnv([lambda: sb3_env(method, seed + 1000)])
    if on_policy:
        train = VecNormalize(train, gamma=0.99, clip_obs=10.0, clip_reward=10.0)
        evalenv = VecNormalize(evalenv, training=False, norm_reward=False, clip_obs=10.0)
    first_eval = b["warmup"] + b["epoch"]
    curve: List[float] = []

    def evaluate(model) -> None:
        if on_policy:
            sync_envs_normalization(model.get_env(), evalenv)
        if method == "her":
            succ = []
            for _ in range(b["episodes"]):
                obs, done, s = evalenv.reset(), False, 0.0
                while not done:
                    obs, _, d, info = evalenv.step(model.predict(obs, deterministic=True)[0])
                    s, done = max(s, float(info[0].get("is_success", 0.0))), bool(d[0])
                succ.append(s)
            curve.append(float(np.mean(succ)))
        else:
            curve.append(float(evaluate_policy(model, evalenv, b["episodes"], deterministic=True)[0]))

    def due(n: int) -> bool:  # an evaluation point of ours, before the last (taken after learn())
        return first_eval <= n < b["steps"] and (n - b["warmup"]) % b["epoch"] == 0

    class EvalAt(BaseCallback):
        """Evaluate where ours does: after the warm-up and every epoch's steps, once their updates
        are done (on-policy: when the next rollout starts, after the last one's update)."""

        def _on_step(self) -> bool:
            if not on_policy and due(self.num_timesteps):
                evaluate(self.model)
            return True

        def _on_rollout_start(self) -> None:
            if on_policy and due(self.num_timesteps):
                evaluate(self.model)

    torch.manual_seed(seed)
    common = dict(seed=seed, device="cpu", verbose=0)
    if method in ("td3", "ddpg"):
        from stable_baselines3 import DDPG, TD3
        from stable_baselines3.common.noise import NormalActionNoise

        kw = dict(learning_rate=OFF["lr"], buffer_size=1_000_000, learning_starts=b["warmup"], batch_size=OFF["batch"],
                  tau=0.005, gamma=0.99, train_freq=1, gradient_steps=1,
                  action_noise=NormalActionNoise(np.zeros(3), 0.1 * np.ones(3)),
                  policy_kwargs=dict(net_arch=list(OFF["hidden"])))
        if method == "td3":
            model = TD3("MlpPolicy", train, policy_delay=2, target_policy_noise=0.2, target_noise_clip=0.5, **kw, **common)
        else:
            model = DDPG("MlpPolicy", train, **kw, **common)
    elif method == "ppo":
        from stable_baselines3 import PPO

        model = PPO("MlpPolicy", train, learning_rate=3e-4, n_steps=b["rollout"], batch_size=64, n_epochs=10, gamma=0.99,
                    gae_lambda=0.95, clip_range=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5, **common)
    elif method == "npg":
        from sb3_contrib import TRPO

        model = TRPO("MlpPolicy", train, learning_rate=1e-3, n_steps=b["rollout"], batch_size=128, gamma=0.99,
                     gae_lambda=0.95, cg_max_steps=15, cg_damping=0.1, n_critic_updates=10, target_kl=0.01, **common)
    else:
        from stable_baselines3 import SAC, HerReplayBuffer

        model = SAC("MultiInputPolicy", train, learning_rate=HER["lr"], buffer_size=1_000_000,
                    learning_starts=b["warmup"], batch_size=HER["batch"], gamma=HER["gamma"], tau=0.005,
                    replay_buffer_class=HerReplayBuffer,
                    replay_buffer_kwargs=dict(n_sampled_goal=HER["k"], goal_selection_strategy="future"),
                    policy_kwargs=dict(net_arch=list(HER["hidden"])), **common)
    model.learn(total_timesteps=b["steps"], callback=EvalAt())
    evaluate(model)
    return {"final": curve[-1], "env_steps": int(model.num_timesteps), "curve": curve, "resumed": False}


# -- cells ----------------------------------------------------------------------------------------
def run_cell(cell_args) -> str:
    method, impl, seed, scale, cell = cell_args
    import torch

    torch.set_num_threads(1)
    if not claim_cell(cell):
        return f"{method} {impl} seed {seed}: skipped (another process has it; remove {cell}/.running after a kill)"
    if os.path.isfile(os.path.join(cell, "result.json")):
        release_cell(cell)
        return f"{method} {impl} seed {seed}: already done"
    b = budget(method, scale)
    t0 = time.time()
    res = run_ours(method, seed, b, cell) if impl == "ours" else run_sb3(method, seed, b)
    res.update(wall_s=time.time() - t0, method=method, impl=impl, seed=seed, scale=scale)
    res["steps_per_s"] = res["env_steps"] / res["wall_s"]
    finish_cell(cell, res)
    return f"{method} {impl} seed {seed}: final {res['final']:.3f}, {res['steps_per_s']:.1f} env steps/s, {res['wall_s']:.0f} s"


def report(root: str, methods, impls, seeds) -> None:
    print(f"\n== {root}")
    for m in methods:
        rows = {}
        for impl in impls:
            rs = []
            for s in seeds:
                p = os.path.join(root, m, f"{impl}_s{s}", "result.json")
                if os.path.isfile(p):
                    with open(p) as f:
                        rs.append(json.load(f))
            rows[impl] = rs
            if rs:
                what = "success" if m == "her" else "return"
                print(f"{m:5s} {impl:4s} final {what}: {mean_spread([r['final'] for r in rs])}; per seed "
                      f"{[round(r['final'], 3) for r in rs]}; env steps/s {mean_spread([r['steps_per_s'] for r in rs])}"
                      + (" (some cells resumed: their speed covers the last part only)" if any(r["resumed"] for r in rs) else ""))
        if all(rows.get(i) for i in ("ours", "sb3")):
            ours, sb3 = rows["ours"], rows["sb3"]
            whole = [r["steps_per_s"] for r in ours if not r["resumed"]]  # a resumed cell's wall is partial
            ratio = np.mean(whole) / np.mean([r["steps_per_s"] for r in sb3]) if whole else float("nan")
            f_o, f_s = [r["final"] for r in ours], [r["final"] for r in sb3]
            met = np.mean(f_o) >= np.mean(f_s) - np.std(f_s)
            print(f"{m:5s} ratio ours/sb3 env steps/s = {ratio:.2f}; ours mean {np.mean(f_o):.3f} vs sb3 "
                  f"{np.mean(f_s):.3f} +- {np.std(f_s):.3f}: {'at least SB3 within its spread' if met else 'BELOW SB3'}")


def main() -> int:
    p = cell_parser(__doc__, "model_free")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--impls", default="ours,sb3")
    p.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    args = p.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    impls = [i for i in args.impls.split(",") if i]
    bad = [m for m in methods if m not in METHODS] + [i for i in impls if i not in ("ours", "sb3")]
    if bad:
        print(f"error: unknown method or implementation {bad}; methods {', '.join(METHODS)}, impls ours, sb3", file=sys.stderr)
        return 2
    if args.seeds < 1 or args.first_seed < 0 or args.procs < 1 or not args.scale > 0:
        print("error: --seeds and --procs must be >= 1, --first-seed >= 0, --scale > 0", file=sys.stderr)
        return 2
    os.environ["OMP_NUM_THREADS"] = "1"  # one thread per cell; the spawned workers inherit it
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    if not args.report:
        cells = [(m, i, s, args.scale, os.path.join(args.root, m, f"{i}_s{s}")) for m in methods for s in seeds for i in impls]
        run_pending(run_cell, cells, args.root, args.procs)
    report(args.root, methods, impls, seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
