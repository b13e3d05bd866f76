"""The optimized SAC update (ensemble critics, fused Adam, frozen critic weights in the actor step)
computes the same losses and parameter updates as a plain reference of the SAC equations."""
import copy

import pytest
import torch
from torch import nn

from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.sac import SACTrainer

O, A, H, B = 6, 3, [32, 32], 64
GAMMA, TAU, LR = 0.99, 5e-3, 3e-4


def plain_critic_from_member(ens: ParallelizedEnsemble, j: int) -> nn.Sequential:
    layers = []
    for i, layer in enumerate(ens.layers):
        lin = nn.Linear(layer.input_dim, layer.output_dim)
        with torch.no_grad():
            lin.weight.copy_(layer.weight[j].T)
            lin.bias.copy_(layer.bias[j, 0])
        layers.append(lin)
        if i < len(ens.layers) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ReferenceSAC:
    """SAC written out plainly: two critics, two targets, three plain Adams."""

    def __init__(self, policy, qfs):
        self.policy = copy.deepcopy(policy)
        self.q1, self.q2 = plain_critic_from_member(qfs, 0), plain_critic_from_member(qfs, 1)
        self.t1, self.t2 = copy.deepcopy(self.q1), copy.deepcopy(self.q2)
        self.log_alpha = torch.zeros((), requires_grad=True)
        self.target_entropy = -A
        self.opt_pi = torch.optim.Adam(self.policy.parameters(), lr=LR, foreach=False)
        self.opt_q = torch.optim.Adam([*self.q1.parameters(), *self.q2.parameters()], lr=LR, foreach=False)
        self.opt_a = torch.optim.Adam([self.log_alpha], lr=LR, foreach=False)

    def step(self, b):
        s, a, r, s2, d = b["observations"], b["actions"], b["rewards"], b["next_observations"], b["terminals"]
        a_new, logp = self.policy.sample(s)
        alpha_loss = -(self.log_alpha * (logp + self.target_entropy).detach()).mean()
        alpha = self.log_alpha.exp().detach()
        sa_new = torch.cat([s, a_new], -1)
        q_new = torch.min(self.q1(sa_new), self.q2(sa_new))
        policy_loss = (alpha * logp - q_new).mean()
        with torch.no_grad():
            a2, logp2 = self.policy.sample(s2)
            s2a2 = torch.cat([s2, a2], -1)
            y = r + (1 - d) * GAMMA * (torch.min(self.t1(s2a2), self.t2(s2a2)) - alpha * logp2)
        sa = torch.cat([s, a], -1)
        q1_loss = ((self.q1(sa) - y) ** 2).mean()
        q2_loss = ((self.q2(sa) - y) ** 2).mean()
        self.opt_a.zero_grad()
        alpha_loss.backward()
        self.opt_a.step()
        self.opt_pi.zero_grad()
        policy_loss.backward()  # also leaves grads on the critics; cleared below before their step
        self.opt_pi.step()
        self.opt_q.zero_grad()
        (q1_loss + q2_loss).backward()
        self.opt_q.step()
        with torch.no_grad():
            for q, t in ((self.q1, self.t1), (self.q2, self.t2)):
                for p, tp in zip(q.parameters(), t.parameters()):
                    tp.mul_(1 - TAU).add_(TAU * p)
        return {"qf_loss": q1_loss + q2_loss, "policy_loss": policy_loss, "alpha_loss": alpha_loss}


def _batch(g):
    return {"observations": torch.randn(B, O, generator=g), "actions": torch.rand(B, A, generator=g) * 2 - 1,
            "rewards": torch.randn(B, 1, generator=g), "next_observations": torch.randn(B, O, generator=g),
            "terminals": (torch.rand(B, 1, generator=g) < 0.2).float()}


def test_optimized_update_equals_reference():
    torch.manual_seed(0)
    policy = TanhGaussianPolicy(O, A, H)
    qfs = ParallelizedEnsemble(2, O + A, 1, H)
    ref = ReferenceSAC(policy, qfs)
    ours = SACTrainer(policy, qfs, A, discount=GAMMA, soft_target_tau=TAU, policy_lr=LR, qf_lr=LR)
    g = torch.Generator().manual_seed(1)
    for step in range(5):
        b = _batch(g)
        torch.manual_seed(100 + step)
        ref_losses = ref.step(b)
        torch.manual_seed(100 + step)
        ours.train_from_torch(b)
        got = ours._last_stats
        for k in ("qf_loss", "policy_loss", "alpha_loss"):
            assert got[k].item() == pytest.approx(ref_losses[k].item(), abs=1e-5, rel=1e-5), (step, k)
    for p_ours, p_ref in zip(ours.policy.parameters(), ref.policy.parameters()):
        assert torch.allclose(p_ours, p_ref, atol=1e-5)
    for j, (q, t) in enumerate(((ref.q1, ref.t1), (ref.q2, ref.t2))):
        for ens, plain in ((ours.qfs, q), (ours.target_qfs, t)):
            lin = [m for m in plain if isinstance(m, nn.Linear)]
            for layer, l in zip(ens.layers, lin):
                assert torch.allclose(layer.weight[j].T, l.weight, atol=1e-5)
                assert torch.allclose(layer.bias[j, 0], l.bias, atol=1e-5)
    assert ours.log_alpha.item() == pytest.approx(ref.log_alpha.item(), abs=1e-6)
