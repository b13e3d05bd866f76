"""LEGION: SAC on (s, z) with z from a VAE encoder q(z | s, e_task) under a DPMM prior.

Sizes follow the original's configuration (Ghiara/LEGION, config/agent/components): latent dim 10,
encoder 2 x 400, beta_kl 1e-3 (`beta_kl_z`), DP concentration 5.0 (`gamma0`), per-task entropy
coefficients (`should_use_disentangled_alpha`); actor and critics 3 x 400 (mtrl's sizes).
"""
from __future__ import annotations

from typing import Any, Dict, Sequence

import torch

from experiment_configs.configs.q_learning.sac_config import net_kwargs
from lifelong_rl.models.dpmm import DPMMPrior, StandardNormalPrior
from lifelong_rl.models.language import task_codes
from lifelong_rl.models.networks import Mlp, ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.legion import LatentEncoder, LegionTrainer, TaskLatentPolicy
from lifelong_rl.trainers.sac import SACTrainer


def get_config(variant: Dict[str, Any], obs_dim: int, action_dim: int, device: torch.device,
               tasks: Sequence[str] = ()) -> Dict[str, Any]:
    lg, dp = variant["legion"], variant["legion"]["dpmm"]
    codes = torch.as_tensor(task_codes(tasks, lg["language"], lg["task_descriptions"], lg["language_model"]), device=device)
    d = lg["latent_dim"]
    policy = TanhGaussianPolicy(obs_dim + d, action_dim, **net_kwargs(variant["policy_kwargs"])).to(device)
    qfs = ParallelizedEnsemble(2, obs_dim + d + action_dim, 1, **net_kwargs(variant["qf_kwargs"])).to(device)
    sac = SACTrainer(policy, qfs, action_dim, num_alphas=len(tasks) if lg["per_task_alpha"] else 1,
                     **variant["trainer_kwargs"])
    encoder = LatentEncoder(obs_dim, codes.shape[1], d, lg["encoder_hidden"]).to(device)
    state_decoder = Mlp(obs_dim + action_dim + d, obs_dim, lg["decoder_hidden"]).to(device)
    task_decoder = Mlp(d, codes.shape[1], lg["decoder_hidden"]).to(device)
    if lg["prior"] == "dpmm":
        prior = DPMMPrior(d, dp["truncation"], dp["concentration"], dp["active_threshold"], dp["max_iter"],
                          seed=variant["seed"])
    else:
        prior = StandardNormalPrior()
    trainer = LegionTrainer(sac, encoder, state_decoder, task_decoder, prior, codes, lg["vae_lr"], lg["beta_kl"],
                            lg["state_weight"], lg["task_weight"], dp["fit_samples"])

    def task_policies(i: int):
        """(exploration, evaluation) policy of task i."""
        return (TaskLatentPolicy(policy, encoder, codes[i], sample_z=lg["explore_sample_z"], deterministic=False),
                TaskLatentPolicy(policy, encoder, codes[i], sample_z=lg["eval_sample_z"], deterministic=True))

    def env_step_hook(total_steps: int, replay_buffer) -> None:
        """Refit the prior every `fit_every` env steps, once the buffer holds `fit_start` samples."""
        if total_steps % dp["fit_every"] == 0 and len(replay_buffer) >= dp["fit_start"]:
            trainer.refit_prior(replay_buffer)

    return {"trainer": trainer, "task_policies": task_policies, "env_step_hook": env_step_hook}
