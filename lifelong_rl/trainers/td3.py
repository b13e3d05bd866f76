"""TD3 (Fujimoto et al. 2018, "Addressing Function Approximation Error in Actor-Critic Methods")
and DDPG (Lillicrap et al. 2015, "Continuous control with deep reinforcement learning"), one
trainer: DDPG is TD3 with one critic, no target policy smoothing and no delay.

The losses, as in TD3's Algorithm 1 (actions in [-1, 1]):

    a'    = clip(pi'(s') + clip(eps, -c, c), -1, 1),   eps ~ N(0, sigma^2)     target policy smoothing
    y     = r + gamma * (1 - done) * min_j Q'_j(s', a')                        clipped double Q
    J_Q   = sum_j E[(Q_j(s, a) - y)^2]                                         every update
    J_pi  = -E[Q_1(s, pi(s))]                                                  every `policy_delay` updates,
    targets (actor and critics) Polyak-averaged with rate tau                  with the actor step

DDPG (num_qs 1, sigma 0, policy_delay 1): y = r + gamma * (1 - done) * Q'(s', pi'(s')), J_pi = -E[Q(s, pi(s))].
As in both papers, the actor loss is taken after the critic step of the same update.
`done` is true termination only: a time-limit truncation is bootstrapped through.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Mapping, Optional

import torch
from torch import nn

from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.deterministic_policy import DeterministicPolicy
from lifelong_rl.torch.pytorch_util import soft_update
from lifelong_rl.trainers.sac import make_adam


class TD3Trainer:
    def __init__(
        self,
        policy: DeterministicPolicy,
        qfs: ParallelizedEnsemble,
        discount: float = 0.99,
        reward_scale: float = 1.0,
        policy_lr: float = 3e-4,
        qf_lr: float = 3e-4,
        soft_target_tau: float = 5e-3,
        policy_delay: int = 2,
        target_noise: float = 0.2,
        target_noise_clip: float = 0.5,
        penalties: Optional[Mapping[str, Callable[[], Optional[torch.Tensor]]]] = None,
    ):
        self.policy, self.qfs = policy, qfs
        self.target_policy = copy.deepcopy(policy).requires_grad_(False)
        self.target_qfs = copy.deepcopy(qfs).requires_grad_(False)
        self.discount, self.reward_scale, self.soft_target_tau = discount, reward_scale, soft_target_tau
        self.policy_delay, self.target_noise, self.target_noise_clip = policy_delay, target_noise, target_noise_clip
        self.policy_lr, self.qf_lr = policy_lr, qf_lr
        self.penalties = dict(penalties or {})
        self.policy_optimizer = make_adam(policy.parameters(), policy_lr)
        self.qf_optimizer = make_adam(qfs.parameters(), qf_lr)
        self._qf_params = list(qfs.parameters())
        self._n_train_steps = 0
        self._last_stats: Dict[str, torch.Tensor] = {}

    # -- the losses --------------------------------------------------------------------------
    @torch.no_grad()
    def target(self, rewards: torch.Tensor, terminals: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """y = r + gamma (1 - done) min_j Q'_j(s', a'), a' the smoothed target action."""
        next_actions = self.target_policy(next_obs)
        if self.target_noise > 0:
            eps = (torch.randn_like(next_actions) * self.target_noise).clamp(-self.target_noise_clip, self.target_noise_clip)
            next_actions = (next_actions + eps).clamp(-1.0, 1.0)
        target_q = self.target_qfs(torch.cat([next_obs, next_actions], -1)).min(0).values
        return self.reward_scale * rewards + (1.0 - terminals) * self.discount * target_q

    def critic_loss(self, batch: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        obs, actions = batch["observations"], batch["actions"]
        q_target = self.target(batch["rewards"], batch["terminals"], batch["next_observations"])
        q_pred = self.qfs(torch.cat([obs, actions], -1))  # [num_qs, B, 1]
        qf_loss = (q_pred - q_target).pow(2).mean(dim=(1, 2)).sum()
        out = {"q_pred": q_pred.detach(), "q_target": q_target}
        if (p := self.penalties.get("qf")) is not None and (t := p()) is not None:
            qf_loss, out["qf_penalty"] = qf_loss + t, t.detach()
        out["qf_loss"] = qf_loss
        return out

    def actor_loss(self, obs: torch.Tensor) -> Dict[str, torch.Tensor]:
        for p in self._qf_params:  # the critics get no gradient from the actor loss
            p.requires_grad_(False)
        q1 = self.qfs(torch.cat([obs, self.policy(obs)], -1), member=0)
        for p in self._qf_params:
            p.requires_grad_(True)
        policy_loss = -q1.mean()
        out = {}
        if (p := self.penalties.get("policy")) is not None and (t := p()) is not None:
            policy_loss, out["policy_penalty"] = policy_loss + t, t.detach()
        out["policy_loss"] = policy_loss
        return out

    def compute_losses(self, batch: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Both losses at the current parameters (no optimizer step)."""
        return {**self.critic_loss(batch), **self.actor_loss(batch["observations"])}

    # -- one update --------------------------------------------------------------------------
    def train_from_torch(self, batch: Mapping[str, torch.Tensor]) -> None:
        stats = self.critic_loss(batch)
        self.qf_optimizer.zero_grad(set_to_none=True)
        stats["qf_loss"].backward()
        self.qf_optimizer.step()
        self._n_train_steps += 1
        if self._n_train_steps % self.policy_delay == 0:
            actor = self.actor_loss(batch["observations"])
            self.policy_optimizer.zero_grad(set_to_none=True)
            actor["policy_loss"].backward()
            self.policy_optimizer.step()
            soft_update(self.target_policy, self.policy, self.soft_target_tau)
            soft_update(self.target_qfs, self.qfs, self.soft_target_tau)
            stats.update(actor)
        elif "policy_loss" in self._last_stats:  # keep the last actor loss for the logs
            stats["policy_loss"] = self._last_stats["policy_loss"]
        self._last_stats = {k: v.detach() for k, v in stats.items()}

    # -- continual learning: per-task resets ----------------------------------------------------
    def reset_optimizers(self) -> None:
        self.policy_optimizer = make_adam(self.policy.parameters(), self.policy_lr)
        self.qf_optimizer = make_adam(self.qfs.parameters(), self.qf_lr)

    def reset_entropy(self) -> None:
        """No entropy coefficient: nothing to reset."""

    # -----------------------------------------------------------------------------------------
    def get_diagnostics(self) -> Dict[str, float]:
        s = self._last_stats
        if not s:
            return {}
        out = {"QF Loss": float(s["qf_loss"]), "Q Predictions Mean": float(s["q_pred"].mean()),
               "Q Targets Mean": float(s["q_target"].mean()), "Num Train Steps": self._n_train_steps}
        if "policy_loss" in s:
            out["Policy Loss"] = float(s["policy_loss"])
        for key, name in (("policy_penalty", "Policy Regularizer Penalty"), ("qf_penalty", "QF Regularizer Penalty")):
            if key in s:
                out[name] = float(s[key])
        return out

    def losses_finite(self) -> bool:
        return all(bool(torch.isfinite(self._last_stats[k]).all()) for k in ("qf_loss", "policy_loss")
                   if k in self._last_stats)

    @property
    def networks(self) -> Dict[str, nn.Module]:
        return {"policy": self.policy, "qfs": self.qfs, "target_policy": self.target_policy, "target_qfs": self.target_qfs}

    @property
    def optimizers(self) -> Dict[str, torch.optim.Optimizer]:
        return {"policy_optimizer": self.policy_optimizer, "qf_optimizer": self.qf_optimizer}

    def state_dict(self) -> Dict[str, Any]:
        return {**{k: m.state_dict() for k, m in self.networks.items()},
                **{k: o.state_dict() for k, o in self.optimizers.items()},
                "n_train_steps": self._n_train_steps, "last_stats": self._last_stats}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        for k, m in self.networks.items():
            m.load_state_dict(state[k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state[k])
        self._n_train_steps = int(state["n_train_steps"])
        self._last_stats = dict(state["last_stats"])
