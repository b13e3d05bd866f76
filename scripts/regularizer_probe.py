"""How well did an l2 / ewc run's actor penalty guard a finished task? From one snapshot of a
continual run, on the states the current policy visits in that task:

- units per hidden layer whose incoming weights all have zero importance (EWC: a ReLU unit that was
  off on every Fisher sample): the penalty does not see them;
- KL(anchored actor || current actor), mean over the states, against the penalty's own estimate of
  it, 0.5 * sum_i F_i (theta_i - theta*_i)^2 (EWC's quadratic; F summed over the tasks so far);
- the task's success with the current actor and with the anchored one (the parameters at the end
  of the last consolidated task; heads are not regularised and are kept as they are).

    python scripts/regularizer_probe.py data/continual_sac/<run>/params.pt [--task 0] [--json]
"""
import argparse
import json
import sys
from typing import Any, Dict

import torch

from experiment_configs import registry
from lifelong_rl.core.evaluation import evaluate
from lifelong_rl.core.logger import SnapshotError, load_snapshot
from lifelong_rl.samplers.collectors import rollout


def gaussian_kl(p, q) -> torch.Tensor:
    """KL(p || q) of the pre-tanh diagonal Gaussians, summed over action dims: [B]."""
    return (torch.log(q.std / p.std) + (p.std ** 2 + (p.mean - q.mean) ** 2) / (2 * q.std ** 2) - 0.5).sum(-1)


def probe(path: str, task: int = 0) -> Dict[str, Any]:
    snap = load_snapshot(path)
    reg = ((snap.get("schedule") or {}).get("strategy") or {}).get("policy_regularizer")
    if not reg or not reg["anchors"]:
        raise SnapshotError(f"{path} holds no consolidated actor regulariser (not an l2/ewc run past its first task)")
    variant = snap["variant"]
    trainer, entries = registry.evaluation_setup(variant)
    trainer.load_state_dict(snap["trainer"])
    if not 0 <= task < len(entries):
        raise ValueError(f"--task {task} is not in the stream's {len(entries)} tasks")
    name, env, policy = entries[task]
    actor = trainer.policy
    success_now = evaluate(env, policy, 1)["success_rate"]
    obs = torch.as_tensor(rollout(env, policy, 10_000)["observations"])
    params = dict(actor.named_parameters())
    current = {n: p.detach().clone() for n, p in params.items()}
    with torch.no_grad():
        dist_now = actor(obs)
        for n, a in reg["anchors"].items():
            params[n].copy_(a)
        dist_anchor = actor(obs)
    success_anchored = evaluate(env, policy, 1)["success_rate"]
    with torch.no_grad():
        for n, p in current.items():
            params[n].copy_(p)
    blind = {n: f"{int((w.flatten(1).sum(1) == 0).sum())}/{w.shape[0]}"
             for n, w in reg["weights"].items() if n.endswith("weight") and w.dim() == 2}
    quad = 0.5 * sum(float((reg["weights"][n] * (current[n] - a) ** 2).sum()) for n, a in reg["anchors"].items())
    return {
        "task": name,
        "states": len(obs),
        "units_with_zero_importance": blind,
        "kl_anchored_to_current": float(gaussian_kl(dist_anchor, dist_now).mean()),
        "penalty_quadratic_estimate": quad,
        "success_current": success_now,
        "success_anchored": success_anchored,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("snapshot")
    p.add_argument("--task", type=int, default=0, help="index in the stream of the finished task to probe")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        r = probe(args.snapshot, args.task)
    except (SnapshotError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"{r['task']}, {r['states']} states of the current policy's episode")
    print("  units with zero importance (all incoming weights): "
          + ", ".join(f"{n} {c}" for n, c in r["units_with_zero_importance"].items()))
    print(f"  KL(anchored || current) {r['kl_anchored_to_current']:.4g} nats/state; "
          f"penalty's quadratic estimate 0.5 sum F dtheta^2 = {r['penalty_quadratic_estimate']:.4g}")
    print(f"  success: current {r['success_current']}, anchored {r['success_anchored']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
