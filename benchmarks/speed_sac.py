"""SAC speed on CPU (issues 3, 16): ours against Stable-Baselines3 and SBX (Stable-Baselines3 in JAX,
the fastest single-seed peer) with identical settings, alternating in one process, plus the bare
update against the matmul bound of this machine.

Settings for both: metaworld/reach-v3, MLPs 256x256 (or --hidden), batch 256 (or --batch-size),
lr 3e-4, gamma 0.99, tau 0.005, automatic entropy, one update per env step, the same number of
uniformly random warm-up steps, buffer 1e6. Each round times `--steps` env steps (with their
updates) of each library; the medians are printed, the ratio last.

    python benchmarks/speed_sac.py                         # 256x256, batch 256
    python benchmarks/speed_sac.py --batch-size 512
    python benchmarks/speed_sac.py --hidden 400,400,400
    python benchmarks/speed_sac.py --no-sb3 --no-sbx       # ours only (no `bench` extra needed)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import List, Sequence

import torch

from experiment_configs import registry
from lifelong_rl.envs.make_env import make_env
from lifelong_rl.torch.perf import keep_freed_memory


# -- FLOPs and the matmul bound ------------------------------------------------------------------
def _gemms(in_dim: int, hidden: Sequence[int], out_dim: int, batch: int, members: int = 1):
    """(m, k, n) of each layer's forward GEMM, repeated per ensemble member."""
    dims = [in_dim, *hidden, out_dim]
    return [(batch, i, o) for i, o in zip(dims[:-1], dims[1:])] * members


def sac_update_gemms(obs_dim: int, act_dim: int, hidden: Sequence[int], batch: int):
    """Every GEMM of one SAC update as (m, k, n), forward and backward, as our trainer runs it:
    policy fwd on s (grad) and s' (no grad); critics fwd on (s, a~) (actor pass, input grads only),
    on (s, a) (weight grads, input grads except the first layer) and targets on (s', a')."""
    pi = _gemms(obs_dim, hidden, 2 * act_dim, batch)
    q = _gemms(obs_dim + act_dim, hidden, 1, batch, members=2)
    out = []
    out += pi * 2                                          # policy forward on s and s'
    out += [(k, m, n) for m, k, n in pi]                   # policy weight grads
    out += [(m, n, k) for m, k, n in pi[1:]]               # policy input grads (not for s)
    out += q * 3                                           # critic fwd: actor pass, critic pass, target
    out += [(m, n, k) for m, k, n in q]                    # actor pass: input grads (down to a~)
    out += [(k, m, n) for m, k, n in q]                    # critic weight grads
    out += [(m, n, k) for m, k, n in q if k != obs_dim + act_dim]  # critic input grads above layer 1
    return out


def gemm_flops(gemms) -> float:
    return float(sum(2 * m * k * n for m, k, n in gemms))


def measure_matmul_flops(gemms, seconds: float = 2.0) -> float:
    """FLOP/s of plain float32 torch.mm over exactly these shapes (the bound for the update)."""
    mats = [(torch.randn(m, k), torch.randn(k, n)) for m, k, n in gemms]
    for a, b in mats:
        a @ b
    flops, reps, t0 = gemm_flops(gemms), 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for a, b in mats:
            torch.mm(a, b)
        reps += 1
    return flops * reps / (time.perf_counter() - t0)


# -- the two libraries ---------------------------------------------------------------------------
class Ours:
    def __init__(self, hidden: List[int], batch: int, warmup: int, steps: int, seed: int, log_dir: str,
                 matmul_dtype: str = "float32"):
        v = registry.default_variant("sac")
        v.update(env="metaworld/reach-v3", seed=seed)
        v["trainer_kwargs"]["matmul_dtype"] = matmul_dtype
        v["policy_kwargs"]["hidden_sizes"] = v["qf_kwargs"]["hidden_sizes"] = hidden
        v["algorithm_kwargs"].update(batch_size=batch, min_num_steps_before_training=warmup,
                                     num_expl_steps_per_train_loop=steps, num_trains_per_train_loop=steps,
                                     num_eval_steps_per_epoch=0)
        v["logging"].update(snapshot_mode="none", progress_bar=False)
        loop, self.close = registry.build(registry.validate(v), log_dir)
        self.schedule = loop.schedule
        self.schedule.start()  # the random warm-up

    def run(self) -> float:
        t = time.perf_counter()
        self.schedule.train_epoch(0)
        return time.perf_counter() - t

    def bare_update_rate(self, n: int = 200) -> float:
        a = self.schedule
        batch = {k: torch.from_numpy(v) for k, v in a.buffer.random_batch(a.batch_size).items()}
        for _ in range(10):
            a.trainer.train_from_torch(batch)
        t = time.perf_counter()
        for _ in range(n):
            a.trainer.train_from_torch(batch)
        return n / (time.perf_counter() - t)


class SB3:
    """Stable-Baselines3's SAC (PyTorch), or with `jax` SBX's (the same API on JAX)."""

    def __init__(self, hidden: List[int], batch: int, warmup: int, steps: int, seed: int, jax: bool = False):
        if jax:
            from sbx import SAC
        else:
            from stable_baselines3 import SAC

        self.steps = steps
        env = make_env("metaworld/reach-v3", seed)
        self.model = SAC("MlpPolicy", env, learning_rate=3e-4, buffer_size=int(1e6), learning_starts=warmup,
                         batch_size=batch, tau=0.005, gamma=0.99, train_freq=1, gradient_steps=1, ent_coef="auto",
                         policy_kwargs=dict(net_arch=list(hidden)), seed=seed, verbose=0,
                         **({} if jax else {"device": "cpu"}))
        self.model.learn(warmup + 1)

    def run(self) -> float:
        t = time.perf_counter()
        self.model.learn(self.steps, reset_num_timesteps=False)
        return time.perf_counter() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", default="256,256")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--steps", type=int, default=500, help="env steps per timed round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-sb3", action="store_true")
    p.add_argument("--no-sbx", action="store_true")
    p.add_argument("--no-bf16", action="store_true", help="skip ours with bfloat16 matmuls (trainer_kwargs/matmul_dtype)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    hidden = [int(h) for h in args.hidden.split(",")]
    env = make_env("metaworld/reach-v3", 0)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]

    gemms = sac_update_gemms(obs_dim, act_dim, hidden, args.batch_size)
    flops = gemm_flops(gemms)
    with tempfile.TemporaryDirectory() as tmp:
        ours = Ours(hidden, args.batch_size, args.warmup, args.steps, args.seed, os.path.join(tmp, "ours"))
        peers = {name: SB3(hidden, args.batch_size, args.warmup, args.steps, args.seed, jax=name == "sbx")
                 for name, skip in (("sb3", args.no_sb3), ("sbx", args.no_sbx)) if not skip}
        if not args.no_bf16:
            peers["ours-bf16"] = Ours(hidden, args.batch_size, args.warmup, args.steps, args.seed,
                                      os.path.join(tmp, "ours-bf16"), "bfloat16")
        t_ours, t_peer = [], {name: [] for name in peers}
        for r in range(args.rounds):
            t_ours.append(ours.run())
            for name, peer in peers.items():
                t_peer[name].append(peer.run())
            print(f"round {r}: ours {args.steps / t_ours[-1]:.1f} steps/s"
                  + "".join(f", {name} {args.steps / t[-1]:.1f} steps/s" for name, t in t_peer.items()), flush=True)
        # Bare update and matmul rate measured in alternation, the fraction taken pair by pair: a
        # noisy neighbour then slows both sides of a pair rather than one of the medians.
        pairs = [(ours.bare_update_rate(), measure_matmul_flops(gemms)) for _ in range(3)]
        ours.close()
        if "ours-bf16" in peers:
            peers["ours-bf16"].close()
    bare = statistics.median(b for b, _ in pairs)
    matmul = statistics.median(m for _, m in pairs)
    fraction = statistics.median(b * flops / m for b, m in pairs)
    bound = matmul / flops
    print(f"config: hidden {hidden}, batch {args.batch_size}, threads {args.threads}, steps/round {args.steps}, rounds {args.rounds}")
    print(f"matmul: {matmul / 1e9:.1f} GFLOP/s on this update's GEMM shapes (plain torch.mm, float32)")
    print(f"one update: {flops / 1e9:.3f} GFLOP -> bound {bound:.0f} updates/s")
    print(f"bare update: {bare:.1f} updates/s = {fraction:.0%} of the bound (median of 3 alternated pairs: "
          + ", ".join(f"{b:.0f} upd/s vs {m / 1e9:.0f} GFLOP/s" for b, m in pairs) + ")")
    ours_sps = args.steps / statistics.median(t_ours)
    print(f"ours: {ours_sps:.1f} env steps/s (median, one update per step)")
    rates = {name: args.steps / statistics.median(t) for name, t in t_peer.items()}
    for name, sps in rates.items():
        print(f"{name}:  {sps:.1f} env steps/s (median)")
    bf16 = rates.pop("ours-bf16", None)
    for name, sps in rates.items():
        if bf16 is not None:
            print(f"ratio ours-bf16/{name} = {bf16 / sps:.2f} (bfloat16 matmuls: approximate, not the default)")
    for name, sps in rates.items():
        print(f"ratio ours/{name} = {ours_sps / sps:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
