"""Action-sequence optimisers for model-predictive control, behind one interface:

    plan(returns, mean, prior=None) -> the plan [H, A]

`returns(sequences [N, H, A]) -> [N]` scores candidate sequences (in [-1, 1], the library's action
range; lifelong_rl.policies.mpc_policy evaluates them with a model), `mean` [H, A] is the warm start
(the previous plan shifted by one step), and `prior` [K, H, A] (LOOP) are sequences from a policy
added to every iteration's candidates. Sampling noise comes from torch's global generator, which
snapshots hold.

- `RandomShooting`: uniform sequences in [-1, 1]; the best one found (Nagabandi et al. 2018).
- `CEM`: Gaussian around the mean; refit to the `elite_frac` best each iteration, with momentum
  `alpha` (PETS, Chua et al. 2018); returns the final mean.
- `MPPI`: Gaussian noise smoothed in time, u_t = beta * eps_t + (1 - beta) * u_{t-1} (Nagabandi et al.
  2019, PDDM); returns scaled to [0, 1] over the candidates, weights softmax(R / temperature), new mean
  = the weighted average (Williams et al. 2017; the temperature acts on the scaled returns, as in
  Lu et al.'s lifelong_rl).
"""
from __future__ import annotations

import abc
from typing import Callable, Dict, Optional, Type

import torch

ReturnFn = Callable[[torch.Tensor], torch.Tensor]


class Planner(abc.ABC):
    def __init__(self, horizon: int, action_dim: int, population: int, iterations: int):
        self.horizon, self.action_dim, self.population, self.iterations = horizon, action_dim, population, iterations

    def _candidates(self, samples: torch.Tensor, prior: Optional[torch.Tensor]) -> torch.Tensor:
        return samples if prior is None else torch.cat([samples, prior])

    @abc.abstractmethod
    def plan(self, returns: ReturnFn, mean: torch.Tensor, prior: Optional[torch.Tensor] = None) -> torch.Tensor: ...


class RandomShooting(Planner):
    def plan(self, returns, mean, prior=None):
        best, best_return = mean, -float("inf")
        for _ in range(self.iterations):
            u = torch.rand(self.population, self.horizon, self.action_dim, device=mean.device) * 2 - 1
            candidates = self._candidates(u, prior)
            r = returns(candidates)
            i = int(torch.argmax(r))
            if float(r[i]) > best_return:
                best, best_return = candidates[i], float(r[i])
        return best


class CEM(Planner):
    def __init__(self, horizon, action_dim, population, iterations, init_std: float = 0.5,
                 elite_frac: float = 0.1, alpha: float = 0.1, min_std: float = 0.05):
        super().__init__(horizon, action_dim, population, iterations)
        self.init_std, self.alpha, self.min_std = init_std, alpha, min_std
        self.num_elites = max(1, int(round(elite_frac * population)))

    def plan(self, returns, mean, prior=None):
        std = torch.full_like(mean, self.init_std)
        for _ in range(self.iterations):
            noise = torch.randn(self.population, *mean.shape, device=mean.device)
            candidates = self._candidates((mean + std * noise).clamp(-1, 1), prior)
            elites = candidates[torch.topk(returns(candidates), self.num_elites).indices]
            mean = self.alpha * mean + (1 - self.alpha) * elites.mean(0)
            std = (self.alpha * std + (1 - self.alpha) * elites.std(0, unbiased=False)).clamp_min(self.min_std)
        return mean


class MPPI(Planner):
    def __init__(self, horizon, action_dim, population, iterations, init_std: float = 0.5,
                 temperature: float = 0.1, beta: float = 0.7):
        super().__init__(horizon, action_dim, population, iterations)
        self.init_std, self.temperature, self.beta = init_std, temperature, beta

    def smooth(self, eps: torch.Tensor) -> torch.Tensor:
        """u_t = beta * eps_t + (1 - beta) * u_{t-1} along the horizon (dim 1)."""
        u = torch.empty_like(eps)
        u[:, 0] = eps[:, 0]
        for t in range(1, eps.shape[1]):
            u[:, t] = self.beta * eps[:, t] + (1 - self.beta) * u[:, t - 1]
        return u

    def plan(self, returns, mean, prior=None):
        for _ in range(self.iterations):
            eps = torch.randn(self.population, *mean.shape, device=mean.device) * self.init_std
            candidates = self._candidates((mean + self.smooth(eps)).clamp(-1, 1), prior)
            r = returns(candidates)
            finite = torch.isfinite(r)
            lo = r[finite].min() if bool(finite.any()) else torch.zeros(())
            r = torch.where(finite, r, lo)  # a diverged candidate counts as the worst finite one
            hi = r.max()
            w = torch.softmax((r - lo) / (hi - lo + 1e-6) / self.temperature, 0)
            mean = (w[:, None, None] * candidates).sum(0)
        return mean


PLANNERS: Dict[str, Type[Planner]] = {"rs": RandomShooting, "cem": CEM, "mppi": MPPI}
