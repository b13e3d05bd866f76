"""Soft Actor-Critic (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications").

Twin soft Q-functions are one parallel ensemble of size 2 (both computed in one batched matmul),
with Polyak-averaged targets and automatic entropy tuning. The losses, as in the paper:

    y        = r + gamma * (1 - done) * (min_j Q'_j(s', a') - alpha * log pi(a'|s')),  a' ~ pi(.|s')
    J_Q      = sum_j  E[(Q_j(s, a) - y)^2]
    J_pi     = E[alpha * log pi(a~|s) - min_j Q_j(s, a~)],                            a~ ~ pi(.|s)
    J_alpha  = E[-log(alpha) * (log pi(a~|s) + H_target)]

`done` is true termination only: a time-limit truncation is bootstrapped through.
With `num_alphas` > 1 each task has its own alpha (LEGION's per-task entropy), chosen per sample
by `batch["task_ids"]`. A continual strategy may add penalty terms (L2 / EWC, lifelong_rl.continual.strategies)
to J_pi and J_Q, given at construction as `penalties={"policy": f, "qf": f}`, f() a tensor or None.

Seeds as one batch (lifelong_rl.trainers.seed_stacking): with `num_seeds` = N the networks are
stacked along a leading seed axis (observations [N, B, .], critics' output [2, N, B, 1]), every
seed has its own alpha, and each loss is a vector of the N seeds' losses, summed only for the
backward pass, so every seed's parameters get exactly the gradient of its own loss.
`matmul_dtype="bfloat16"` computes the losses under torch.autocast (bfloat16 matmuls; the networks'
outputs, the losses, weights and Adam state in float32): faster on CPUs with AVX512-BF16 or AMX and
on GPUs, approximate.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Mapping, Optional

import numpy as np
import torch
from torch import nn

from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.torch.pytorch_util import soft_update


def make_adam(params, lr: float) -> torch.optim.Adam:
    """Adam with the fused kernel where torch offers it, else the foreach one."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


class SACTrainer:
    def __init__(
        self,
        policy: TanhGaussianPolicy,
        qfs: ParallelizedEnsemble,
        action_dim: int,
        discount: float = 0.99,
        reward_scale: float = 1.0,
        policy_lr: float = 3e-4,
        qf_lr: float = 3e-4,
        soft_target_tau: float = 5e-3,
        target_update_period: int = 1,
        use_automatic_entropy_tuning: bool = True,
        target_entropy: Optional[float] = None,
        alpha: float = 1.0,
        num_alphas: int = 1,
        num_seeds: int = 0,
        matmul_dtype: str = "float32",
        penalties: Optional[Mapping[str, Callable[[], Optional[torch.Tensor]]]] = None,
    ):
        self.policy, self.qfs = policy, qfs
        self.target_qfs = copy.deepcopy(qfs).requires_grad_(False)
        self.discount, self.reward_scale = discount, reward_scale
        self.soft_target_tau, self.target_update_period = soft_target_tau, target_update_period
        self.use_automatic_entropy_tuning = use_automatic_entropy_tuning
        self.policy_lr, self.qf_lr, self.initial_alpha = policy_lr, qf_lr, alpha
        self.penalties = dict(penalties or {})
        self.matmul_dtype = matmul_dtype  # "bfloat16": compute_losses runs under torch.autocast
        # Default target entropy -|A| (the paper's heuristic).
        self.target_entropy = float(-action_dim if target_entropy is None else target_entropy)
        device = next(policy.parameters()).device
        # One entropy coefficient, or one per task (`num_alphas` > 1: indexed by the batch's task_ids).
        self.num_alphas, self.num_seeds = num_alphas, num_seeds
        if num_seeds and (num_alphas > 1 or penalties):
            raise ValueError("seed-stacked SAC has one alpha per seed and no continual penalties")
        shape = (num_seeds, 1, 1) if num_seeds else () if num_alphas == 1 else (num_alphas,)
        self.log_alpha = nn.Parameter(torch.full(shape, float(np.log(alpha)), device=device))
        self.policy_optimizer = make_adam(policy.parameters(), policy_lr)
        self.qf_optimizer = make_adam(qfs.parameters(), qf_lr)
        self.alpha_optimizer = make_adam([self.log_alpha], policy_lr)
        self._qf_params = list(qfs.parameters())
        self._n_train_steps = 0
        self._last_stats: Dict[str, torch.Tensor] = {}

    # ---------------------------------------------------------------------------------------
    def compute_losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """All SAC losses on one batch (no optimizer step). Keys: qf_loss, policy_loss, alpha_loss, ...;
        each loss is a scalar, or with stacked seeds a vector of one loss per seed."""
        if self.matmul_dtype == "float32":  # no autocast context on the default path: one update per env step
            return self._losses(batch)
        with torch.autocast(self.log_alpha.device.type, dtype=torch.bfloat16):
            return self._losses(batch)

    def _losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        obs, actions, next_obs = batch["observations"], batch["actions"], batch["next_observations"]
        rewards, terminals = batch["rewards"], batch["terminals"]

        # Policy and temperature.
        new_actions, log_pi = self.policy.sample(obs)
        log_alpha = self.log_alpha if self.num_alphas == 1 else self.log_alpha[batch["task_ids"]].unsqueeze(-1)
        if self.use_automatic_entropy_tuning:
            alpha_loss = -batch_mean(log_alpha * (log_pi + self.target_entropy).detach())
        else:
            alpha_loss = torch.zeros(log_pi.shape[:-2], device=obs.device)
        alpha = log_alpha.exp().detach()
        # The critics' weights get no gradient from the actor loss.
        for p in self._qf_params:
            p.requires_grad_(False)
        q_new_actions = self.qfs(torch.cat([obs, new_actions], -1)).float().min(0).values
        for p in self._qf_params:
            p.requires_grad_(True)
        policy_loss = batch_mean(alpha * log_pi - q_new_actions)
        penalties = {f"{k}_penalty": t for k, f in self.penalties.items() if (t := f()) is not None}
        if "policy_penalty" in penalties:
            policy_loss = policy_loss + penalties["policy_penalty"]

        # Critics.
        q_pred = self.qfs(torch.cat([obs, actions], -1)).float()  # [2, B, 1] or [2, N, B, 1]
        with torch.no_grad():
            next_actions, next_log_pi = self.policy.sample(next_obs)
            target_q = self.target_qfs(torch.cat([next_obs, next_actions], -1)).float().min(0).values
            target_v = target_q - alpha * next_log_pi
            q_target = self.reward_scale * rewards + (1.0 - terminals) * self.discount * target_v
        qf_loss = batch_mean((q_pred - q_target).pow(2)).sum(0)
        if "qf_penalty" in penalties:
            qf_loss = qf_loss + penalties["qf_penalty"]

        return {
            "qf_loss": qf_loss,
            "policy_loss": policy_loss,
            "alpha_loss": alpha_loss,
            "alpha": alpha,
            "log_pi": log_pi.detach(),
            "q_pred": q_pred.detach(),
            "q_target": q_target,
            **penalties,  # the continual regularisers' terms, already inside the two losses above
        }

    def train_from_torch(self, batch: Dict[str, torch.Tensor]) -> None:
        self.step(self.compute_losses(batch))

    def step(self, losses: Dict[str, torch.Tensor]) -> None:
        """The optimizer steps on losses from `compute_losses`, and the target update."""
        if self.use_automatic_entropy_tuning:
            self.alpha_optimizer.zero_grad(set_to_none=True)
            losses["alpha_loss"].sum().backward()
            self.alpha_optimizer.step()
        self.policy_optimizer.zero_grad(set_to_none=True)
        losses["policy_loss"].sum().backward()
        self.policy_optimizer.step()
        self.qf_optimizer.zero_grad(set_to_none=True)
        losses["qf_loss"].sum().backward()
        self.qf_optimizer.step()
        self._n_train_steps += 1
        if self._n_train_steps % self.target_update_period == 0:
            soft_update(self.target_qfs, self.qfs, self.soft_target_tau)
        self._last_stats = {k: v.detach() for k, v in losses.items()}

    # -- continual learning: per-task resets ----------------------------------------------------
    def reset_optimizers(self) -> None:
        """Fresh Adam states (moments and step counts) for actor and critics."""
        self.policy_optimizer = make_adam(self.policy.parameters(), self.policy_lr)
        self.qf_optimizer = make_adam(self.qfs.parameters(), self.qf_lr)

    def reset_entropy(self) -> None:
        """Entropy coefficient back to its initial value, with a fresh optimizer."""
        with torch.no_grad():
            self.log_alpha.fill_(float(np.log(self.initial_alpha)))
        self.alpha_optimizer = make_adam([self.log_alpha], self.policy_lr)

    # ---------------------------------------------------------------------------------------
    def get_diagnostics(self) -> Dict[str, float]:
        """Statistics of the last training batch (read once an epoch: no per-step syncs)."""
        return sac_diagnostics(self._last_stats, self._n_train_steps)

    def losses_finite(self) -> bool:
        return losses_finite(self._last_stats)

    @property
    def networks(self) -> Dict[str, nn.Module]:
        return {"policy": self.policy, "qfs": self.qfs, "target_qfs": self.target_qfs}

    @property
    def optimizers(self) -> Dict[str, torch.optim.Optimizer]:
        return {"policy_optimizer": self.policy_optimizer, "qf_optimizer": self.qf_optimizer,
                "alpha_optimizer": self.alpha_optimizer}

    def state_dict(self) -> Dict[str, Any]:
        return {
            **{k: m.state_dict() for k, m in self.networks.items()},
            "log_alpha": self.log_alpha.detach().clone(),
            **{k: o.state_dict() for k, o in self.optimizers.items()},
            "n_train_steps": self._n_train_steps,
            "last_stats": self._last_stats,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        for k, m in self.networks.items():
            m.load_state_dict(state[k])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        for k, o in self.optimizers.items():
            o.load_state_dict(state[k])
        self._n_train_steps = int(state["n_train_steps"])
        self._last_stats = dict(state["last_stats"])


def batch_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over the batch and feature axes (the last two): a scalar, or one value per stacked seed."""
    return x.mean(dim=(-2, -1))


def losses_finite(s: Dict[str, torch.Tensor]) -> bool:
    """Whether the last batch's losses (every seed's, when stacked) are finite."""
    return all(bool(torch.isfinite(s[k]).all()) for k in ("qf_loss", "policy_loss", "alpha_loss")) if s else True


def sac_diagnostics(s: Dict[str, torch.Tensor], n_train_steps: int) -> Dict[str, float]:
    """The logged statistics of one run's last batch (`s` as `compute_losses` returns it, for one seed)."""
    if not s:
        return {}
    q = s["q_pred"]
    return {
        "QF Loss": float(s["qf_loss"]),
        "Policy Loss": float(s["policy_loss"]),
        "Alpha Loss": float(s["alpha_loss"]),
        "Alpha": float(s["alpha"].mean()),
        "Log Pis Mean": float(s["log_pi"].mean()),
        "Q1 Predictions Mean": float(q[0].mean()),
        "Q2 Predictions Mean": float(q[1].mean()),
        "Q Targets Mean": float(s["q_target"].mean()),
        "Num Train Steps": n_train_steps,
        **{name: float(s[key]) for key, name in (("policy_penalty", "Policy Regularizer Penalty"),
                                                 ("qf_penalty", "QF Regularizer Penalty")) if key in s},
    }

