"""LEGION (Meng et al., "Preserving and combining knowledge in robotic lifelong reinforcement
learning", Nature Machine Intelligence 2025): SAC conditioned on a latent task code z inferred by
a VAE whose prior is a growing Dirichlet-process mixture.

For a transition (s, a, s') of task t with task code e_t (the sentence embedding of its
description, lifelong_rl.models.language):

    q(z | s, e_t) = N(mu, diag sigma^2)                               encoder
    z ~ q(z | s, e_t)                                                 reparameterised
    L_state = mean (s + f_state(s, a, z) - s')^2                      next-state decoder (predicts s' - s)
    L_task  = mean (f_task(z) - e_t)^2                                task-code decoder
    L_KL    = mean_batch sum_k r_k KL(q(z|s,e_t) || N(m_k, C_k))      DPMM prior (lifelong_rl.models.dpmm)
    L_VAE   = w_state L_state + w_task L_task + beta_kl L_KL

Every mean is over the batch and the output dimensions (so each weight means the same thing
whatever the sizes). The SAC losses (lifelong_rl.trainers.sac) then run on the augmented states
(s, z) and (s', z'), z and z' detached: RL gradients never reach the encoder. The mixture is
refitted on encoded latents of a replay sample every `fit_every` env steps (`refit_prior`).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from lifelong_rl.models.dpmm import DPMMPrior
from lifelong_rl.models.networks import Mlp
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.sac import SACTrainer, make_adam

LOGVAR_MIN, LOGVAR_MAX = -10.0, 4.0
VAE_KEYS = ("vae_loss", "recon_state", "recon_task", "kl", "z", "latent_std")  # what vae_losses returns


class LatentEncoder(nn.Module):
    """q(z | s, e): an MLP from the state and the task code to the mean and log-variance of z."""

    def __init__(self, obs_dim: int, code_dim: int, latent_dim: int, hidden_sizes: Sequence[int]):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = Mlp(obs_dim + code_dim, 2 * latent_dim, hidden_sizes)

    def forward(self, obs: torch.Tensor, code: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(torch.cat([obs, code], -1)).chunk(2, dim=-1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    @staticmethod
    def sample(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + (0.5 * logvar).exp() * torch.randn_like(mu)


class TaskLatentPolicy:
    """Acts in one task: z from q(z | s, e_task) (its mean, or a sample), then pi(a | s, z)."""

    def __init__(self, policy: TanhGaussianPolicy, encoder: LatentEncoder, code: torch.Tensor,
                 sample_z: bool, deterministic: bool):
        self.policy, self.encoder, self.code = policy, encoder, code.unsqueeze(0)
        self.sample_z, self.deterministic = sample_z, deterministic

    @torch.no_grad()
    def get_action(self, obs: np.ndarray) -> np.ndarray:
        o = torch.as_tensor(obs, dtype=self.code.dtype, device=self.code.device).unsqueeze(0)
        mu, logvar = self.encoder(o, self.code)
        z = LatentEncoder.sample(mu, logvar) if self.sample_z else mu
        return self.policy.get_action(torch.cat([o, z], -1)[0], deterministic=self.deterministic)

    def reset(self) -> None:
        pass


class LegionTrainer:
    def __init__(
        self,
        sac: SACTrainer,
        encoder: LatentEncoder,
        state_decoder: Mlp,
        task_decoder: Mlp,
        prior: DPMMPrior,
        task_codes: torch.Tensor,
        vae_lr: float = 3e-4,
        beta_kl: float = 1e-3,
        state_weight: float = 1.0,
        task_weight: float = 1.0,
        fit_samples: int = 4096,
    ):
        self.sac, self.encoder, self.prior = sac, encoder, prior
        self.state_decoder, self.task_decoder = state_decoder, task_decoder
        self.task_codes = task_codes
        self.vae_lr, self.beta_kl = vae_lr, beta_kl
        self.state_weight, self.task_weight = state_weight, task_weight
        self.fit_samples = fit_samples
        self.vae_optimizer = make_adam(self._vae_parameters(), vae_lr)
        # Latents and task ids of the last prior fit (latent plots, component-task purity).
        self.fit_sample: Optional[Dict[str, np.ndarray]] = None
        self._last_stats: Dict[str, torch.Tensor] = {}

    def _vae_parameters(self):
        return [*self.encoder.parameters(), *self.state_decoder.parameters(), *self.task_decoder.parameters()]

    @property
    def policy(self) -> TanhGaussianPolicy:
        return self.sac.policy

    # -- the losses ---------------------------------------------------------------------------
    def vae_losses(self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor,
                   codes: torch.Tensor) -> Dict[str, torch.Tensor]:
        mu, logvar = self.encoder(obs, codes)
        z = LatentEncoder.sample(mu, logvar)
        recon_state = (obs + self.state_decoder(torch.cat([obs, actions, z], -1)) - next_obs).pow(2).mean()
        recon_task = (self.task_decoder(z) - codes).pow(2).mean()
        kl = self.prior.kl(mu, logvar).mean()
        loss = self.state_weight * recon_state + self.task_weight * recon_task + self.beta_kl * kl
        return {"vae_loss": loss, "recon_state": recon_state, "recon_task": recon_task, "kl": kl,
                "z": z, "latent_std": (0.5 * logvar).exp().mean()}

    def compute_losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The VAE losses, and SAC's on the augmented states (s, z) and (s', z'), z and z' detached."""
        obs, actions, next_obs = batch["observations"], batch["actions"], batch["next_observations"]
        codes = self.task_codes[batch["task_ids"]]
        vae = self.vae_losses(obs, actions, next_obs, codes)
        with torch.no_grad():  # z' from the same encoder as z
            z_next = LatentEncoder.sample(*self.encoder(next_obs, codes))
        sac = self.sac.compute_losses({
            **batch,
            "observations": torch.cat([obs, vae["z"].detach()], -1),
            "next_observations": torch.cat([next_obs, z_next], -1),
        })
        return {**vae, **sac}

    def train_from_torch(self, batch: Dict[str, torch.Tensor]) -> None:
        losses = self.compute_losses(batch)
        self.vae_optimizer.zero_grad(set_to_none=True)
        losses["vae_loss"].backward()
        self.vae_optimizer.step()
        self.sac.step({k: v for k, v in losses.items() if k not in VAE_KEYS})
        self._last_stats = {k: losses[k].detach() for k in VAE_KEYS if k != "z"}

    # -- the prior ------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_buffer_sample(self, replay_buffer, n: int) -> Tuple[np.ndarray, np.ndarray]:
        """Latents z ~ q(z | s, e) of a uniform replay sample, and their task ids. Samples, not
        means: the prior models the aggregate posterior, so a component's covariance includes the
        posterior's own variance (fitted on means, components are far narrower than q and the KL
        explodes)."""
        idx = replay_buffer.random_indices(min(n, len(replay_buffer)))
        device = self.task_codes.device
        obs = torch.from_numpy(replay_buffer.observations[idx]).to(device)
        task_ids = replay_buffer.task_ids[idx]
        mu, logvar = self.encoder(obs, self.task_codes[torch.from_numpy(task_ids).to(device)])
        return LatentEncoder.sample(mu, logvar).cpu().numpy(), task_ids

    def refit_prior(self, replay_buffer) -> int:
        """Refit the DPMM on latents of a replay sample; returns the number of active components."""
        z, task_ids = self.encode_buffer_sample(replay_buffer, self.fit_samples)
        active = self.prior.fit(z)
        self.fit_sample = {"latents": z.astype(np.float32), "task_ids": task_ids, "components": self.prior.assign(z)}
        return active

    # -- continual learning: per-task resets ---------------------------------------------------
    def reset_optimizers(self) -> None:
        self.sac.reset_optimizers()

    def reset_entropy(self) -> None:
        self.sac.reset_entropy()

    # -- logging and snapshots ----------------------------------------------------------------------
    def get_diagnostics(self) -> Dict[str, float]:
        out = self.sac.get_diagnostics()
        s = self._last_stats
        if s:
            out.update({
                "LEGION VAE Loss": float(s["vae_loss"]),
                "LEGION Recon State": float(s["recon_state"]),
                "LEGION Recon Task": float(s["recon_task"]),
                "LEGION KL": float(s["kl"]),
                "LEGION Latent Std": float(s["latent_std"]),
            })
        out["LEGION Active Components"] = self.prior.num_active
        out["LEGION Prior Fits"] = self.prior.num_fits
        return out

    def losses_finite(self) -> bool:
        s = self._last_stats
        return self.sac.losses_finite() and (bool(torch.isfinite(s["vae_loss"])) if s else True)

    @property
    def networks(self) -> Dict[str, nn.Module]:
        return {**self.sac.networks, "encoder": self.encoder, "state_decoder": self.state_decoder,
                "task_decoder": self.task_decoder}

    def state_dict(self) -> Dict[str, Any]:
        return {
            "sac": self.sac.state_dict(),
            "encoder": self.encoder.state_dict(),
            "state_decoder": self.state_decoder.state_dict(),
            "task_decoder": self.task_decoder.state_dict(),
            "vae_optimizer": self.vae_optimizer.state_dict(),
            "prior": self.prior.state_dict(),
            "fit_sample": self.fit_sample,
            "last_stats": self._last_stats,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.sac.load_state_dict(state["sac"])
        self.encoder.load_state_dict(state["encoder"])
        self.state_decoder.load_state_dict(state["state_decoder"])
        self.task_decoder.load_state_dict(state["task_decoder"])
        self.vae_optimizer.load_state_dict(state["vae_optimizer"])
        self.prior.load_state_dict(state["prior"])
        self.fit_sample = state["fit_sample"]
        self._last_stats = dict(state["last_stats"])
