"""On-policy policy-gradient trainers on a rollout (lifelong_rl.data_management.rollout_buffer):
PPO, NPG and VPG, with a learned value baseline and GAE(lambda) advantages.

PPO (Schulman et al. 2017, "Proximal Policy Optimization Algorithms"), on each minibatch of
`update_epochs` passes over the rollout, advantages normalised per minibatch:

    r(theta) = pi(a|s) / pi_old(a|s)
    L_clip   = -E[min(r A, clip(r, 1 - eps, 1 + eps) A)]
    L_vf     = E[(V(s) - R)^2]            R = A + V_old (the GAE returns)
    loss     = L_clip + c_vf L_vf - c_ent E[H(pi(.|s))]
gradients clipped to a global norm; the epochs stop early once the approximate KL
E[(r - 1) - log r] passes 1.5 x `target_kl` (when set).

NPG (Kakade 2001, "A Natural Policy Gradient"; the normalised step of Rajeswaran et al. 2017,
"Towards Generalization and Simplicity in Continuous Control", written with TRPO's delta: the
step's KL, where Rajeswaran et al.'s sqrt(delta / g.F^-1 g) makes it delta / 2), one step per rollout:

    g     = grad E[log pi(a|s) A]                        at theta_old
    F v   = grad (grad KL(pi_old || pi_theta) . v) + damping v      (Fisher-vector product: the KL's Hessian)
    x     = F^-1 g                                       by `cg_iters` steps of conjugate gradient
    theta <- theta + sqrt(2 delta / (x . F x)) x         so that KL ~ 0.5 step^T F step = delta

VPG (Williams 1992's REINFORCE with a learned baseline and GAE): one Adam step per rollout on
    L_pg  = -E[log pi(a|s) A].

NPG and VPG fit the value function separately: `vf_epochs` passes of minibatches of L_vf with Adam.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np
import torch
from torch import nn

from lifelong_rl.data_management.normalizer import Normalizer
from lifelong_rl.models.networks import Mlp
from lifelong_rl.policies.gaussian_policy import GaussianPolicy


def conjugate_gradient(matvec: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, iters: int,
                       tol: float = 1e-10) -> torch.Tensor:
    """x with A x = b for a symmetric positive definite A given as `matvec` (Hestenes-Stiefel)."""
    x = torch.zeros_like(b)
    r, p = b.clone(), b.clone()
    rr = r @ r
    for _ in range(iters):
        if rr < tol:
            break
        ap = matvec(p)
        alpha = rr / (p @ ap)
        x += alpha * p
        r -= alpha * ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def normalize(adv: torch.Tensor) -> torch.Tensor:
    return (adv - adv.mean()) / (adv.std() + 1e-8) if adv.numel() > 1 else adv


class PolicyGradientTrainer:
    """What PPO, NPG and VPG share: the networks, the value loss and fit, the rollout's minibatches
    (with the trainer's own sampler, in snapshots), diagnostics and state."""

    name = "pg"

    def __init__(self, policy: GaussianPolicy, vf: Mlp, seed: Optional[int] = None, vf_lr: float = 1e-3,
                 vf_epochs: int = 10, vf_batch_size: int = 128, normalize_advantage: bool = True,
                 max_grad_norm: float = 0.0, normalizer: Optional[Normalizer] = None):
        self.policy, self.vf = policy, vf
        self.normalizer = normalizer if normalizer is not None else Normalizer(policy.obs_dim, 1, 0.99, obs=False, reward=False)
        self.vf_lr, self.vf_epochs, self.vf_batch_size = vf_lr, vf_epochs, vf_batch_size
        self.normalize_advantage, self.max_grad_norm = normalize_advantage, max_grad_norm
        self.rng = np.random.default_rng(seed)
        self._n_updates = 0
        self._last_stats: Dict[str, torch.Tensor] = {}

    def to_torch(self, batch: Dict[str, np.ndarray]) -> Dict[str, torch.Tensor]:
        p = next(self.policy.parameters())
        return {k: torch.as_tensor(v, device=p.device) for k, v in batch.items()}

    def value_loss(self, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
        return (self.vf(batch["observations"])[..., 0] - batch["returns"]).pow(2).mean()

    def advantages(self, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
        return normalize(batch["advantages"]) if self.normalize_advantage else batch["advantages"]

    def fit_value(self, buffer) -> torch.Tensor:
        """`vf_epochs` passes of minibatches of L_vf; returns the last pass's mean loss."""
        for _ in range(self.vf_epochs):
            losses = []
            for mb in buffer.minibatches(self.vf_batch_size, self.rng):
                loss = self.value_loss(self.to_torch(mb))
                self.vf_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self._clip(self.vf.parameters())
                self.vf_optimizer.step()
                losses.append(loss.detach())
        return torch.stack(losses).mean()

    def _clip(self, params) -> None:
        if self.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(list(params), self.max_grad_norm)

    def train_on_rollout(self, buffer) -> None:
        """The method's update from a full rollout buffer whose advantages are computed."""
        raise NotImplementedError

    def train_from_torch(self, batch: Dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    # -- what the loop reads ----------------------------------------------------------------------
    def get_diagnostics(self) -> Dict[str, float]:
        names = {"policy_loss": "Policy Loss", "vf_loss": "VF Loss", "entropy": "Entropy", "approx_kl": "Approx KL",
                 "clip_fraction": "Clip Fraction", "kl": "KL", "step_size": "Step Size"}
        out = {names[k]: float(v) for k, v in self._last_stats.items() if k in names}
        out["Policy Std Mean"] = float(self.policy.log_std.detach().exp().mean())
        out["Num Updates"] = self._n_updates
        return out

    def losses_finite(self) -> bool:
        return all(bool(torch.isfinite(v).all()) for v in self._last_stats.values())

    def reset_optimizers(self) -> None:
        """Fresh optimizers (made here at construction too, and at task switches)."""
        for k, (params, lr) in self._optimizer_specs().items():
            setattr(self, k, self._make_optimizer(k, params, lr))

    def reset_entropy(self) -> None:
        """No entropy coefficient to reset."""

    def _optimizer_specs(self) -> Dict[str, Any]:
        return {"vf_optimizer": (self.vf.parameters(), self.vf_lr)}

    def _make_optimizer(self, name: str, params, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=lr)

    @property
    def networks(self) -> Dict[str, nn.Module]:
        return {"policy": self.policy, "vf": self.vf}

    @property
    def optimizers(self) -> Dict[str, torch.optim.Optimizer]:
        return {k: getattr(self, k) for k in self._optimizer_specs()}

    def state_dict(self) -> Dict[str, Any]:
        return {**{k: m.state_dict() for k, m in self.networks.items()},
                **{k: o.state_dict() for k, o in self.optimizers.items()},
                "normalizer": self.normalizer.state_dict(), "rng": self.rng.bit_generator.state, "n_updates": self._n_updates, "last_stats": self._last_stats}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        for k, m in self.networks.items():
            m.load_state_dict(state[k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state[k])
        self.normalizer.load_state_dict(state["normalizer"])
        self.rng.bit_generator.state = state["rng"]
        self._n_updates = int(state["n_updates"])
        self._last_stats = dict(state["last_stats"])


class PPOTrainer(PolicyGradientTrainer):
    name = "ppo"

    def __init__(self, policy: GaussianPolicy, vf: Mlp, seed: Optional[int] = None, lr: float = 3e-4,
                 clip_range: float = 0.2, update_epochs: int = 10, batch_size: int = 64, ent_coef: float = 0.0,
                 vf_coef: float = 0.5, max_grad_norm: float = 0.5, target_kl: Optional[float] = None,
                 normalize_advantage: bool = True, adam_eps: float = 1e-5, normalizer: Optional[Normalizer] = None):
        super().__init__(policy, vf, seed, vf_lr=lr, normalize_advantage=normalize_advantage, max_grad_norm=max_grad_norm,
                         normalizer=normalizer)
        self.lr, self.clip_range, self.update_epochs, self.batch_size = lr, clip_range, update_epochs, batch_size
        self.ent_coef, self.vf_coef, self.target_kl, self.adam_eps = ent_coef, vf_coef, target_kl, adam_eps
        self.reset_optimizers()

    def _params(self):
        return list(self.policy.parameters()) + list(self.vf.parameters())

    def _optimizer_specs(self) -> Dict[str, Any]:
        """One optimizer for actor and critic: the paper's shared loss."""
        return {"optimizer": (self._params(), self.lr)}

    def _make_optimizer(self, name, params, lr):
        return torch.optim.Adam(params, lr=lr, eps=self.adam_eps)

    def compute_losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        dist = self.policy(batch["observations"])
        log_prob = dist.log_prob(batch["actions"]).sum(-1)
        log_ratio = log_prob - batch["log_probs"]
        ratio = log_ratio.exp()
        adv = self.advantages(batch)
        policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - self.clip_range, 1 + self.clip_range) * adv).mean()
        vf_loss = self.value_loss(batch)
        entropy = dist.entropy().sum(-1).mean()
        with torch.no_grad():
            approx_kl = ((ratio - 1) - log_ratio).mean()
            clip_fraction = ((ratio - 1).abs() > self.clip_range).float().mean()
        return {"loss": policy_loss + self.vf_coef * vf_loss - self.ent_coef * entropy, "policy_loss": policy_loss,
                "vf_loss": vf_loss, "entropy": entropy, "approx_kl": approx_kl, "clip_fraction": clip_fraction}

    def train_from_torch(self, batch: Dict[str, torch.Tensor]) -> None:
        self.step(self.compute_losses(batch))

    def step(self, losses: Dict[str, torch.Tensor]) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        self._clip(self._params())
        self.optimizer.step()
        self._last_stats = {k: v.detach() for k, v in losses.items()}

    def train_on_rollout(self, buffer) -> None:
        for _ in range(self.update_epochs):
            for mb in buffer.minibatches(self.batch_size, self.rng):
                losses = self.compute_losses(self.to_torch(mb))
                if self.target_kl is not None and float(losses["approx_kl"]) > 1.5 * self.target_kl:
                    break  # before this minibatch's step, which would move the policy further still
                self.step(losses)
            else:
                continue
            break
        self._n_updates += 1


class NPGTrainer(PolicyGradientTrainer):
    name = "npg"

    def __init__(self, policy: GaussianPolicy, vf: Mlp, seed: Optional[int] = None, step_size: float = 0.01,
                 cg_iters: int = 15, cg_damping: float = 0.1, vf_lr: float = 1e-3, vf_epochs: int = 10,
                 vf_batch_size: int = 128, normalize_advantage: bool = True, normalizer: Optional[Normalizer] = None):
        super().__init__(policy, vf, seed, vf_lr, vf_epochs, vf_batch_size, normalize_advantage, normalizer=normalizer)
        self.step_size, self.cg_iters, self.cg_damping = step_size, cg_iters, cg_damping
        self._params = list(policy.parameters())
        self.reset_optimizers()  # the value function's only: the policy moves by the natural step

    def kl(self, obs: torch.Tensor, old: torch.distributions.Normal) -> torch.Tensor:
        """Mean KL(pi_old || pi_theta) over the states."""
        return torch.distributions.kl_divergence(old, self.policy(obs)).sum(-1).mean()

    def fisher_vector_product(self, obs: torch.Tensor, old: torch.distributions.Normal) -> Callable:
        grads = torch.autograd.grad(self.kl(obs, old), self._params, create_graph=True)
        flat_grad = torch.cat([g.reshape(-1) for g in grads])

        def fvp(v: torch.Tensor) -> torch.Tensor:
            hv = torch.autograd.grad(flat_grad @ v, self._params, retain_graph=True)
            return torch.cat([h.reshape(-1) for h in hv]) + self.cg_damping * v

        return fvp

    def policy_loss(self, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
        """-E[log pi(a|s) A]: the negated surrogate whose gradient at theta_old is g."""
        return -(self.policy.log_prob(batch["observations"], batch["actions"]) * self.advantages(batch)).mean()

    def compute_losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {"policy_loss": self.policy_loss(batch), "vf_loss": self.value_loss(batch)}

    def natural_step(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The NPG step on `batch` (the whole rollout); returns the step and its statistics."""
        obs = batch["observations"]
        with torch.no_grad():
            d = self.policy(obs)
            old = torch.distributions.Normal(d.loc.clone(), d.scale.clone())
        policy_loss = self.policy_loss(batch)
        g = torch.cat([x.reshape(-1) for x in torch.autograd.grad(-policy_loss, self._params)])
        fvp = self.fisher_vector_product(obs, old)
        x = conjugate_gradient(fvp, g, self.cg_iters)
        alpha = torch.sqrt(2 * self.step_size / (x @ fvp(x)).clamp_min(1e-12))  # x.Fx = g.x once CG has converged
        with torch.no_grad():
            offset = 0
            for p in self._params:  # in place: the parameters keep their storage (and its alignment)
                p.add_(alpha * x[offset:offset + p.numel()].view_as(p))
                offset += p.numel()
            kl = self.kl(obs, old)
        return {"policy_loss": policy_loss.detach(), "kl": kl, "step_size": alpha.detach()}

    def train_from_torch(self, batch: Dict[str, torch.Tensor]) -> None:
        self._last_stats.update(self.natural_step(batch))

    def train_on_rollout(self, buffer) -> None:
        self.train_from_torch(self.to_torch(buffer.get_all()))
        self._last_stats["vf_loss"] = self.fit_value(buffer)
        self._n_updates += 1


class VPGTrainer(PolicyGradientTrainer):
    name = "vpg"

    def __init__(self, policy: GaussianPolicy, vf: Mlp, seed: Optional[int] = None, policy_lr: float = 3e-4,
                 vf_lr: float = 1e-3, vf_epochs: int = 10, vf_batch_size: int = 128, normalize_advantage: bool = True,
                 max_grad_norm: float = 0.0, normalizer: Optional[Normalizer] = None):
        super().__init__(policy, vf, seed, vf_lr, vf_epochs, vf_batch_size, normalize_advantage, max_grad_norm, normalizer)
        self.policy_lr = policy_lr
        self.reset_optimizers()

    def _optimizer_specs(self) -> Dict[str, Any]:
        return {**super()._optimizer_specs(), "policy_optimizer": (self.policy.parameters(), self.policy_lr)}

    def policy_losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        dist = self.policy(batch["observations"])
        log_prob = dist.log_prob(batch["actions"]).sum(-1)
        return {"policy_loss": -(log_prob * self.advantages(batch)).mean(), "entropy": dist.entropy().sum(-1).mean()}

    def compute_losses(self, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {**self.policy_losses(batch), "vf_loss": self.value_loss(batch)}

    def train_from_torch(self, batch: Dict[str, torch.Tensor]) -> None:
        """One Adam step of the policy (the value function is fit apart: `fit_value`)."""
        losses = self.policy_losses(batch)
        self.policy_optimizer.zero_grad(set_to_none=True)
        losses["policy_loss"].backward()
        self._clip(self.policy.parameters())
        self.policy_optimizer.step()
        self._last_stats.update({k: v.detach() for k, v in losses.items()})

    def train_on_rollout(self, buffer) -> None:
        self.train_from_torch(self.to_torch(buffer.get_all()))
        self._last_stats["vf_loss"] = self.fit_value(buffer)
        self._n_updates += 1


TRAINERS = {c.name: c for c in (PPOTrainer, NPGTrainer, VPGTrainer)}
