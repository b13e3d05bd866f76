"""Single-task reference runs for forward transfer: SAC trained on each task of a stream alone,
with the continual run's settings (steps per task, eval cadence, episode length, networks), and
each task's success curve stored as JSON for `--set continual/references=PATH`.

    python scripts/continual_references.py --stream reach,push,window-close --steps-per-task 100000 \
        --out agent_data/references/short3_100k_s0.json [--seed 0] [--mode local_par]
"""
import argparse
import copy
import json
import os
import sys

import pandas as pd

from experiment_utils.launcher import launch
from lifelong_rl.envs.streams import stream_episode_length, stream_tasks
from lifelong_rl.registry import default_variant
from lifelong_rl.variants import ConfigError, apply_set


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stream", required=True)
    p.add_argument("--num-tasks", type=int, default=0)
    p.add_argument("--steps-per-task", type=int, default=100_000)
    p.add_argument("--eval-every", type=int, default=10_000)
    p.add_argument("--eval-episodes", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", default="local", choices=["local", "local_par"])
    p.add_argument("--log-dir", default="data/references")
    p.add_argument("--set", action="append", default=[], metavar="KEY/PATH=VALUE",
                   help="the same overrides as the continual run (e.g. policy_kwargs/hidden_sizes=[400,400])")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    tasks = list(dict.fromkeys(stream_tasks(args.stream, args.num_tasks or None)))  # each task once
    jobs, default = [], default_variant("continual_sac")
    for t in tasks:
        v = default_variant("continual_sac")
        v.update(seed=args.seed, exp_name="references")
        v["continual"].update(stream=t, cl_method="finetune", task_id="none", steps_per_task=args.steps_per_task,
                              eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                              episode_length=stream_episode_length(args.stream))
        v["logging"].update(progress_bar=False, snapshot_mode="last")
        try:
            for assignment in args.set:
                apply_set(v, default, assignment)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        jobs.append((copy.deepcopy(v), os.path.join(args.log_dir, f"{t}_s{args.seed}"), None))
    rc = launch(jobs, args.mode)
    if rc:
        return rc
    out = {"overrides": args.set, "steps_per_task": args.steps_per_task, "eval_every": args.eval_every, "seed": args.seed, "tasks": {}}
    for t, (_, d, _) in zip(tasks, jobs):
        df = pd.read_csv(os.path.join(d, "progress.csv"))
        out["tasks"][t] = {"steps": df["continual/steps"].tolist(), "success": df[f"evaluation/00_{t}/Success Rate"].tolist()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {args.out} ({len(tasks)} tasks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
