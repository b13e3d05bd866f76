"""Several seeds of SAC as one stacked trainer, and each seed's view of it as an ordinary trainer.

A seed-vectorized run (`--vectorize-seeds`) trains N seeds in one process: the N actors are one
ParallelizedEnsemble (one batched matmul per layer for every seed), the 2N critics another, and
SACTrainer(num_seeds=N) computes every seed's losses at once (lifelong_rl/trainers/sac.py). Each
seed keeps its own torch generator for its policy noise, drawn in the order a separate run draws
from the global generator, so seed i of a stacked run follows the separate run of seed i up to
floating-point rounding.

`SeedView(stacked, i)` is seed i's trainer: its diagnostics, and a state dict in exactly the format
of an unbatched SACTrainer's (networks, alpha, Adam moments), so each seed's snapshot is a
separate run's snapshot: `eval_snapshot.py`, `plot.py` and `--resume` read it as one. Loading one
copies it into the seed's slice of the stacked tensors: building a stacked trainer is building N
ordinary ones (each seed's initialisation as in a separate run) and loading them.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import LOG_STD_MAX, LOG_STD_MIN
from lifelong_rl.torch.distributions import TanhNormal
from lifelong_rl.trainers.sac import SACTrainer, losses_finite, sac_diagnostics

# (stacked parameter, function from a stacked-shaped tensor to the seed's view in unbatched shape)
SeedParams = List[Tuple[nn.Parameter, Callable[[torch.Tensor], torch.Tensor]]]


class StackedTanhGaussianPolicy(nn.Module):
    """N tanh-Gaussian actors with the layout of TanhGaussianPolicy, one per seed: [N, B, obs] -> [N, B, A]."""

    def __init__(self, num_seeds: int, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int],
                 activation: str = "relu", layer_norm: bool = False):
        super().__init__()
        self.num_seeds, self.obs_dim, self.action_dim = num_seeds, obs_dim, action_dim
        self.net = ParallelizedEnsemble(num_seeds, obs_dim, 2 * action_dim, hidden_sizes, activation, layer_norm)
        self.generators: List[torch.Generator] = []  # one per seed (set by stack_sac)

    def forward(self, obs: torch.Tensor, member=None) -> TanhNormal:
        mean, log_std = self.net(obs, member).float().chunk(2, dim=-1)
        return TanhNormal(mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp())

    def noise(self, shape: Sequence[int]) -> torch.Tensor:
        """Standard normal noise [N, *shape], seed i's part drawn from seed i's generator."""
        return torch.stack([torch.randn(tuple(shape), generator=g, device=g.device) for g in self.generators])

    def sample(self, obs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        dist = self(obs)
        return dist.rsample_and_log_prob(self.noise(dist.mean.shape[1:]))

    @torch.no_grad()
    def get_actions(self, obs: np.ndarray) -> np.ndarray:
        """One exploration action per seed for observations [N, obs]: [N, A]."""
        p = self.net.layers[0].weight
        dist = self(torch.as_tensor(obs, dtype=p.dtype, device=p.device).unsqueeze(1))
        return dist.rsample_with_pre_tanh(self.noise(dist.mean.shape[1:]))[0][:, 0].cpu().numpy()

    @torch.no_grad()
    def deterministic_action(self, obs: np.ndarray, seed_index: int) -> np.ndarray:
        """Seed `seed_index`'s tanh(mean) for one observation, computed with its weights alone."""
        p = self.net.layers[0].weight
        return self(torch.as_tensor(obs, dtype=p.dtype, device=p.device).unsqueeze(0), seed_index).deterministic[0].cpu().numpy()

    def seed_params(self, i: int) -> SeedParams:
        """Seed i's tensors in TanhGaussianPolicy's parameter order (nn.Linear weights are [out, in])."""
        out: SeedParams = []
        for k, layer in enumerate(self.net.layers):
            out += [(layer.weight, lambda t: t[i].t()), (layer.bias, lambda t: t[i, 0])]
            if k == 0 and self.net.first_norm is not None:
                out += [(self.net.first_norm.weight, lambda t: t[i, 0]), (self.net.first_norm.bias, lambda t: t[i, 0])]
        return out


class StackedCritics(nn.Module):
    """N seeds' twin critics as one ensemble of 2N: [N, B, in] -> [2, N, B, 1] (critic, seed, batch)."""

    def __init__(self, num_seeds: int, input_size: int, hidden_sizes: Sequence[int], activation: str = "relu",
                 layer_norm: bool = False):
        super().__init__()
        self.num_seeds = num_seeds
        self.net = ParallelizedEnsemble(2 * num_seeds, input_size, 1, hidden_sizes, activation, layer_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, b, d = x.shape
        out = self.net(x.unsqueeze(1).expand(n, 2, b, d).reshape(2 * n, b, d))  # members seed-major
        return out.view(n, 2, b, 1).transpose(0, 1)

    def seed_params(self, i: int) -> SeedParams:
        """Seed i's two critics, in the parameter order of ParallelizedEnsemble(2, ...)."""
        return [(p, lambda t: t[2 * i:2 * i + 2]) for p in self.net.parameters()]


def seed_module_state(module: nn.Module, template: nn.Module, i: int) -> Dict[str, torch.Tensor]:
    names = [n for n, _ in template.named_parameters()]
    return {n: fn(p).detach().clone() for n, (p, fn) in zip(names, module.seed_params(i))}


def load_seed_module_state(module: nn.Module, template: nn.Module, i: int, state: Dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for (n, _), (p, fn) in zip(template.named_parameters(), module.seed_params(i)):
            fn(p).copy_(state[n])


def seed_optimizer_state(opt: torch.optim.Optimizer, params: SeedParams) -> Dict[str, Any]:
    """The state dict an optimizer over the seed's unbatched parameters would have."""
    state = {}
    for j, (p, fn) in enumerate(params):
        if p in opt.state and opt.state[p]:
            state[j] = {k: v.clone() if k == "step" else fn(v).clone() for k, v in opt.state[p].items()}
    group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    return {"state": state, "param_groups": [{**group, "params": list(range(len(params)))}]}


def load_seed_optimizer_state(opt: torch.optim.Optimizer, params: SeedParams, sd: Dict[str, Any]) -> None:
    with torch.no_grad():
        for j, (p, fn) in enumerate(params):
            if j not in sd["state"]:
                continue
            st = opt.state[p]
            for k, v in sd["state"][j].items():
                if k == "step":
                    st[k] = v.clone().to(p.device)
                else:
                    if k not in st:
                        st[k] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    fn(st[k]).copy_(v)


class SeedView:
    """Seed i of a stacked SACTrainer, with an unbatched SACTrainer's diagnostics and state dict.
    `templates` are unbatched modules of the same sizes (they name the parameters)."""

    def __init__(self, stacked: SACTrainer, i: int, templates: Dict[str, nn.Module]):
        self.stacked, self.i, self.templates = stacked, i, templates

    def _modules(self):
        s = self.stacked
        return {"policy": s.policy, "qfs": s.qfs, "target_qfs": s.target_qfs}

    def _alpha_params(self) -> SeedParams:
        return [(self.stacked.log_alpha, lambda t: t[self.i].reshape(()))]

    def _seed_stats(self) -> Dict[str, torch.Tensor]:
        """Seed i's part of the last batch's statistics, shaped as an unbatched trainer's."""
        return {k: (_seed_part(k, v, self.i) if k != "alpha" else v[self.i].reshape(())).clone()
                for k, v in self.stacked._last_stats.items()}

    def get_diagnostics(self) -> Dict[str, float]:
        return sac_diagnostics(self._seed_stats(), self.stacked._n_train_steps)

    def losses_finite(self) -> bool:
        return losses_finite(self._seed_stats())

    # The seeds switch tasks at the same step, so resetting every seed is resetting this one.
    def reset_optimizers(self) -> None:
        self.stacked.reset_optimizers()

    def reset_entropy(self) -> None:
        self.stacked.reset_entropy()

    def state_dict(self) -> Dict[str, Any]:
        s, i = self.stacked, self.i
        out: Dict[str, Any] = {k: seed_module_state(m, self.templates[k], i) for k, m in self._modules().items()}
        out["log_alpha"] = s.log_alpha[i].detach().reshape(()).clone()
        out["policy_optimizer"] = seed_optimizer_state(s.policy_optimizer, s.policy.seed_params(i))
        out["qf_optimizer"] = seed_optimizer_state(s.qf_optimizer, s.qfs.seed_params(i))
        out["alpha_optimizer"] = seed_optimizer_state(s.alpha_optimizer, self._alpha_params())
        out["n_train_steps"] = s._n_train_steps
        out["last_stats"] = self._seed_stats()
        return out

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        s, i = self.stacked, self.i
        for k, m in self._modules().items():
            load_seed_module_state(m, self.templates[k], i, state[k])
        with torch.no_grad():
            s.log_alpha[i].copy_(state["log_alpha"].reshape(1, 1))
        load_seed_optimizer_state(s.policy_optimizer, s.policy.seed_params(i), state["policy_optimizer"])
        load_seed_optimizer_state(s.qf_optimizer, s.qfs.seed_params(i), state["qf_optimizer"])
        load_seed_optimizer_state(s.alpha_optimizer, self._alpha_params(), state["alpha_optimizer"])
        s._n_train_steps = int(state["n_train_steps"])  # equal for every seed: they step together
        stats = s._last_stats
        for k, v in state["last_stats"].items():
            if k not in stats:
                shape = ((v.shape[0], s.num_seeds, *v.shape[1:]) if k == "q_pred" else
                         (s.num_seeds, 1, 1) if k == "alpha" else (s.num_seeds, *v.shape))
                stats[k] = torch.zeros(shape, dtype=v.dtype, device=v.device)
            part = _seed_part(k, stats[k], i)
            part.copy_(v.reshape(part.shape))


def _seed_part(key: str, stacked: torch.Tensor, i: int) -> torch.Tensor:
    """Seed i's view of a stacked statistic (the critics' predictions carry the critic axis first)."""
    return stacked[:, i] if key == "q_pred" else stacked[i]


class SeedPolicy:
    """Seed i's deterministic evaluation policy (its weights alone)."""

    def __init__(self, policy: StackedTanhGaussianPolicy, i: int):
        self.policy, self.i = policy, i

    def get_action(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.deterministic_action(obs, self.i)

    def reset(self) -> None:
        pass


def stack_sac(trainers: Sequence[SACTrainer], trainer_kwargs: Dict[str, Any], policy_kwargs: Dict[str, Any],
              qf_kwargs: Dict[str, Any], generators: Sequence[torch.Generator]) -> Tuple[SACTrainer, List[SeedView]]:
    """One stacked trainer holding the given unbatched trainers (one per seed, built as separate runs
    build theirs), and the seeds' views of it. `generators`: each seed's torch generator, in the
    state the global one had after that seed's networks were built."""
    first = trainers[0]
    n, obs_dim, action_dim = len(trainers), first.policy.obs_dim, first.policy.action_dim
    device = next(first.policy.parameters()).device
    policy = StackedTanhGaussianPolicy(n, obs_dim, action_dim, **policy_kwargs).to(device)
    policy.generators = list(generators)
    qfs = StackedCritics(n, obs_dim + action_dim, **qf_kwargs).to(device)
    stacked = SACTrainer(policy, qfs, action_dim, num_seeds=n, **trainer_kwargs)
    templates = {"policy": first.policy, "qfs": first.qfs, "target_qfs": first.target_qfs}
    views = [SeedView(stacked, i, templates) for i in range(n)]
    for view, t in zip(views, trainers):
        view.load_state_dict(t.state_dict())
    return stacked, views
