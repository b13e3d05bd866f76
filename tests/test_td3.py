"""TD3 and DDPG (lifelong_rl/trainers/td3.py): the target by hand, the delayed actor, exploration noise."""
import numpy as np
import pytest
import torch

from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.deterministic_policy import DeterministicPolicy, NoisyPolicy, OrnsteinUhlenbeckNoise
from lifelong_rl.trainers.td3 import TD3Trainer

O, A = 3, 2


def _trainer(num_qs=2, **kw):
    torch.manual_seed(0)
    return TD3Trainer(DeterministicPolicy(O, A, [8]), ParallelizedEnsemble(num_qs, O + A, 1, [8]), **kw)


class FixedNetwork(torch.nn.Module):
    """Returns fixed outputs, and records its inputs."""

    def __init__(self, fn):
        super().__init__()
        self.fn, self.inputs = fn, []

    def forward(self, x, member=None):
        self.inputs.append(x.clone())
        return self.fn(x)


def test_td3_target_smooths_clips_and_takes_the_smaller_critic():
    """Target actions 0.9 and -0.2; the noise 0.2 * eps with eps = [3, -1] ([0.6, -0.2]) is clipped
    to 0.5 -> [0.5, -0.2]; actions 0.9 + 0.5 = 1.4 -> 1 (the action bound), -0.2 - 0.2 = -0.4.
    Critics read the action's sum: Q'_1 = 10 + sum, Q'_2 = 20 - sum; min = 10 + 0.6 = 10.6.
    y = r + 0.9 * (1 - done) * 10.6."""
    tr = _trainer(discount=0.9, target_noise=0.2, target_noise_clip=0.5)
    tr.target_policy = FixedNetwork(lambda o: torch.tensor([[0.9, -0.2]]).expand(o.shape[0], A))
    tr.target_qfs = FixedNetwork(lambda x: torch.stack([10 + x[:, O:].sum(-1, keepdim=True), 20 - x[:, O:].sum(-1, keepdim=True)]))
    eps = torch.tensor([[3.0, -1.0], [3.0, -1.0]])
    real_randn_like = torch.randn_like
    torch.randn_like = lambda t: eps
    try:
        y = tr.target(torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [1.0]]), torch.zeros(2, O))
    finally:
        torch.randn_like = real_randn_like
    np.testing.assert_allclose(tr.target_qfs.inputs[0][:, O:].numpy(), [[1.0, -0.4]] * 2, atol=1e-6)
    np.testing.assert_allclose(y.numpy(), [[1 + 0.9 * 10.6], [2.0]], atol=1e-5)


def test_ddpg_target_has_no_smoothing():
    tr = _trainer(num_qs=1, discount=0.5, target_noise=0.0, policy_delay=1)
    tr.target_policy = FixedNetwork(lambda o: torch.full((o.shape[0], A), 0.3))
    tr.target_qfs = FixedNetwork(lambda x: (4 + x[:, O:].sum(-1, keepdim=True))[None])
    y = tr.target(torch.tensor([[1.0]]), torch.tensor([[0.0]]), torch.zeros(1, O))
    assert float(y) == pytest.approx(1 + 0.5 * 4.6)


def test_critic_and_actor_losses_match_the_equations():
    tr = _trainer(discount=0.9)
    g = torch.Generator().manual_seed(1)
    batch = {"observations": torch.randn(5, O, generator=g), "actions": torch.rand(5, A, generator=g) * 2 - 1,
             "next_observations": torch.randn(5, O, generator=g), "rewards": torch.randn(5, 1, generator=g),
             "terminals": torch.zeros(5, 1)}
    torch.manual_seed(3)
    losses = tr.compute_losses(batch)
    torch.manual_seed(3)
    y = tr.target(batch["rewards"], batch["terminals"], batch["next_observations"])
    q = tr.qfs(torch.cat([batch["observations"], batch["actions"]], -1)).detach()
    assert losses["qf_loss"].item() == pytest.approx(float(((q[0] - y) ** 2).mean() + ((q[1] - y) ** 2).mean()), rel=1e-5)
    q1 = tr.qfs(torch.cat([batch["observations"], tr.policy(batch["observations"])], -1))[0].detach()
    assert losses["policy_loss"].item() == pytest.approx(float(-q1.mean()), rel=1e-5)


def test_actor_and_targets_move_every_policy_delay_updates_only():
    tr = _trainer(policy_delay=2, soft_target_tau=0.5)
    g = torch.Generator().manual_seed(0)
    batch = {"observations": torch.randn(8, O, generator=g), "actions": torch.rand(8, A, generator=g) * 2 - 1,
             "next_observations": torch.randn(8, O, generator=g), "rewards": torch.randn(8, 1, generator=g),
             "terminals": torch.zeros(8, 1)}
    snap = lambda m: [p.detach().clone() for p in m.parameters()]  # noqa: E731
    pi0, tq0, q0 = snap(tr.policy), snap(tr.target_qfs), snap(tr.qfs)
    tr.train_from_torch(batch)  # update 1: critics only
    assert all(torch.equal(a, b) for a, b in zip(pi0, snap(tr.policy)))
    assert all(torch.equal(a, b) for a, b in zip(tq0, snap(tr.target_qfs)))
    assert not all(torch.equal(a, b) for a, b in zip(q0, snap(tr.qfs)))
    q1 = snap(tr.qfs)
    tr.train_from_torch(batch)  # update 2: critics, actor, then both targets by tau
    assert not all(torch.equal(a, b) for a, b in zip(pi0, snap(tr.policy)))
    for t0, t, q in zip(tq0, snap(tr.target_qfs), snap(tr.qfs)):
        torch.testing.assert_close(t, 0.5 * t0 + 0.5 * q)
    assert not all(torch.equal(a, b) for a, b in zip(q1, snap(tr.qfs)))
    assert set(tr.get_diagnostics()) >= {"QF Loss", "Policy Loss", "Num Train Steps"}


def test_exploration_noise_is_clipped_and_ou_noise_is_a_process_reset_per_episode():
    policy = DeterministicPolicy(O, A, [8])
    noise = OrnsteinUhlenbeckNoise(A, sigma=5.0, theta=0.15, dt=1e-2)
    explorer = NoisyPolicy(policy, noise)
    acts = np.array([explorer.get_action(np.zeros(O, np.float32)) for _ in range(50)])
    assert acts.min() >= -1 and acts.max() <= 1
    x = noise.x.copy()
    torch.manual_seed(7)
    eps = torch.randn(A, dtype=torch.float64).numpy()
    torch.manual_seed(7)
    noise.sample()
    np.testing.assert_allclose(noise.x, x - 0.15 * x * 1e-2 + 5.0 * 0.1 * eps)
    state = explorer.noise_state()
    explorer.reset()
    assert not noise.x.any()
    explorer.load_noise_state(state)
    np.testing.assert_array_equal(noise.x, state["x"])
