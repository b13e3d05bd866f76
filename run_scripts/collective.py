"""Transformer-based collective learning on MetaWorld, as one pipeline: experts -> trajectory
transformer -> distilled collective policy -> evaluation -> reward-shaped students -> finetuning
(experiment_configs/collective_pipeline.py). Every stage writes to its own folder of --dir and is
skipped when its output exists; a stage asked for before its inputs exist is refused.

    python run_scripts/collective.py --quick --tasks reach-v3,button-press-topdown-v3 --dir /tmp/col
    python run_scripts/collective.py --tasks reach-v3,push-v3,drawer-close-v3 --student-tasks reach-v3 \\
        --finetune-task drawer-open-v3 --baseline --mode local_par --dir data/collective/mt3
    python run_scripts/collective.py --dir data/collective/mt3 --stage evaluate
"""
import argparse
import sys

from experiment_configs.collective_pipeline import STAGES, Pipeline, StageFailed, parse_tasks
from experiment_utils.launcher import BAD_INPUT, OneLineParser


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True, metavar="DIR", help="the pipeline dir (one folder per stage)")
    p.add_argument("--stage", default="all", choices=("all",) + STAGES, help="the stage to run (default: all, in order)")
    p.add_argument("--tasks", metavar="T1,T2,...", help="MetaWorld v3 tasks of the experts and the collective")
    p.add_argument("--student-tasks", metavar="T1,...", help="tasks a reward-shaped student learns (seen or held out)")
    p.add_argument("--finetune-task", metavar="TASK", help="a new task the collective is finetuned on")
    p.add_argument("--expert", choices=("scripted", "sac"), help="MetaWorld's scripted policies (default) or SAC trained here")
    p.add_argument("--scripted-std", type=float, metavar="S", help="std of the scripted experts' Gaussian action noise (0.1)")
    p.add_argument("--episodes", type=int, metavar="N", help="episodes recorded per expert (20)")
    p.add_argument("--max-path-length", type=int, metavar="N", help="episode length of every stage (200)")
    p.add_argument("--same-goal", action="store_true", default=None,
                   help="one goal per run (default: a new goal of the task's 50 at every episode)")
    p.add_argument("--eval-episodes", type=int, metavar="N", help="episodes per task in the evaluate and finetune stages (10)")
    p.add_argument("--baseline", action="store_true", default=None, help="students also as SAC from scratch")
    p.add_argument("--seed", type=int, metavar="N", help="seed of every stage (0)")
    p.add_argument("--set", action="append", metavar="STAGE:KEY=VALUE",
                   help="a variant key of a stage's algorithm, e.g. student:algorithm_kwargs/num_epochs=30 (repeatable)")
    p.add_argument("--quick", action="store_true", default=None, help="tiny sizes for a smoke run")
    p.add_argument("--mode", choices=("local", "local_par"), default="local", help="runs of a stage one by one or in parallel")
    args = p.parse_args(argv)
    given = {"tasks": parse_tasks(args.tasks), "student_tasks": parse_tasks(args.student_tasks),
             "finetune_task": args.finetune_task, "expert": args.expert, "scripted_std": args.scripted_std,
             "episodes": args.episodes, "max_path_length": args.max_path_length,
             "new_goal_each_episode": None if args.same_goal is None else False, "eval_episodes": args.eval_episodes,
             "baseline": args.baseline, "seed": args.seed, "set": args.set, "quick": args.quick}
    try:
        Pipeline.open(args.dir, given, args.mode).run_stages(args.stage)
    except BAD_INPUT as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except StageFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
