"""The collective learning framework as one pipeline (run_scripts/collective.py): six stages in a
fixed order, each writing to its own folder of one pipeline dir, each skipped when its output
exists, each refusing to start (one line, exit 2) when an earlier stage's output is missing.

    stage        output                            how
    experts      experts/<task>/trajectories.npz   MetaWorld's scripted policy (+ Gaussian noise) or a SAC
                                                   run per task (the `sac` algorithm, launched in parallel),
                                                   recording episodes and the expert's action distribution
    transformer  transformer/transformer.pt        the `collective_transformer` algorithm
    distill      distill/collective.pt             the `collective_distill` algorithm
    evaluate     evaluate/results.json             the collective against each expert (success, return)
    student      student/results.json              `collective_student` per student task: shaped, and
                                                   (with baseline) SAC from scratch
    finetune     finetune/results.json             `collective_finetune` on the new task, then the
                                                   finetuned collective on the old tasks (forgetting)

A stage killed midway resumes where its runs' snapshots are. The pipeline's settings are fixed in
pipeline.json at its first call; a later call may repeat them but not change them.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import shutil
from typing import Any, Dict, List, Optional

import numpy as np

from experiment_configs import registry
from experiment_configs.algorithms.collective import (COLLECTIVE_FILE, TRANSFORMER_FILE, Expert, evaluate_policy_on,
                                                      load_collective, load_transformer, record, sac_expert_policy)
from experiment_utils.launcher import launch, pending_jobs
from lifelong_rl.continual.metrics import average_performance, forgetting
from lifelong_rl.core.logger import CsvTable, latest_snapshot, load_snapshot
from lifelong_rl.core.seeding import RunSeeds
from lifelong_rl.data_management.datasets import save_dataset
from lifelong_rl.envs.make_env import make_env
from lifelong_rl.envs.metaworld_env import metaworld_task_names
from lifelong_rl.policies.tanh_gaussian_policy import MakeDeterministic
from lifelong_rl.samplers.dataset_collection import ScriptedPolicy
from lifelong_rl.variants import ConfigError, apply_set, set_path

STAGES = ("experts", "transformer", "distill", "evaluate", "student", "finetune")
# Every earlier stage whose output a stage reads, directly or through another (in the stages' order).
NEEDS = {"experts": (), "transformer": ("experts",), "distill": ("experts", "transformer"),
         "evaluate": ("experts", "transformer", "distill"), "student": ("experts", "transformer", "distill"),
         "finetune": ("experts", "transformer", "distill", "evaluate")}
ALGORITHMS = {"experts": "sac", "transformer": "collective_transformer", "distill": "collective_distill",
              "student": "collective_student", "finetune": "collective_finetune"}

DEFAULTS: Dict[str, Any] = {
    "tasks": [], "student_tasks": [], "finetune_task": "", "expert": "scripted", "scripted_std": 0.1,
    "episodes": 20, "max_path_length": 200, "new_goal_each_episode": True, "eval_episodes": 10, "baseline": False,
    "seed": 0, "quick": False, "set": [],
}
QUICK: Dict[str, Any] = {"episodes": 3, "max_path_length": 30, "eval_episodes": 1}
# --quick sizes of the stages beyond their algorithms' own QUICK overrides
QUICK_SETS = {"transformer": {"algorithm_kwargs/held_out_fraction": 0.34}}  # 1 of 3 episodes per task
# Variant keys the pipeline sets itself (its wiring): --set may not change them.
WIRED = ("seed", "exp_name", "env", "trajectories", "transformer", "collective/transformer", "collective/policy",
         "algorithm_kwargs/max_path_length", "env_kwargs/new_goal_each_episode")
# Settings only a later stage reads: they may be given or changed while that stage has not started.
LATE = {"student_tasks": "student", "baseline": "student", "finetune_task": "finetune"}


def env_name(task: str) -> str:
    return f"metaworld/{task}"


class Pipeline:
    def __init__(self, root: str, config: Dict[str, Any], mode: str = "local"):
        self.root, self.config, self.mode = root, config, mode
        self.seeds = RunSeeds(config["seed"])

    # -- settings -----------------------------------------------------------------------------------
    @staticmethod
    def open(root: str, given: Dict[str, Any], mode: str = "local") -> "Pipeline":
        """The pipeline of `root` with `given` settings (None: unset); ConfigError when they differ from
        the ones it was started with, or are bad."""
        path = os.path.join(root, "pipeline.json")
        if os.path.isfile(path):
            with open(path) as f:
                config = json.load(f)
            changed = [k for k, v in given.items() if v is not None and config.get(k) != v]
            late = [k for k in changed if k in LATE and not os.path.exists(os.path.join(root, LATE[k]))]
            config.update({k: given[k] for k in late})
            changed = [k for k in changed if k not in late]
            if changed:
                raise ConfigError(f"{root} was started with other settings ({', '.join(f'{k}: {config.get(k)!r}' for k in changed)}): "
                                  "use another --dir")
        else:
            config = dict(DEFAULTS)
            if given.get("quick"):
                config.update(QUICK)
            config.update({k: v for k, v in given.items() if v is not None})
        pipeline = Pipeline(root, config, mode)
        pipeline.check()
        return pipeline

    def save(self) -> None:
        """pipeline.json: the settings every later call must repeat."""
        os.makedirs(self.root, exist_ok=True)
        write_json(self.path("pipeline.json"), self.config)

    def check(self) -> None:
        c = self.config
        known = set(metaworld_task_names())
        if len(c["tasks"]) < 2:
            raise ConfigError("--tasks needs at least 2 MetaWorld tasks (the contrastive loss contrasts tasks)")
        for name in ("tasks", "student_tasks"):
            twice = sorted({t for t in c[name] if c[name].count(t) > 1})
            if twice:
                raise ConfigError(f"--{name.replace('_', '-')} names {', '.join(twice)} more than once")
        for t in c["tasks"] + c["student_tasks"] + ([c["finetune_task"]] if c["finetune_task"] else []):
            if t not in known:
                raise ConfigError(f"unknown MetaWorld task '{t}' (e.g. reach-v3, push-v3, drawer-open-v3)")
        if c["expert"] not in ("scripted", "sac"):
            raise ConfigError(f"--expert must be scripted or sac, not '{c['expert']}'")
        if c["finetune_task"] in c["tasks"]:
            raise ConfigError(f"--finetune-task {c['finetune_task']} is one of --tasks: finetuning is on a new task")
        for name in ("episodes", "max_path_length", "eval_episodes"):
            if c[name] < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {c[name]}")
        if not c["scripted_std"] > 0:
            raise ConfigError(f"--scripted-std must be > 0, got {c['scripted_std']}")
        for s in c["set"]:
            where, _, assignment = s.partition(":")
            key = assignment.partition("=")[0].strip()
            if where not in ALGORITHMS or not key:
                raise ConfigError(f"--set {s}: expected STAGE:KEY=VALUE with STAGE one of {', '.join(ALGORITHMS)}")
            if key in WIRED:
                raise ConfigError(f"--set {s}: the pipeline sets {key} itself")
            if where == "experts" and c["expert"] == "scripted":
                raise ConfigError(f"--set {s}: the experts are scripted (--expert sac trains them)")
        for stage, name in ALGORITHMS.items():  # every --set checked before anything runs, as far as no file is needed
            v = self.variant(stage, {}, validate=False)
            if v["logging"]["snapshot_mode"] == "none":
                raise ConfigError(f"--set {stage}:logging/snapshot_mode=none: the pipeline resumes and exports "
                                  "stages from their snapshots")
            getattr(registry.get(name), "check_settings", lambda variant: None)(v)

    # -- paths and stage state --------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def outputs(self, stage: str) -> List[str]:
        if stage == "experts":
            return [self.path("experts", t, "trajectories.npz") for t in self.config["tasks"]]
        return [self.path(stage, {"transformer": TRANSFORMER_FILE, "distill": COLLECTIVE_FILE}.get(stage, "results.json"))]

    def done(self, stage: str) -> bool:
        return all(os.path.isfile(p) for p in self.outputs(stage))

    def check_inputs(self, stage: str) -> None:
        """ConfigError naming the first missing input of `stage` (an earlier stage's output, or its tasks)."""
        for need in NEEDS[stage]:
            if not self.done(need):
                missing = next(p for p in self.outputs(need) if not os.path.isfile(p))
                raise ConfigError(f"stage '{stage}' needs the output of stage '{need}' ({missing} is missing): "
                                  f"run --stage {need} first (or --stage all)")
        if stage == "student" and not self.config["student_tasks"]:
            raise ConfigError("the student stage needs --student-tasks")
        if stage == "finetune" and not self.config["finetune_task"]:
            raise ConfigError("the finetune stage needs --finetune-task (a task outside --tasks)")

    def trajectories(self) -> List[str]:
        return self.outputs("experts")

    # -- running registered algorithms -----------------------------------------------------------------
    def variant(self, stage: str, overrides: Dict[str, Any], validate: bool = True) -> Dict[str, Any]:
        """The stage's algorithm's default variant with --quick sizes, the --set assignments given as
        stage:key=value, then the pipeline's wiring (`overrides`, the seed)."""
        name = ALGORITHMS[stage]
        v = registry.default_variant(name)
        if self.config["quick"]:
            for k, val in {**registry.quick_overrides(name), **QUICK_SETS.get(stage, {})}.items():
                set_path(v, k, copy.deepcopy(val))
        v["logging"]["progress_bar"] = False
        schema = registry.schema(name)
        for s in self.config["set"]:
            where, _, assignment = s.partition(":")
            if where == stage:
                apply_set(v, schema, assignment)
        v["seed"], v["exp_name"] = self.config["seed"], f"collective_{stage}"
        for k, val in overrides.items():
            set_path(v, k, copy.deepcopy(val))
        return registry.validate(v) if validate else v

    def run(self, jobs: List) -> None:
        """Start or resume the runs (variant, log dir) (a dir without a snapshot starts afresh)."""
        for _, d in jobs:
            if os.path.isdir(d) and latest_snapshot(d) is None:
                shutil.rmtree(d)
        code = launch(pending_jobs([(v, d, None) for v, d in jobs]), self.mode)
        if code:
            raise StageFailed(code)

    # -- the stages ---------------------------------------------------------------------------------------
    def experts(self) -> None:
        c = self.config
        if c["expert"] == "sac":
            self.run([(self.task_variant("experts", t), self.path("experts", t, "sac")) for t in c["tasks"]])
        for t in c["tasks"]:
            out = self.path("experts", t, "trajectories.npz")
            if os.path.isfile(out):
                continue
            seed = self.seeds.child(f"experts/{t}")
            if c["expert"] == "scripted":
                expert = Expert(scripted=ScriptedPolicy(t), std=c["scripted_std"], seed=seed)
            else:
                expert = Expert(policy=sac_expert_policy(self.path("experts", t, "sac")), seed=seed)
            env = make_env(env_name(t), seed, max_path_length=c["max_path_length"],
                           new_goal_each_episode=c["new_goal_each_episode"])
            meta = {"env": env_name(t), "kind": f"{c['expert']} expert", "max_path_length": c["max_path_length"],
                    "new_goal_each_episode": c["new_goal_each_episode"], "seed": seed}
            data = record(env, expert, c["episodes"], c["max_path_length"], meta)
            env.close()
            save_dataset(data, "trajectories", root=self.path("experts", t), fmt="npz")
            print(f"experts: {t}: {c['episodes']} episodes, success {data.meta['success_rate']:.2f}, "
                  f"return {data.meta['mean_return']:.1f}")

    def task_variant(self, stage: str, task: str, **overrides: Any) -> Dict[str, Any]:
        return self.variant(stage, {"env": env_name(task), "algorithm_kwargs/max_path_length": self.config["max_path_length"],
                                    "env_kwargs/new_goal_each_episode": self.config["new_goal_each_episode"], **overrides})

    def transformer(self) -> None:
        d = self.path("transformer")
        self.run([(self.variant("transformer", {"trajectories": self.trajectories()}), d)])
        registry.get(ALGORITHMS["transformer"]).export(d)
        rows = CsvTable(os.path.join(d, "progress.csv")).rows()
        if rows and rows[-1].get("evaluation/Nearest Centroid Accuracy"):
            print(f"transformer: nearest-centroid accuracy of the held-out windows "
                  f"{float(rows[-1]['evaluation/Nearest Centroid Accuracy']):.3f}")

    def distill(self) -> None:
        d = self.path("distill")
        self.run([(self.variant("distill", {"trajectories": self.trajectories(),
                                            "transformer": self.outputs("transformer")[0]}), d)])
        registry.get(ALGORITHMS["distill"]).export(d)

    def collective_inputs(self) -> Dict[str, str]:
        return {"collective/transformer": self.outputs("transformer")[0], "collective/policy": self.outputs("distill")[0]}

    def evaluate(self) -> None:
        c = self.config
        transformer = load_transformer(self.outputs("transformer")[0])
        collective = MakeDeterministic(load_collective(self.outputs("distill")[0])[0])
        results = {}
        for t in c["tasks"]:
            seed = self.seeds.child(f"evaluate/{t}")
            expert = MakeDeterministic(sac_expert_policy(self.path("experts", t, "sac"))) if c["expert"] == "sac" \
                else ScriptedPolicy(t)
            common = (env_name(t), seed, c["eval_episodes"], c["max_path_length"], c["new_goal_each_episode"])
            results[t] = {"collective": evaluate_policy_on(common[0], collective, *common[1:], transformer=transformer),
                          "expert": evaluate_policy_on(common[0], expert, *common[1:])}
            print(f"evaluate: {t}: collective success {results[t]['collective']['success']:.2f} "
                  f"(return {results[t]['collective']['return']:.1f}), expert {results[t]['expert']['success']:.2f} "
                  f"(return {results[t]['expert']['return']:.1f})")
        write_json(self.path("evaluate", "results.json"), results)

    def student(self) -> None:
        c = self.config
        kinds = ["shaped"] + (["scratch"] if c["baseline"] else [])
        jobs = [(self.task_variant("student", t, **self.collective_inputs(),
                                   **({"shaping/start_weight": 0.0} if k == "scratch" else {})), self.path("student", t, k))
                for t in c["student_tasks"] for k in kinds]
        self.run(jobs)
        results = {t: {k: learning_curve(self.path("student", t, k)) for k in kinds} for t in c["student_tasks"]}
        for t, r in results.items():
            print("student: " + t + ": " + ", ".join(f"{k} first success at {v['steps_to_first_success']} steps, "
                                                     f"final success {v['final_success']:.2f}" for k, v in r.items()))
        write_json(self.path("student", "results.json"), results)

    def finetune(self) -> None:
        c = self.config
        new = c["finetune_task"]
        d = self.path("finetune", "run")
        self.run([(self.task_variant("finetune", new, **self.collective_inputs()), d)])
        transformer = load_transformer(self.outputs("transformer")[0])
        before, _, _ = load_collective(self.outputs("distill")[0])
        after, _, _ = load_collective(self.outputs("distill")[0])
        after.load_state_dict(load_snapshot(os.path.join(d, "params.pt"))["trainer"]["policy"])
        with open(self.outputs("evaluate")[0]) as f:
            evaluated = json.load(f)
        tasks = c["tasks"] + [new]

        def success(policy, t):
            return evaluate_policy_on(env_name(t), MakeDeterministic(policy), self.seeds.child(f"evaluate/{t}"), c["eval_episodes"],
                                      c["max_path_length"], c["new_goal_each_episode"], transformer=transformer)["success"]

        old_before = [evaluated[t]["collective"]["success"] for t in c["tasks"]]
        new_before = success(before, new)
        row_after = [success(after, t) for t in tasks]
        # Continual World's success matrix: row i after training task i. The old tasks were all
        # learnt at distillation (rows 0 .. K-1, the collective before finetuning), the new one last.
        matrix = np.array([old_before + [new_before]] * len(c["tasks"]) + [row_after])
        f = forgetting(matrix)
        results = {"tasks": tasks, "success_before": old_before + [new_before], "success_after": row_after,
                   "forgetting": {t: float(x) for t, x in zip(c["tasks"], f[:-1])},
                   "average_forgetting": float(np.mean(f[:-1])), "average_success_after": average_performance(row_after)}
        with open(self.path("finetune", "success_matrix.csv"), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["after"] + tasks)
            w.writerows([["distill"] + list(matrix[0]), [f"finetune {new}"] + row_after])
        print(f"finetune: {new}: success {new_before:.2f} -> {row_after[-1]:.2f}; old tasks "
              + ", ".join(f"{t} {b:.2f} -> {a:.2f}" for t, b, a in zip(c["tasks"], old_before, row_after))
              + f"; average forgetting {results['average_forgetting']:.3f}")
        write_json(self.path("finetune", "results.json"), results)

    # -- driver ---------------------------------------------------------------------------------------------
    def run_stages(self, stage: str) -> None:
        """`stage` ("all": every stage in order, the student and finetune ones only when their tasks
        are given), each skipped when done; ConfigError when an input is missing."""
        todo = [s for s in STAGES if s == stage or (stage == "all" and self.wanted(s))]
        first = next((s for s in todo if not self.done(s)), None)
        if first is not None:
            self.check_inputs(first)  # before anything is written
        self.save()
        for s in todo:
            if self.done(s):
                print(f"{s}: done ({self.outputs(s)[0]}), skipped")
                continue
            self.check_inputs(s)
            os.makedirs(self.path(s), exist_ok=True)
            print(f"{s}: running")
            getattr(self, s)()

    def wanted(self, stage: str) -> bool:
        return {"student": bool(self.config["student_tasks"]), "finetune": bool(self.config["finetune_task"])}.get(stage, True)


class StageFailed(RuntimeError):
    """A run of a stage failed (its exit code: 1 a run failed, 2 bad input)."""

    def __init__(self, code: int):
        super().__init__(f"a run failed (exit code {code})")
        self.code = code


def learning_curve(run_dir: str) -> Dict[str, Any]:
    """A run's evaluation success per epoch, env steps to its first success, its final success."""
    rows = CsvTable(os.path.join(run_dir, "progress.csv")).rows()
    steps = [int(float(r["Env Steps Total"])) for r in rows]
    success = [float(r.get("evaluation/Success Rate") or 0.0) for r in rows]
    first = next((s for s, x in zip(steps, success) if x > 0), None)
    return {"env_steps": steps, "success": success, "steps_to_first_success": first,
            "final_success": success[-1] if success else 0.0,
            "returns": [float(r.get("evaluation/Average Returns") or 0.0) for r in rows]}


def write_json(path: str, data: Any) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(data, f, indent=1)
    os.replace(path + ".tmp", path)


def parse_tasks(text: Optional[str]) -> Optional[List[str]]:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]

