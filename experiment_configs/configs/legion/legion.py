"""LEGION (Meng et al., "Preserving and combining knowledge in robotic lifelong reinforcement
learning", Nature Machine Intelligence 2025): SAC on (s, z) with z from a VAE encoder q(z | s, e_task)
under a growing Dirichlet-process mixture prior, e_task the sentence embedding of the task.

Files that define its behaviour: lifelong_rl/trainers/legion.py (the VAE losses and the SAC step),
lifelong_rl/models/dpmm.py (the prior), lifelong_rl/models/language.py (task codes),
lifelong_rl/trainers/sac.py, lifelong_rl/continual/wrapper.py and task_schedules.py (--mode-cl).

Sizes follow the original's configuration (Ghiara/LEGION, config/agent/components): latent dim 10,
encoder 2 x 400, beta_kl 1e-3 (`beta_kl_z`), DP concentration 5.0 (`gamma0`), per-task entropy
coefficients (`should_use_disentangled_alpha`); actor and critics 3 x 400 (mtrl's sizes).
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from experiment_configs.algorithms.continual import build_continual, check_stream, continual_evaluation, continual_schema
from experiment_configs.common import Run, net_schema, run_schema, sac_trainer_schema
from experiment_configs.configs.continual.continual_sac import QUICK_STREAM
from lifelong_rl.continual.strategies import STRATEGIES
from lifelong_rl.envs.task_descriptions import TASK_DESCRIPTIONS
from lifelong_rl.models.dpmm import DPMMPrior, StandardNormalPrior
from lifelong_rl.envs.streams import stream_tasks
from lifelong_rl.models.language import DEFAULT_MODEL, check_codes_available, task_codes
from lifelong_rl.models.networks import Mlp, ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.legion import LatentEncoder, LegionTrainer, TaskLatentPolicy
from lifelong_rl.trainers.sac import SACTrainer
from lifelong_rl.variants import Param, Schema

NAME = "legion"
RESUME_NEEDS_BUFFER = True  # the buffer holds every task's data and feeds the DPMM refits
# --mode-cl -> task schedule: one task at a time (the buffer kept, as the original), tasks 0..k in
# phase k, or all tasks at once.
MODES = {"continual": "sequential", "expand": "expand", "multitask": "multitask"}


def schema() -> Schema:
    continual = continual_schema()
    continual["stream"] = Param("legion10", continual["stream"].doc, "str")
    continual["reset_entropy"] = Param(False, "per-task entropy coefficients: nothing to reset by default", "bool")
    continual["reset_optimizer"] = Param(True, "fresh Adam states for actor and critics at each task switch "
                                         "(the VAE's optimizer is kept)", "bool")
    return {
        **run_schema(NAME),
        "replay_buffer_size": Param(int(1e6), "replay buffer capacity (transitions)", "int", low=1),
        "policy_kwargs": net_schema([400, 400, 400], "actor"),
        "qf_kwargs": net_schema([400, 400, 400], "critics"),
        "trainer_kwargs": sac_trainer_schema(),
        "algorithm_kwargs": {
            "batch_size": Param(256, "transitions per update", "int", low=1),
            "updates_per_step": Param(1.0, "updates per env step after a task's random steps", "float", low=0.0),
        },
        "continual": continual,
        "legion": {
            "mode_cl": Param("continual", "continual (buffer kept), expand (tasks 0..k in phase k), multitask", "str",
                             choices=tuple(MODES)),
            "latent_dim": Param(10, "dimension of z", "int", low=1),
            "encoder_hidden": Param([400, 400], "encoder hidden sizes", "ints"),
            "decoder_hidden": Param([400, 400], "state and task decoder hidden sizes", "ints"),
            "vae_lr": Param(3e-4, "VAE learning rate", "float", low=0.0),
            "beta_kl": Param(1e-3, "weight of the KL term (original: beta_kl_z 0.001)", "float", low=0.0),
            "state_weight": Param(1.0, "weight of the next-state reconstruction (mean squared error)", "float", low=0.0),
            # Unit-norm 384-dim codes make the per-dim error small (~0.004 for a wrong code), so the KL
            # wins at weight 1 and z collapses. Measured on a 3-task toy (tests/test_legion.py):
            # weight 1 -> 1 component, purity 0.37; 10 -> 2, 0.70; 100 -> 3 components, purity 1.00.
            "task_weight": Param(100.0, "weight of the task-code reconstruction (mean squared error)", "float", low=0.0),
            "prior": Param("dpmm", "dpmm, or gauss (the N(0, I) ablation)", "str", choices=("dpmm", "gauss")),
            "language": Param("on", "on: sentence embeddings; off: one-hot task codes (the ablation)", "str", choices=("on", "off")),
            "language_model": Param(DEFAULT_MODEL, "sentence-transformers model name or local directory", "str"),
            "task_descriptions": {t: Param(d, f"the sentence embedded for {t}", "str") for t, d in TASK_DESCRIPTIONS.items()},
            "per_task_alpha": Param(True, "one entropy coefficient per task (original: disentangled alpha)", "bool"),
            "explore_sample_z": Param(True, "exploration acts on a sample of q(z|s,e), else on its mean", "bool"),
            "eval_sample_z": Param(False, "evaluation acts on a sample of q(z|s,e), else on its mean", "bool"),
            "dpmm": {
                "fit_every": Param(10_000, "env steps between refits of the mixture", "int", low=1),
                "fit_start": Param(3_000, "first fit once the buffer holds this many samples (original: 3000)", "int", low=1),
                "fit_samples": Param(4096, "replay samples encoded for a fit", "int", low=1),
                "truncation": Param(20, "most components the mixture may use", "int", low=1),
                "concentration": Param(5.0, "Dirichlet-process concentration (original: gamma0 5.0)", "float", low=1e-8),
                "active_threshold": Param(0.02, "a component is active when its weight exceeds this", "float", low=0.0, high=1.0),
                "max_iter": Param(200, "variational EM iterations per fit", "int", low=1),
            },
        },
    }


QUICK = {
    **QUICK_STREAM,
    "continual/stream": "reach,window-close",
    "legion/encoder_hidden": [32, 32],
    "legion/decoder_hidden": [32, 32],
    "legion/dpmm/fit_every": 100,
    "legion/dpmm/fit_start": 50,
    "legion/dpmm/fit_samples": 256,
}

CONTRACT_CASES = {mode: {"legion": {"mode_cl": mode}} for mode in MODES}


def check(variant: Dict[str, Any]) -> None:
    check_stream(variant)
    lg, c = variant["legion"], variant["continual"]
    if lg["language"] == "on":
        changed = {t: d for t, d in lg["task_descriptions"].items() if d != TASK_DESCRIPTIONS[t]}
        check_codes_available(stream_tasks(c["stream"], c["num_tasks"] or None), changed, lg["language_model"])


def legion_agent(variant, obs_dim, action_dim, device, tasks, strategy=None, dpmm_seed: int = 0) -> Dict[str, Any]:
    lg, dp = variant["legion"], variant["legion"]["dpmm"]
    codes = torch.as_tensor(task_codes(tasks, lg["language"], lg["task_descriptions"], lg["language_model"]), device=device)
    d = lg["latent_dim"]
    policy = TanhGaussianPolicy(obs_dim + d, action_dim, **variant["policy_kwargs"]).to(device)
    qfs = ParallelizedEnsemble(2, obs_dim + d + action_dim, 1, **variant["qf_kwargs"]).to(device)
    sac = SACTrainer(policy, qfs, action_dim, num_alphas=len(tasks) if lg["per_task_alpha"] else 1, **variant["trainer_kwargs"])
    encoder = LatentEncoder(obs_dim, codes.shape[1], d, lg["encoder_hidden"]).to(device)
    state_decoder = Mlp(obs_dim + action_dim + d, obs_dim, lg["decoder_hidden"]).to(device)
    task_decoder = Mlp(d, codes.shape[1], lg["decoder_hidden"]).to(device)
    if lg["prior"] == "dpmm":
        prior = DPMMPrior(d, dp["truncation"], dp["concentration"], dp["active_threshold"], dp["max_iter"], seed=dpmm_seed)
    else:
        prior = StandardNormalPrior()
    trainer = LegionTrainer(sac, encoder, state_decoder, task_decoder, prior, codes, lg["vae_lr"], lg["beta_kl"],
                            lg["state_weight"], lg["task_weight"], dp["fit_samples"])

    def env_step_hook(total_steps: int, replay_buffer) -> None:
        """Refit the prior every `fit_every` env steps, once the buffer holds `fit_start` samples."""
        if total_steps % dp["fit_every"] == 0 and len(replay_buffer) >= dp["fit_start"]:
            trainer.refit_prior(replay_buffer)

    # Each task's (exploration, evaluation) policy: z from q(z | s, e_task), a sample or the mean.
    task_policies = [(TaskLatentPolicy(policy, encoder, codes[i], sample_z=lg["explore_sample_z"], deterministic=False),
                      TaskLatentPolicy(policy, encoder, codes[i], sample_z=lg["eval_sample_z"], deterministic=True))
                     for i in range(len(tasks))]
    return {"trainer": trainer, "task_policies": task_policies, "env_step_hook": env_step_hook}


def _agent_builder(run: Run):
    seed = run.seeds.child("dpmm")
    return lambda *args: legion_agent(*args, dpmm_seed=seed)


def build(run: Run):
    mode = run.variant["legion"]["mode_cl"]
    return build_continual(run, _agent_builder(run), STRATEGIES["perfect_memory"](seed=run.seeds.child("strategy")),
                           MODES[mode], one_hot=False, method_name=f"legion_{mode}")


def evaluation_setup(run: Run, env_seed=None):
    return continual_evaluation(run, _agent_builder(run), STRATEGIES["perfect_memory"](), False, env_seed)
