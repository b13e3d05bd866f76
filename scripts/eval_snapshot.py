"""Evaluate a snapshot offline: K deterministic episodes, mean return and success rate.

    python scripts/eval_snapshot.py data/sac/<run>/params.pt --episodes 10 [--seed S] [--json]
    python scripts/eval_snapshot.py data/legion/<run>/params.pt --episodes 3     # every task of the stream
    python scripts/eval_snapshot.py data/mopo/<run>/offline_params.pt             # + D4RL's normalised score

The normalised score is printed for envs with reference returns (lifelong_rl/envs/reference_scores.py).

Exit code 2 with a one-line error for a missing or corrupt snapshot.
"""
import argparse
import json
import sys

from experiment_configs.evaluation import load_policies
from lifelong_rl.core.evaluation import evaluate
from lifelong_rl.core.logger import SnapshotError
from lifelong_rl.envs.make_env import UnknownEnvError
from lifelong_rl.envs.reference_scores import normalized_score
from lifelong_rl.variants import ConfigError


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("snapshot", help="itr_<epoch>.pt or params.pt")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=None, help="env seed (default: the run's, which keeps its MetaWorld goal)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.episodes < 1:
        print("error: --episodes must be >= 1", file=sys.stderr)
        return 2
    try:
        variant, entries = load_policies(args.snapshot, args.device, args.seed)
    except (SnapshotError, ConfigError, UnknownEnvError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    results = []
    for name, env, policy in entries:
        res = evaluate(env, policy, args.episodes)
        res.update(snapshot=args.snapshot, env=name, algorithm=variant["algorithm"],
                   normalized_score=normalized_score(name, res["mean_return"], variant["seed"]) if "env" in variant else None)
        results.append(res)
        if not args.json:
            succ = "n/a" if res["success_rate"] is None else f"{res['success_rate']:.3f}"
            score = "" if res["normalized_score"] is None else f", normalized score {res['normalized_score']:.1f}"
            print(f"{variant['algorithm']} on {name}: mean return {res['mean_return']:.2f} "
                  f"+- {res['std_return']:.2f}{score}, success rate {succ} over {args.episodes} episodes")
    rates = [r["success_rate"] for r in results if r["success_rate"] is not None]
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else
                         {"tasks": results, "average_success": float(sum(rates) / len(rates)) if rates else None}))
    elif len(results) > 1 and rates:
        print(f"average success over {len(results)} tasks: {sum(rates) / len(rates):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
