"""Single-task reference runs for forward transfer: SAC trained on each task of a stream alone,
with the continual run's settings (steps per task, eval cadence, episode length, networks), and
each task's success curve stored as JSON for `--set continual/references=PATH`.

    python scripts/continual_references.py --stream reach,push,window-close --steps-per-task 100000 \
        --out agent_data/references/short3_100k_s0.json [--seed 0] [--mode local_par]

Runs go to LOG_DIR/<task>_s<seed>; the same command again skips the finished ones and resumes the
others from their last snapshot.
"""
import argparse
import copy
import json
import os
import sys
from typing import Any, Dict, List, Tuple

import pandas as pd

from experiment_utils.launcher import launch, pending_jobs, require_ray
from lifelong_rl.envs.streams import stream_episode_length, stream_tasks
from experiment_configs.registry import default_variant, schema
from lifelong_rl.variants import ConfigError, apply_set


def reference_jobs(stream: str, steps_per_task: int, eval_every: int, eval_episodes: int, seed: int,
                   overrides: List[str], log_dir: str, num_tasks: int = 0) -> List[Tuple[Dict[str, Any], str, None]]:
    """One single-task SAC job per distinct task of the stream (raises ConfigError on a bad override)."""
    tasks = list(dict.fromkeys(stream_tasks(stream, num_tasks or None)))  # each task once
    jobs, keys = [], schema("continual_sac")
    for t in tasks:
        v = default_variant("continual_sac")
        v.update(seed=seed, exp_name="references")
        v["continual"].update(stream=t, cl_method="finetune", task_id="none", steps_per_task=steps_per_task,
                              eval_every=eval_every, eval_episodes=eval_episodes,
                              episode_length=stream_episode_length(stream))
        v["logging"].update(progress_bar=False, snapshot_mode="last")
        for assignment in overrides:
            apply_set(v, keys, assignment)
        jobs.append((copy.deepcopy(v), os.path.join(log_dir, f"{t}_s{seed}"), None))
    return jobs


def write_references(jobs, overrides: List[str], steps_per_task: int, eval_every: int, seed: int, out_path: str) -> Dict[str, Any]:
    """Each finished reference run's success curve, as the JSON `continual/references` reads."""
    out = {"overrides": overrides, "steps_per_task": steps_per_task, "eval_every": eval_every, "seed": seed, "tasks": {}}
    for v, d, _ in jobs:
        t = v["continual"]["stream"]
        df = pd.read_csv(os.path.join(d, "progress.csv"))
        out["tasks"][t] = {"steps": df["continual/steps"].tolist(), "success": df[f"evaluation/00_{t}/Success Rate"].tolist()}
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(out, f, indent=1)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stream", required=True)
    p.add_argument("--num-tasks", type=int, default=0)
    p.add_argument("--steps-per-task", type=int, default=100_000)
    p.add_argument("--eval-every", type=int, default=10_000)
    p.add_argument("--eval-episodes", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", default="local", choices=["local", "local_par", "ray"])
    p.add_argument("--log-dir", default="data/references")
    p.add_argument("--set", action="append", default=[], metavar="KEY/PATH=VALUE",
                   help="the same overrides as the continual run (e.g. policy_kwargs/hidden_sizes=[400,400])")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    require_ray(args.mode)
    try:
        jobs = reference_jobs(args.stream, args.steps_per_task, args.eval_every, args.eval_episodes, args.seed,
                              args.set, args.log_dir, args.num_tasks)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    todo = pending_jobs(jobs)  # the same command again skips finished runs and resumes the others
    rc = launch(todo, args.mode) if todo else 0
    if rc:
        return rc
    write_references(jobs, args.set, args.steps_per_task, args.eval_every, args.seed, args.out)
    print(f"wrote {args.out} ({len(jobs)} tasks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
