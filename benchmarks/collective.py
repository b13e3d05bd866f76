"""Transformer-based collective learning (issue 20): the whole pipeline of run_scripts/collective.py on
5 MetaWorld v3 tasks, one pipeline dir per seed (<root>/s<seed>), seeds in parallel processes. A
killed benchmark resumes with the same command: each pipeline skips its finished stages and resumes
its runs from their snapshots.

Tasks (all from MT10, every scripted expert succeeds on each with its noise; they differ in objects
and motions, so the embedding has something to separate):
    the collective's:   reach-v3, push-v3, drawer-close-v3, button-press-topdown-v3, window-open-v3
    student, seen:      button-press-topdown-v3  (a seen task SAC does not solve at once)
    student, held out:  window-close-v3          (its sibling window-open is in the collective)
    finetune, new:      drawer-open-v3           (its sibling drawer-close is in the collective)

Budget per seed, about 50 minutes of one core (here the 3 seeds ran as 3 processes on the 2 cores,
81-93 minutes of wall time each, the --min-std cells alongside):
- experts: MetaWorld's scripted policies with N(0, 0.1^2) action noise, 50 episodes of 200 steps per
  task, a new goal of the task's 50 every episode (as in every stage);
- transformer: the original's sizes (d_model 32, 8 heads, 3 layers, 6-D embedding, 19-step windows),
  10 epochs x 100 updates of 64 windows (the original: batch 128, epochs left to the user), 20 % of
  each task's episodes held out for the nearest-centroid accuracy;
- distill: 20 epochs x 500 updates of 512 transitions, actor and critics 300 x 300;
- evaluate: 10 episodes per task, the collective (deterministic: its mean action) against its scripted
  expert (without the noise it was recorded with);
- students: SAC (256 x 256, batch 256, one update per step) for 5,000 uniformly random steps then 30
  epochs of 1000 steps, 35,000 env steps in all (the original: 50,000; SAC runs at about 65 env steps/s
  on one core here), shaped with the original's schedule (w = 1 until 8,000 steps, 0 at 50,000: still
  0.36 at 35,000) and from scratch; 5 evaluation episodes after every epoch (the first at 6,000 steps);
- finetune: SAC from the collective for 20,000 env steps (the original's length), then 10 episodes per task.

    python benchmarks/collective.py --root /tmp/bench/collective
    python benchmarks/collective.py --root /tmp/col --seeds 1 --quick     # a smoke run (minutes)
    python benchmarks/collective.py --root /tmp/bench/collective --report

With --min-std S (after the pipelines are done): the seen task's shaped student again with the
collective's sigma floored at S in the bonus (shaping/min_std; the original's scripted-teacher
variant used sigma = e^0.1 = 1.1), one cell per seed in <root>/s<seed>/min_std_<S>.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Dict, List, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cell_parser, claim_cell, finish_cell, run_pending  # noqa: E402

TASKS = ["reach-v3", "push-v3", "drawer-close-v3", "button-press-topdown-v3", "window-open-v3"]
SEEN, HELD_OUT, NEW = "button-press-topdown-v3", "window-close-v3", "drawer-open-v3"
EPOCHS = {"transformer": 10, "distill": 20, "student": 30, "finetune": 20}  # x --scale
CHECKPOINTS = (10_000, 15_000, 20_000, 25_000, 30_000, 35_000)  # env steps where students are compared


def pipeline_args(seed: int, cell: str, quick: bool, scale: float) -> List[str]:
    args = ["--dir", os.path.join(cell, "pipeline"), "--seed", str(seed), "--tasks", ",".join(TASKS),
            "--student-tasks", f"{SEEN},{HELD_OUT}", "--finetune-task", NEW, "--baseline"]
    if quick:
        return args + ["--quick"]
    sets = ["transformer:algorithm_kwargs/batch_size=64", "distill:algorithm_kwargs/num_trains_per_epoch=500"]
    sets += [f"{stage}:algorithm_kwargs/num_epochs={max(2, int(n * scale))}" for stage, n in EPOCHS.items()]
    return args + ["--episodes", "50", "--max-path-length", "200"] + [a for s in sets for a in ("--set", s)]


def run_cell(cell_args) -> str:
    seed, quick, scale, cell = cell_args
    if not claim_cell(cell):
        return f"{cell}: taken by another process, skipped"
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "run_scripts"))
    from collective import main

    t0 = time.time()
    code = main(pipeline_args(seed, cell, quick, scale))
    if code:
        return f"{cell}: the pipeline failed (exit code {code}); see its output"
    finish_cell(cell, {"seed": seed, "wall_minutes": (time.time() - t0) / 60})
    return f"{cell}: done in {(time.time() - t0) / 60:.1f} min"


def run_min_std_cell(cell_args) -> str:
    seed, min_std, cell = cell_args
    if not claim_cell(cell):
        return f"{cell}: taken by another process, skipped"
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from experiment_configs.collective_pipeline import Pipeline, learning_curve

    t0 = time.time()
    p = Pipeline.open(os.path.join(os.path.dirname(cell), "pipeline"), {})
    p.run([(p.task_variant("student", SEEN, **p.collective_inputs(), **{"shaping/min_std": min_std}), os.path.join(cell, "run"))])
    finish_cell(cell, {"seed": seed, "min_std": min_std, "curve": learning_curve(os.path.join(cell, "run"))})
    return f"{cell}: done in {(time.time() - t0) / 60:.1f} min"


# -- the report -------------------------------------------------------------------------------------------
def load(cell: str, stage: str) -> Optional[Dict[str, Any]]:
    p = os.path.join(cell, "pipeline", stage, "results.json")
    if not os.path.isfile(p):
        return None
    with open(p) as f:
        return json.load(f)


def ms(values) -> str:
    v = np.asarray([x for x in values if x is not None], float)
    return "n/a" if not len(v) else f"{v.mean():.2f} ± {v.std():.2f}" if len(v) > 1 else f"{v[0]:.2f}"


def at(curve: Dict[str, Any], key: str, step: int) -> Optional[float]:
    """The evaluation `key` (success, returns) of the last epoch at or before `step` env steps."""
    rows = [x for st, x in zip(curve["env_steps"], curve[key]) if st <= step]
    return rows[-1] if rows else None


def report(cells: List[str], min_std: Optional[float] = None) -> None:
    seeds = [os.path.basename(c) for c in cells]
    print(f"seeds: {', '.join(seeds)}; mean ± population std over the seeds with results")
    accs = []
    for c in cells:
        p = os.path.join(c, "pipeline", "transformer", "progress.csv")
        if os.path.isfile(p):
            import pandas as pd

            table = pd.read_csv(p)
            if "evaluation/Nearest Centroid Accuracy" in table:  # no held-out episodes: no accuracy
                accs.append(float(table["evaluation/Nearest Centroid Accuracy"].iloc[-1]))
    print(f"\ntransformer: nearest-centroid accuracy of held-out windows {ms(accs)} (n={len(accs)})")

    ev = [r for r in (load(c, "evaluate") for c in cells) if r]
    if ev:
        print(f"\nevaluate (n={len(ev)}): success and return per task, collective vs its expert")
        print("| task | collective success | expert success | collective return | expert return |")
        print("| --- | --- | --- | --- | --- |")
        for t in ev[0]:
            col = [r[t]["collective"] for r in ev]
            exp = [r[t]["expert"] for r in ev]
            print(f"| {t} | {ms([x['success'] for x in col])} | {ms([x['success'] for x in exp])} | "
                  f"{ms([x['return'] for x in col])} | {ms([x['return'] for x in exp])} |")

    st = [r for r in (load(c, "student") for c in cells) if r]
    if st:
        print(f"\nstudents (n={len(st)}): env steps to the first evaluation with a success (never: not counted, "
              "their number given), and evaluation success at equal steps")
        print("| task | student | first success | never | " + " | ".join(f"success @{k // 1000}k" for k in CHECKPOINTS) + " |")
        print("| --- | --- | --- | --- | " + " | ".join("---" for _ in CHECKPOINTS) + " |")
        for t in st[0]:
            for kind in st[0][t]:
                curves = [r[t][kind] for r in st]
                firsts = [c["steps_to_first_success"] for c in curves]
                never = sum(f is None for f in firsts)
                print(f"| {t}{' (seen)' if t in TASKS else ' (held out)'} | {kind} | {ms(firsts)} | {never}/{len(firsts)} | "
                      + " | ".join(ms([at(c, "success", k) for c in curves]) for k in CHECKPOINTS) + " |")
        ablation = []
        for c in cells:
            p = os.path.join(c, f"min_std_{min_std}", "result.json")
            if min_std is not None and os.path.isfile(p):
                with open(p) as f:
                    ablation.append(json.load(f)["curve"])
        if ablation:
            firsts = [c["steps_to_first_success"] for c in ablation]
            print(f"| {SEEN} (seen) | shaped, min_std {min_std} | {ms(firsts)} | {sum(f is None for f in firsts)}/{len(firsts)} | "
                  + " | ".join(ms([at(c, "success", k) for c in ablation]) for k in CHECKPOINTS) + " |")
        print("\nstudents: evaluation return (the task's own reward) at equal steps")
        print("| task | student | " + " | ".join(f"return @{k // 1000}k" for k in CHECKPOINTS) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in CHECKPOINTS) + " |")
        for t in st[0]:
            for kind in st[0][t]:
                curves = [r[t][kind] for r in st]
                print(f"| {t} | {kind} | " + " | ".join(ms([at(c, "returns", k) for c in curves]) for k in CHECKPOINTS) + " |")
        if ablation:
            print(f"| {SEEN} | shaped, min_std {min_std} | "
                  + " | ".join(ms([at(c, "returns", k) for c in ablation]) for k in CHECKPOINTS) + " |")

    ft = [r for r in (load(c, "finetune") for c in cells) if r]
    if ft:
        print(f"\nfinetune on {ft[0]['tasks'][-1]} (n={len(ft)}): success before -> after; forgetting = before - after")
        print("| task | before | after | forgetting |")
        print("| --- | --- | --- | --- |")
        for i, t in enumerate(ft[0]["tasks"]):
            f = ms([r["forgetting"][t] for r in ft]) if t in ft[0]["forgetting"] else "(new task)"
            print(f"| {t} | {ms([r['success_before'][i] for r in ft])} | {ms([r['success_after'][i] for r in ft])} | {f} |")
        print(f"average forgetting {ms([r['average_forgetting'] for r in ft])}, "
              f"average success after {ms([r['average_success_after'] for r in ft])}")
    walls = []
    for c in cells:
        p = os.path.join(c, "result.json")
        if os.path.isfile(p):
            with open(p) as f:
                walls.append(json.load(f)["wall_minutes"])
    if walls:
        print(f"\nwall time per seed (the last call of each cell): {ms(walls)} min")


def main() -> None:
    p = cell_parser(__doc__, "collective", "multiplies the epochs of the transformer, distill, student and finetune "
                    "stages (the student's shaping schedule stays)")
    p.add_argument("--quick", action="store_true", help="the pipeline's --quick sizes (a smoke run)")
    p.add_argument("--min-std", type=float, metavar="S", help="also the seen task's shaped student with shaping/min_std=S")
    args = p.parse_args()
    cells = [(s, args.quick, args.scale, os.path.join(args.root, f"s{s}")) for s in range(args.seeds)]
    if not args.report:
        run_pending(run_cell, cells, args.root, args.procs)
        if args.min_std is not None:
            run_pending(run_min_std_cell, [(s, args.min_std, os.path.join(args.root, f"s{s}", f"min_std_{args.min_std}"))
                                           for s in range(args.seeds)], args.root, args.procs)
    report([c[-1] for c in cells], args.min_std)


if __name__ == "__main__":
    main()
