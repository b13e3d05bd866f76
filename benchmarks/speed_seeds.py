"""Many seeds on one machine (issue 16): aggregate env steps/s of N seeds of SAC on metaworld/reach-v3
(256x256, batch 256, one update per env step, after 1000 random warm-up steps), four ways on the
same cores, alternating within each round:

  vectorized   the N seeds as one batch in one process (--vectorize-seeds), all cores' threads
  vectorized-bf16  the same with bfloat16 matmuls (trainer_kwargs/matmul_dtype=bfloat16: approximate,
               not the default)
  ours         N separate processes of ours, the cores shared (torch threads = max(1, cores // N))
  sb3          N separate processes of Stable-Baselines3, threads as ours

Every way starts its timed steps together (a barrier after warm-up); the aggregate rate is
N x steps / (last end - first start). Prints each rate (median of the rounds), the ratios, the
vectorized update's fraction of the matmul bound (N x one update's GEMMs at float32 torch.mm speed),
and last `ratio vectorized/sb3 at N=4: X.XX` (float32, the default).

    python benchmarks/speed_seeds.py                      # N = 1, 2, 4, 8; about 10 minutes on 2 cores
    python benchmarks/speed_seeds.py --seeds 4 --rounds 1
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Tuple

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from speed_sac import SB3, Ours, gemm_flops, measure_matmul_flops, sac_update_gemms  # noqa: E402

from experiment_configs import registry  # noqa: E402
from experiment_configs.algorithms.lockstep import build_lockstep  # noqa: E402
from lifelong_rl.envs.make_env import make_env  # noqa: E402
from lifelong_rl.torch.perf import keep_freed_memory  # noqa: E402

HIDDEN, BATCH = [256, 256], 256


def _vectorized(num_seeds: int, warmup: int, steps: int, log_dir: str, matmul_dtype: str):
    """The N seeds as one LockstepLoop (what --vectorize-seeds builds)."""
    variants = []
    for seed in range(num_seeds):
        v = registry.default_variant("sac")
        v.update(env="metaworld/reach-v3", seed=seed)
        v["trainer_kwargs"]["matmul_dtype"] = matmul_dtype
        v["policy_kwargs"]["hidden_sizes"] = v["qf_kwargs"]["hidden_sizes"] = HIDDEN
        v["algorithm_kwargs"].update(batch_size=BATCH, min_num_steps_before_training=warmup, num_expl_steps_per_train_loop=steps,
                                     num_trains_per_train_loop=steps, num_eval_steps_per_epoch=0)
        v["logging"].update(snapshot_mode="none", progress_bar=False)
        variants.append(registry.validate(v))
    loop, close = build_lockstep(variants, [os.path.join(log_dir, f"s{s}") for s in range(num_seeds)])
    loop.schedule.start()
    return loop.schedule, close


def _bare_fraction(schedule, num_seeds: int, obs_dim: int, act_dim: int, n: int = 50) -> float:
    """The stacked update's FLOP rate over torch.mm's on the same GEMMs (median of 3 alternated pairs)."""
    batches = [lane.buffer.random_batch(BATCH) for lane in schedule.lanes]
    batch = {k: torch.from_numpy(np.stack([b[k] for b in batches])) for k in batches[0]}
    gemms = sac_update_gemms(obs_dim, act_dim, HIDDEN, BATCH) * num_seeds
    flops, fractions = gemm_flops(gemms), []
    for _ in range(3):
        for _ in range(5):
            schedule.trainer.train_from_torch(batch)
        t = time.perf_counter()
        for _ in range(n):
            schedule.trainer.train_from_torch(batch)
        rate = n / (time.perf_counter() - t)
        fractions.append(rate * flops / measure_matmul_flops(gemms, seconds=1.0))
    return statistics.median(fractions)


def _worker(kind: str, seed: int, num_seeds: int, threads: int, warmup: int, steps: int, barrier, out) -> None:
    torch.set_num_threads(threads)
    keep_freed_memory()
    with tempfile.TemporaryDirectory() as tmp:
        if kind.startswith("vectorized"):
            learner, close = _vectorized(num_seeds, warmup, steps, tmp, "bfloat16" if kind.endswith("bf16") else "float32")
            run = lambda: learner.train_epoch(0)  # noqa: E731
        elif kind == "ours":
            learner = Ours(HIDDEN, BATCH, warmup, steps, seed, os.path.join(tmp, "ours"))
            close, run = learner.close, learner.run
        else:
            learner = SB3(HIDDEN, BATCH, warmup, steps, seed)
            close, run = (lambda: None), learner.run
        barrier.wait()
        t0 = time.time()
        run()
        t1 = time.time()
        fraction = None
        if kind.startswith("vectorized"):
            env = make_env("metaworld/reach-v3", 0)
            fraction = _bare_fraction(learner, num_seeds, env.observation_space.shape[0], env.action_space.shape[0])
        close()
    out.put((t0, t1, fraction))


def measure(kind: str, num_seeds: int, cores: int, warmup: int, steps: int) -> Tuple[float, float]:
    """(aggregate env steps/s, matmul fraction or nan) of one way at N seeds."""
    ctx = mp.get_context("spawn")
    vectorized = kind.startswith("vectorized")
    procs = 1 if vectorized else num_seeds
    threads = cores if vectorized else max(1, cores // num_seeds)
    barrier, out = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(kind, s, num_seeds, threads, warmup, steps, barrier, out)) for s in range(procs)]
    for w in workers:
        w.start()
    results = [out.get() for _ in workers]
    for w in workers:
        w.join()
        if w.exitcode != 0:
            raise RuntimeError(f"{kind} worker failed (exit {w.exitcode})")
    start, end = min(r[0] for r in results), max(r[1] for r in results)
    fraction = results[0][2] if vectorized else float("nan")
    return num_seeds * steps / (end - start), fraction


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="1,2,4,8", help="the N to measure")
    p.add_argument("--steps", type=int, default=250, help="timed env steps per seed")
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    p.add_argument("--no-sb3", action="store_true")
    p.add_argument("--no-bf16", action="store_true")
    args = p.parse_args()
    ns = [int(n) for n in args.seeds.split(",")]
    kinds = ["vectorized"] + ([] if args.no_bf16 else ["vectorized-bf16"]) + ["ours"] + ([] if args.no_sb3 else ["sb3"])
    rates: Dict[Tuple[str, int], List[float]] = {}
    fractions: Dict[Tuple[str, int], List[float]] = {}
    for r in range(args.rounds):
        for n in ns:
            line = []
            for kind in kinds:
                rate, fraction = measure(kind, n, args.cores, args.warmup, args.steps)
                rates.setdefault((kind, n), []).append(rate)
                if kind.startswith("vectorized"):
                    fractions.setdefault((kind, n), []).append(fraction)
                line.append(f"{kind} {rate:.1f}")
            print(f"round {r}, N={n}: " + ", ".join(line) + " env steps/s (aggregate)", flush=True)
    print(f"config: metaworld/reach-v3, hidden {HIDDEN}, batch {BATCH}, one update per env step, {args.steps} timed steps "
          f"per seed, {args.cores} cores, median of {args.rounds} rounds")
    med = {k: statistics.median(v) for k, v in rates.items()}
    for n in ns:
        parts = [f"{kind} {med[(kind, n)]:.1f}" for kind in kinds]
        ratios = [f"{vec}/{kind} {med[(vec, n)] / med[(kind, n)]:.2f}" for vec in kinds if vec.startswith("vectorized")
                  for kind in kinds if not kind.startswith("vectorized")]
        bound = ", ".join(f"{vec} {statistics.median(f):.0%}" for (vec, m), f in fractions.items() if m == n)
        print(f"N={n}: " + ", ".join(parts) + " env steps/s; " + ", ".join(ratios)
              + f"; update FLOP rate / float32 matmul bound: {bound}")
    if 4 in ns and "sb3" in kinds and "vectorized-bf16" in kinds:
        print(f"ratio vectorized-bf16/sb3 at N=4: {med[('vectorized-bf16', 4)] / med[('sb3', 4)]:.2f} "
              "(bfloat16 matmuls: approximate, not the default)")
    if 4 in ns and "sb3" in kinds:
        print(f"ratio vectorized/sb3 at N=4: {med[('vectorized', 4)] / med[('sb3', 4)]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
