"""l2 and ewc: a quadratic penalty pulling the parameters to their values at the last task's end
(lifelong_rl.continual.regularizers; Kirkpatrick et al. 2017 for EWC), on the actor and, with
`regularize_critic`, the critics. Output heads are task-specific and not regularised. The buffer is
reset at each task switch.

Default coefficients as Continual World ran them for its paper (Wolczyk et al. 2021; the CW20
commands in their examples/paper_cl_experiments.sh): L2 cl_reg_coef 1e5, EWC 1e4.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch

from lifelong_rl.continual.regularizers import ParameterRegularizer, actor_fisher, critic_fisher
from lifelong_rl.continual.strategies.base import CLStrategy, Penalty, TaskContext, register


class _Regularized(CLStrategy):
    reset_buffer = True
    options = ("regularize_critic", "fisher_samples")

    def __init__(self, coef: float = 0.0, seed: int = 0, regularize_critic: bool = True, fisher_samples: int = 1024):
        super().__init__(coef, seed)
        self.regularize_critic, self.fisher_samples = regularize_critic, fisher_samples
        self.policy_reg: Optional[ParameterRegularizer] = None
        self.qf_reg: Optional[ParameterRegularizer] = None

    def penalties(self, policy, qfs, heads=None) -> Dict[str, Penalty]:
        heads = heads or {}
        self.policy_reg = ParameterRegularizer(policy, self.coef, heads.get("policy"))
        out = {"policy": self.policy_reg.penalty_if_active}
        if self.regularize_critic:
            self.qf_reg = ParameterRegularizer(qfs, self.coef, heads.get("qf"))
            out["qf"] = self.qf_reg.penalty_if_active
        return out

    def importance(self, ctx: TaskContext, task: int):
        """(actor, critic) importance per parameter; None: every weight counts 1 (L2)."""
        return None, None

    def on_task_end(self, ctx: TaskContext, task: int) -> None:
        fisher_p, fisher_q = self.importance(ctx, task)
        self.policy_reg.consolidate(fisher_p)
        if self.qf_reg is not None:
            self.qf_reg.consolidate(fisher_q)
        ctx.log(f"consolidated {self.name} after task {task} ({ctx.task_names[task]})")

    def state_dict(self) -> Dict[str, Any]:
        return {**super().state_dict(), "policy_regularizer": self.policy_reg.state_dict(),
                "qf_regularizer": None if self.qf_reg is None else self.qf_reg.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.policy_reg.load_state_dict(state["policy_regularizer"])
        if self.qf_reg is not None:
            self.qf_reg.load_state_dict(state["qf_regularizer"])


@register
class L2(_Regularized):
    name = "l2"
    default_coef = 1e5


@register
class EWC(_Regularized):
    """EWC's weights: the diagonal Fisher, summed over tasks, each estimated at its task's end on
    `fisher_samples` of that task's transitions."""
    name = "ewc"
    default_coef = 1e4

    def importance(self, ctx: TaskContext, task: int):
        buf = ctx.buffer
        idx = buf.task_indices(task)
        idx = self.rng.choice(idx, size=min(self.fisher_samples, len(idx)), replace=False)
        obs = torch.from_numpy(buf.observations[idx]).to(ctx.device)
        act = torch.from_numpy(buf.actions[idx]).to(ctx.device)
        noise = torch.randn(len(idx), act.shape[1], device=ctx.device)
        fisher_p = actor_fisher(ctx.trainer.policy, obs, noise)
        fisher_q = critic_fisher(ctx.trainer.qfs, obs, act) if self.qf_reg is not None else None
        return fisher_p, fisher_q
