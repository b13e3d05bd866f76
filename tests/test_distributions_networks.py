import math

import numpy as np
import torch
from scipy.stats import norm

from lifelong_rl.models.networks import Mlp, ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.torch.distributions import TanhNormal


def test_tanh_log_prob_matches_numeric_density():
    """d/da P(tanh(u) <= a), by finite differences of the Gaussian CDF, against our log-density."""
    mu, sigma = 0.3, 0.7
    dist = TanhNormal(torch.tensor([mu], dtype=torch.float64), torch.tensor([sigma], dtype=torch.float64))
    h = 1e-6
    for a in [-0.99, -0.5, 0.0, 0.2, 0.8, 0.995]:
        cdf = lambda x: norm.cdf((np.arctanh(x) - mu) / sigma)
        numeric = (cdf(a + h) - cdf(a - h)) / (2 * h)
        ours = dist.log_prob(torch.tensor([a], dtype=torch.float64)).exp().item()
        assert ours == pytest_approx(numeric, rel=1e-4)


def pytest_approx(x, rel):
    import pytest

    return pytest.approx(x, rel=rel)


def test_tanh_density_integrates_to_one_and_is_stable():
    dist = TanhNormal(torch.tensor([[-0.4]], dtype=torch.float64), torch.tensor([[0.5]], dtype=torch.float64))
    a = torch.linspace(-1 + 1e-9, 1 - 1e-9, 200001, dtype=torch.float64).unsqueeze(-1)
    p = dist.log_prob(a, eps=1e-12).exp().squeeze(-1)
    assert torch.trapezoid(p, a.squeeze(-1)).item() == pytest_approx(1.0, rel=1e-4)
    # Saturated pre-tanh values: log(1 - tanh(u)^2) computed naively is -inf; ours stays finite and exact.
    big = TanhNormal(torch.tensor([0.0]), torch.tensor([1.0]))
    lp = big.log_prob_from_pre_tanh(torch.tensor([20.0]))
    expected = -0.5 * 400 - 0.5 * math.log(2 * math.pi) - 2 * (math.log(2) - 20 - math.log1p(math.exp(-40)))
    assert torch.isfinite(lp).all() and lp.item() == pytest_approx(expected, rel=1e-6)


def test_policy_sample_shapes_and_bounds():
    torch.manual_seed(0)
    pi = TanhGaussianPolicy(5, 3, [16, 16])
    a, lp = pi.sample(torch.randn(7, 5))
    assert a.shape == (7, 3) and lp.shape == (7, 1)
    assert (a.abs() < 1).all()
    det = pi.get_action(np.zeros(5, dtype=np.float32), deterministic=True)
    assert np.allclose(det, pi.get_action(np.zeros(5, dtype=np.float32), deterministic=True))


def test_parallel_ensemble_equals_independent_members():
    torch.manual_seed(0)
    ens = ParallelizedEnsemble(3, 4, 2, [8, 8])
    x = torch.randn(5, 4)
    out = ens(x)
    assert out.shape == (3, 5, 2)
    for e in range(3):
        h = x
        for i, layer in enumerate(ens.layers):
            h = h @ layer.weight[e] + layer.bias[e]
            if i < len(ens.layers) - 1:
                h = torch.relu(h)
        assert torch.allclose(out[e], h, atol=1e-6)
    # Per-member inputs [E, B, in] are also accepted.
    assert ens(x.unsqueeze(0).expand(3, -1, -1)).shape == (3, 5, 2)


def test_layer_norm_trunk_and_leaky_relu_by_hand():
    """layer_norm: first hidden layer linear -> LayerNorm -> tanh (per-member gain and bias in an
    ensemble), the rest use the activation; leaky_relu has slope 0.2 below zero."""
    torch.manual_seed(0)
    ens = ParallelizedEnsemble(2, 4, 1, [6, 5], activation="leaky_relu", layer_norm=True)
    with torch.no_grad():
        ens.first_norm.weight.uniform_(0.5, 2.0)
        ens.first_norm.bias.uniform_(-1.0, 1.0)
    x = torch.randn(7, 4)
    out = ens(x)
    for e in range(2):
        z = x @ ens.layers[0].weight[e] + ens.layers[0].bias[e]
        z = (z - z.mean(-1, keepdim=True)) / torch.sqrt(z.var(-1, unbiased=False, keepdim=True) + 1e-5)
        h = torch.tanh(z * ens.first_norm.weight[e] + ens.first_norm.bias[e])
        z = h @ ens.layers[1].weight[e] + ens.layers[1].bias[e]
        h = torch.where(z > 0, z, 0.2 * z)
        assert torch.allclose(out[e], h @ ens.layers[2].weight[e] + ens.layers[2].bias[e], atol=1e-5)
    mlp = Mlp(4, 3, [6, 5], activation="leaky_relu", layer_norm=True)
    assert [type(m).__name__ for m in mlp.hidden] == ["Linear", "LayerNorm", "Tanh", "Linear", "LeakyReLU"]
    assert mlp.hidden[4].negative_slope == 0.2
    pi = TanhGaussianPolicy(4, 2, [6, 5], activation="leaky_relu", layer_norm=True)
    assert isinstance(pi.net.hidden[1], torch.nn.LayerNorm)
