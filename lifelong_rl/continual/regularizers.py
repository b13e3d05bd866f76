"""Parameter regularisers against forgetting (Continual World's L2 and EWC baselines).

    penalty = coef * sum_i w_i * (theta_i - theta*_i)^2

theta* are the parameters at the end of the last task. L2: w = 1. EWC (Kirkpatrick et al. 2017):
w = the diagonal Fisher information, summed over the tasks seen so far, estimated at the end of
each task on that task's data:
    actor:  F = E_s E_{a ~ pi(.|s)} [(d/dtheta log pi(a|s))^2]
    critic: F = E_{(s,a)} [(d/dtheta Q(s,a))^2]   (Q as the mean of a unit-variance Gaussian)
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from torch import nn
from torch.func import functional_call, grad, vmap


class ParameterRegularizer:
    def __init__(self, module: nn.Module, coef: float, exclude: Optional[List[nn.Parameter]] = None):
        excluded = {id(p) for p in (exclude or [])}
        self.module, self.coef = module, coef
        self.names = [n for n, p in module.named_parameters() if id(p) not in excluded]
        self.anchors: Dict[str, torch.Tensor] = {}
        self.weights: Dict[str, torch.Tensor] = {}

    @property
    def active(self) -> bool:
        return bool(self.anchors)

    def penalty_if_active(self) -> Optional[torch.Tensor]:
        """The penalty once anchored (after the first task), else None: the trainer adds nothing."""
        return self.penalty() if self.active else None

    def penalty(self) -> torch.Tensor:
        params = dict(self.module.named_parameters())
        terms = [(self.weights[n] * (params[n] - self.anchors[n]).pow(2)).sum() for n in self.names]
        return self.coef * torch.stack(terms).sum()

    def consolidate(self, importance: Optional[Dict[str, torch.Tensor]] = None) -> None:
        """At a task's end: anchor at the current parameters and add the task's importance (L2: 1s,
        kept at 1 rather than summed)."""
        params = dict(self.module.named_parameters())
        for n in self.names:
            self.anchors[n] = params[n].detach().clone()
            if importance is None:
                self.weights[n] = torch.ones_like(params[n])
            else:
                self.weights[n] = self.weights.get(n, torch.zeros_like(params[n])) + importance[n].detach()

    def state_dict(self) -> Dict[str, Dict[str, torch.Tensor]]:
        return {"anchors": self.anchors, "weights": self.weights}

    def load_state_dict(self, state: Dict[str, Dict[str, torch.Tensor]]) -> None:
        """Anchors and weights onto the module's device (a snapshot loads on the CPU)."""
        device = next(self.module.parameters()).device
        self.anchors = {n: t.to(device) for n, t in state["anchors"].items()}
        self.weights = {n: t.to(device) for n, t in state["weights"].items()}


def _per_sample_sq_grad_mean(module: nn.Module, fn, *inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
    """mean over the batch of (d fn(params, x_b) / d params)^2, one sample at a time (vmap)."""
    params = {n: p.detach() for n, p in module.named_parameters()}
    buffers = {n: b.detach() for n, b in module.named_buffers()}
    per_sample = vmap(grad(lambda p, *x: fn(functional_call(module, (p, buffers), tuple(xi.unsqueeze(0) for xi in x)))),
                      in_dims=(None, *([0] * len(inputs))))(params, *inputs)
    return {n: g.pow(2).mean(0) for n, g in per_sample.items()}


def actor_fisher(policy: nn.Module, obs: torch.Tensor, noise: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Diagonal Fisher of a Tanh-Gaussian policy; `noise` ~ N(0, I) fixes a ~ pi(.|s) per state."""

    def log_prob(dist, eps):
        u = (dist.mean + dist.std * eps).detach()  # a sampled action: the score's argument, not a function of theta
        return dist.log_prob_from_pre_tanh(u).sum()

    params = {n: p.detach() for n, p in policy.named_parameters()}
    buffers = {n: b.detach() for n, b in policy.named_buffers()}

    def one(p, s, eps):
        return log_prob(functional_call(policy, (p, buffers), (s.unsqueeze(0),)), eps.unsqueeze(0))

    per_sample = vmap(grad(one), in_dims=(None, 0, 0))(params, obs, noise)
    return {n: g.pow(2).mean(0) for n, g in per_sample.items()}


def critic_fisher(qfs: nn.Module, obs: torch.Tensor, actions: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Diagonal Fisher of the critics (each member's output as a unit-variance Gaussian mean)."""
    return _per_sample_sq_grad_mean(qfs, lambda out: out.sum(), torch.cat([obs, actions], -1))
