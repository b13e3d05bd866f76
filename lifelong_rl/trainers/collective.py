"""Transformer-based collective learning ("A transformer-based collective learning framework for
scalable knowledge accumulation and transfer", argator18's MetaWorld release): every loss of the
framework, in the order of its pipeline (run_scripts/collective.py).

1. Trajectory transformer (lifelong_rl/models/trajectory_transformer.py), on windows of the experts'
   episodes. Two BERT-style maskings of a window give views v1, v2 (each token of each modality is
   chosen with probability p; a chosen token is zeroed 80 %, replaced by N(0, 1) noise 10 %, kept
   10 %; a window with no chosen token in a modality gets its last one); with e = the CLS embedding,

       L = sum_{v in v1, v2} sum_{m in s, a, r} MSE_masked(recon_m(v), m)  +  0.25 InfoNCE(e(v1), e(v2))

   InfoNCE on L2-normalised embeddings, logits cos / 0.15, the positive the same window's other view,
   the negatives only other tasks' windows (same-task pairs are left out), both directions averaged.

2. Distillation: one collective actor pi(a | e, s) and twin critics Q(e, s, a). On each expert's
   states (with e from the frozen transformer over the expert's own window ending there):

       L_actor  = mean_i (tanh(mu_i) - mu*_i)^2 + c_std * mean_i (log sigma_i - log sigma*_i)^2

   behaviour cloning of the expert's squashed mean mu* and log-std sigma* (the original's MSE form,
   without its down-weighting of tiny teacher sigmas); and the critics by fitted Q evaluation of the
   collective actor on the experts' transitions, with reward and discount (the original regressed
   Q(s, a) on the expert's V(s'), no r, no gamma):

       y = r + gamma (1 - d) (min_j Q'_j(e', s', a') - alpha log pi(a' | e', s')),  a' ~ pi(. | e', s')

3. Student reward shaping: SAC on r + w(t) b(s, a), with b the collective's Gaussian density of the
   student's action over its peak (in (0, 1], 1 at the collective's mode), as the original computes
   it: the action's distance to the squashed mean over the pre-tanh sigma (not the density of the
   tanh-Gaussian itself)

       b(s, a) = prod_i exp(-1/2 ((a_i - clip(tanh mu_i, -1, 1)) / max(sigma_i, sigma_min))^2)

   with the original's sigma_min = 1e-4 by default (its scripted-teacher variant used sigma = e^0.1).

   stored when the step is taken, and w(t) = w0 clip(1 - (t - t_const) / (t_zero - t_const), 0, 1)
   read at update time (t: env steps so far; the original's 1 until 8,000, 0 at 50,000).

Files that define the framework's behaviour: this one, lifelong_rl/models/trajectory_transformer.py,
lifelong_rl/envs/trajectory_window.py (the embedding and bonus at acting time), lifelong_rl/trainers/
sac.py (the student's and the finetuning's losses), experiment_configs/algorithms/collective.py and
experiment_configs/collective_pipeline.py (the stages).
"""
from __future__ import annotations

import copy
from typing import Any, Dict

import numpy as np
import torch
import torch.nn.functional as F

from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.models.trajectory_transformer import TrajectoryTransformer
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.torch.pytorch_util import soft_update
from lifelong_rl.trainers.sac import SACTrainer, make_adam


# -- 1. the trajectory transformer ------------------------------------------------------------------
def mask_tokens(x: torch.Tensor, valid: torch.Tensor, prob: float):
    """BERT-style masking of tokens x [B, T, D] (valid [B, T]): (masked x, chosen [B, T])."""
    chosen = (torch.rand(valid.shape, device=x.device) < prob) & valid
    none = valid.any(1) & ~chosen.any(1)
    chosen[none, -1] = True  # windows are right-aligned: the last slot of a non-empty modality is valid
    u = torch.rand(valid.shape, device=x.device)
    out = torch.where((chosen & (u < 0.8)).unsqueeze(-1), torch.zeros_like(x), x)
    out = torch.where((chosen & (u >= 0.8) & (u < 0.9)).unsqueeze(-1), torch.randn_like(x), out)
    return out, chosen


def masked_mse(pred: torch.Tensor, target: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the chosen tokens' features (0 when none is chosen)."""
    m = chosen.unsqueeze(-1).to(pred.dtype)
    return ((pred - target).pow(2) * m).sum() / (m.sum() * pred.shape[-1]).clamp_min(1.0)


def info_nce(z1: torch.Tensor, z2: torch.Tensor, task_ids: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE between two views' embeddings [B, E]: row i's positive is column i, its negatives the
    other tasks' windows; same-task pairs other than the positive are left out. Both directions."""
    z1, z2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    logits = z1 @ z2.T / temperature
    eye = torch.eye(len(z1), dtype=torch.bool, device=z1.device)
    same_task = task_ids.unsqueeze(0) == task_ids.unsqueeze(1)
    logits = logits.masked_fill(same_task & ~eye, float("-inf"))
    labels = torch.arange(len(z1), device=z1.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


def nearest_centroid_accuracy(train: np.ndarray, train_tasks: np.ndarray, test: np.ndarray, test_tasks: np.ndarray) -> float:
    """Share of `test` embeddings whose nearest task centroid (of the L2-normalised `train` ones) is their own task."""
    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    tasks = np.unique(train_tasks)
    centroids = np.stack([unit(train)[train_tasks == k].mean(0) for k in tasks])
    d = ((unit(test)[:, None, :] - centroids[None]) ** 2).sum(-1)
    return float(np.mean(tasks[d.argmin(1)] == test_tasks)) if len(test) else float("nan")


class TrajectoryTransformerTrainer:
    """Masked reconstruction of two views plus the contrastive loss between their embeddings."""

    def __init__(self, model: TrajectoryTransformer, lr: float = 2e-4, mask_prob: float = 0.15,
                 contrastive_weight: float = 0.25, temperature: float = 0.15):
        self.model = model
        self.mask_prob, self.contrastive_weight, self.temperature = mask_prob, contrastive_weight, temperature
        self.optimizer = make_adam(model.parameters(), lr)
        self._n_train_steps = 0
        self._last: Dict[str, torch.Tensor] = {}

    def compute_losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        s, a, r = self.model.normalize(batch["states"], batch["actions"], batch["rewards"])
        valid = batch["valid"]
        step_valid = valid[:, :-1]  # a_k and r_k exist where s_k does
        recon, embeddings = [], []
        for _ in range(2):
            s_m, s_c = mask_tokens(s, valid, self.mask_prob)
            a_m, a_c = mask_tokens(a, step_valid, self.mask_prob)
            r_m, r_c = mask_tokens(r, step_valid, self.mask_prob)
            out = self.model(s_m, a_m, r_m, valid)
            recon.append(masked_mse(out.states, s, s_c) + masked_mse(out.actions, a, a_c) + masked_mse(out.rewards, r, r_c))
            embeddings.append(out.embedding)
        reconstruction = recon[0] + recon[1]
        contrastive = info_nce(embeddings[0], embeddings[1], batch["task_ids"], self.temperature)
        return {"loss": reconstruction + self.contrastive_weight * contrastive,
                "reconstruction_loss": reconstruction, "contrastive_loss": contrastive}

    def train_from_torch(self, batch: Dict[str, torch.Tensor]) -> None:
        self.model.train()
        losses = self.compute_losses(batch)
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        self.optimizer.step()
        self._n_train_steps += 1
        self._last = {k: v.detach() for k, v in losses.items()}

    def get_diagnostics(self) -> Dict[str, float]:
        if not self._last:
            return {}
        return {"Loss": float(self._last["loss"]), "Reconstruction Loss": float(self._last["reconstruction_loss"]),
                "Contrastive Loss": float(self._last["contrastive_loss"]), "Num Train Steps": self._n_train_steps}

    def losses_finite(self) -> bool:
        return all(bool(torch.isfinite(v)) for v in self._last.values())

    def state_dict(self) -> Dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "n_train_steps": self._n_train_steps, "last_stats": self._last}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._n_train_steps, self._last = int(state["n_train_steps"]), dict(state["last_stats"])


# -- 2. distillation --------------------------------------------------------------------------------
class DistillationTrainer:
    """The collective actor cloned from the experts' action distributions, its critics evaluated on
    their transitions. Batches: observations = [e, s], next_observations = [e', s'], the recorded
    actions, rewards and terminals, and the experts' `expert_means` (squashed) and `expert_log_stds`."""

    def __init__(self, policy: TanhGaussianPolicy, qfs: ParallelizedEnsemble, policy_lr: float = 3e-4,
                 qf_lr: float = 3e-4, std_weight: float = 0.2, discount: float = 0.99, alpha: float = 0.1,
                 soft_target_tau: float = 5e-3):
        self.policy, self.qfs = policy, qfs
        self.target_qfs = copy.deepcopy(qfs).requires_grad_(False)
        self.std_weight, self.discount, self.alpha, self.tau = std_weight, discount, alpha, soft_target_tau
        self.policy_optimizer = make_adam(policy.parameters(), policy_lr)
        self.qf_optimizer = make_adam(qfs.parameters(), qf_lr)
        self._n_train_steps = 0
        self._last: Dict[str, torch.Tensor] = {}

    def compute_losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        obs, next_obs = batch["observations"], batch["next_observations"]
        dist = self.policy(obs)
        mean_loss = (torch.tanh(dist.mean) - batch["expert_means"]).pow(2).mean()
        std_loss = (dist.std.log() - batch["expert_log_stds"]).pow(2).mean()
        q_pred = self.qfs(torch.cat([obs, batch["actions"]], -1))
        with torch.no_grad():
            next_actions, next_log_pi = self.policy.sample(next_obs)
            target_v = self.target_qfs(torch.cat([next_obs, next_actions], -1)).min(0).values - self.alpha * next_log_pi
            q_target = batch["rewards"] + (1.0 - batch["terminals"]) * self.discount * target_v
        return {"policy_loss": mean_loss + self.std_weight * std_loss, "mean_loss": mean_loss, "log_std_loss": std_loss,
                "qf_loss": (q_pred - q_target).pow(2).mean(dim=(-2, -1)).sum(), "q_pred": q_pred.detach().mean()}

    def train_from_torch(self, batch: Dict[str, torch.Tensor]) -> None:
        losses = self.compute_losses(batch)
        self.policy_optimizer.zero_grad(set_to_none=True)
        losses["policy_loss"].backward()
        self.policy_optimizer.step()
        self.qf_optimizer.zero_grad(set_to_none=True)
        losses["qf_loss"].backward()
        self.qf_optimizer.step()
        soft_update(self.target_qfs, self.qfs, self.tau)
        self._n_train_steps += 1
        self._last = {k: v.detach() for k, v in losses.items()}

    def get_diagnostics(self) -> Dict[str, float]:
        names = {"policy_loss": "Policy Loss", "mean_loss": "Mean Loss", "log_std_loss": "Log Std Loss",
                 "qf_loss": "QF Loss", "q_pred": "Q Predictions Mean"}
        return {**{n: float(self._last[k]) for k, n in names.items()}, "Num Train Steps": self._n_train_steps} if self._last else {}

    def losses_finite(self) -> bool:
        return all(bool(torch.isfinite(v)) for v in self._last.values())

    def state_dict(self) -> Dict[str, Any]:
        return {"policy": self.policy.state_dict(), "qfs": self.qfs.state_dict(), "target_qfs": self.target_qfs.state_dict(),
                "policy_optimizer": self.policy_optimizer.state_dict(), "qf_optimizer": self.qf_optimizer.state_dict(),
                "n_train_steps": self._n_train_steps, "last_stats": self._last}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        for k in ("policy", "qfs", "target_qfs"):
            getattr(self, k).load_state_dict(state[k])
        self.policy_optimizer.load_state_dict(state["policy_optimizer"])
        self.qf_optimizer.load_state_dict(state["qf_optimizer"])
        self._n_train_steps, self._last = int(state["n_train_steps"]), dict(state["last_stats"])


# -- 3. reward shaping ------------------------------------------------------------------------------
def shaping_bonus(mean: torch.Tensor, std: torch.Tensor, action: torch.Tensor, min_std: float = 1e-4) -> torch.Tensor:
    """b(s, a) in (0, 1]: the collective's Gaussian density of `action` over its peak. `mean` is the
    pre-tanh mean (squashed and clipped here), `std` the Gaussian's, floored at `min_std`; shapes
    [..., A] -> [...]."""
    mu = torch.tanh(mean).clamp(-1.0, 1.0)
    z = (action - mu) / std.clamp_min(min_std)
    return torch.exp(-0.5 * z.pow(2).sum(-1))


class ShapingWeight:
    """w(t) = start_weight * clip(1 - (t - constant_until) / (zero_at - constant_until), 0, 1)."""

    def __init__(self, start_weight: float = 1.0, constant_until: int = 8000, zero_at: int = 50000):
        if zero_at <= constant_until:
            raise ValueError(f"the shaping weight must reach 0 after it starts falling ({zero_at} <= {constant_until})")
        self.start_weight, self.constant_until, self.zero_at = start_weight, constant_until, zero_at

    def __call__(self, t: int) -> float:
        frac = 1.0 - (t - self.constant_until) / (self.zero_at - self.constant_until)
        return self.start_weight * float(np.clip(frac, 0.0, 1.0))


class ShapedSACTrainer(SACTrainer):
    """SAC whose critic target uses r + w(t) * b: the batch's `shaping_bonus` field (b, stored when
    the step was taken) weighted by `weight(env_steps)` at update time. `env_steps` is set by the
    schedule's env-step hook before each update."""

    def __init__(self, *args, weight: ShapingWeight, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight, self.env_steps = weight, 0

    def compute_losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        w = self.weight(self.env_steps)
        shaped = {**batch, "rewards": batch["rewards"] + w * batch["shaping_bonus"]}
        losses = super().compute_losses(shaped)
        losses["shaping_weight"] = torch.tensor(w)
        losses["shaping_bonus"] = batch["shaping_bonus"].mean().detach()
        return losses

    def get_diagnostics(self) -> Dict[str, float]:
        out = super().get_diagnostics()
        if self._last_stats:
            out.update({"Shaping Weight": float(self._last_stats["shaping_weight"]),
                        "Shaping Bonus Mean": float(self._last_stats["shaping_bonus"])})
        return out


