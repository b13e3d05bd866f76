"""Probabilistic dynamics ensembles (Chua et al. 2018, "Deep Reinforcement Learning in a Handful of
Trials using Probabilistic Dynamics Models", PETS) and the model a planner or a model rollout steps.

`ProbabilisticEnsemble`: E members computed as one batched network (lifelong_rl.models.networks'
ParallelizedLayer). Each member maps a normalised (s, a) to a diagonal Gaussian over the normalised
target [s' - s, r (if learned), done (if learned)]. The log-variance is softly bounded by learned
limits (PETS, appendix A.1):

    logvar = max_logvar - softplus(max_logvar - raw)
    logvar = min_logvar + softplus(logvar - min_logvar)

Input and target normalisers are buffers fitted from the data (so they are in every snapshot), and
`elites` (the `num_elites` members with the lowest held-out error, set by
lifelong_rl.trainers.dynamics_trainer) are the only members `DynamicsModel.step` samples from.

`DynamicsModel`: the ensemble plus the reward and termination it does not learn (given by hand for
an env: lifelong_rl.envs.model_functions). `step(obs, act, members)` samples one member per row:
trajectory sampling (TS) in the planner and branched rollouts in MBPO go through it.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from lifelong_rl.models.networks import ParallelizedLayer, _activation

# (obs, act, next_obs) -> reward [B] / terminal [B] (bool); None: learned by the ensemble.
ModelFunction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class ProbabilisticEnsemble(nn.Module):
    def __init__(self, obs_dim: int, action_dim: int, ensemble_size: int = 7, num_elites: int = 5,
                 hidden_sizes: Sequence[int] = (200, 200, 200, 200), activation: str = "swish",
                 learn_reward: bool = True, learn_terminal: bool = True):
        super().__init__()
        if not 1 <= num_elites <= ensemble_size:
            raise ValueError(f"num_elites ({num_elites}) must be in [1, ensemble_size ({ensemble_size})]")
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.ensemble_size, self.num_elites = ensemble_size, num_elites
        self.learn_reward, self.learn_terminal = learn_reward, learn_terminal
        self.input_dim = obs_dim + action_dim
        self.target_dim = obs_dim + int(learn_reward) + int(learn_terminal)
        dims = [self.input_dim, *hidden_sizes, 2 * self.target_dim]
        self.layers = nn.ModuleList(ParallelizedLayer(ensemble_size, i, o) for i, o in zip(dims[:-1], dims[1:]))
        self.act = _activation(activation)
        # PETS' initial bounds on the (normalised) log-variance; learned, with a small penalty (trainer).
        self.max_logvar = nn.Parameter(torch.full((self.target_dim,), 0.5))
        self.min_logvar = nn.Parameter(torch.full((self.target_dim,), -10.0))
        self.register_buffer("input_mean", torch.zeros(self.input_dim))
        self.register_buffer("input_std", torch.ones(self.input_dim))
        self.register_buffer("target_mean", torch.zeros(self.target_dim))
        self.register_buffer("target_std", torch.ones(self.target_dim))
        self.register_buffer("elites", torch.arange(num_elites))
        self.register_buffer("_all", torch.arange(ensemble_size), persistent=False)

    # -- normalisation -------------------------------------------------------------------------
    @staticmethod
    def targets(obs: torch.Tensor, rewards: torch.Tensor, terminals: torch.Tensor, next_obs: torch.Tensor,
                learn_reward: bool, learn_terminal: bool) -> torch.Tensor:
        """[s' - s, r, done] with the parts the ensemble learns; rewards and terminals [B] or [B, 1]."""
        parts = [next_obs - obs]
        if learn_reward:
            parts.append(rewards.reshape(-1, 1))
        if learn_terminal:
            parts.append(terminals.reshape(-1, 1))
        return torch.cat(parts, -1)

    def fit_normalizers(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Mean and std per dimension; a constant dimension keeps std 1."""
        for x, mean, std in ((inputs, self.input_mean, self.input_std), (targets, self.target_mean, self.target_std)):
            s = x.std(0, unbiased=False)  # one sample: 0, so std 1
            mean.copy_(x.mean(0))
            std.copy_(torch.where(s < 1e-6, torch.ones_like(s), s))

    def normalize_inputs(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return (torch.cat([obs, act], -1) - self.input_mean) / self.input_std

    # -- the network ---------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, members: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Normalised inputs [E, B, in] (every member; or [M, B, in] with `members` [M], those
        members) -> normalised mean and bounded log-variance, each [E or M, B, target_dim]."""
        if members is not None and len(members) == self.ensemble_size and bool((members == self._all).all()):
            members = None  # every member in order: no copy of the weights
        for i, layer in enumerate(self.layers):
            w, b = (layer.weight, layer.bias) if members is None else (layer.weight[members], layer.bias[members])
            x = torch.baddbmm(b, x, w)
            if i < len(self.layers) - 1:
                x = self.act(x)
        mean, raw = x.chunk(2, -1)
        logvar = self.max_logvar - F.softplus(self.max_logvar - raw)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar

    def predict(self, obs: torch.Tensor, act: torch.Tensor, members: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance of the target in its own units, [E (or len(members)), B, target_dim]."""
        x = self.normalize_inputs(obs, act)
        n = self.ensemble_size if members is None else len(members)
        mean, logvar = self(x.unsqueeze(0).expand(n, -1, -1), members)
        return mean * self.target_std + self.target_mean, logvar.exp() * self.target_std ** 2

    def sample_members(self, obs: torch.Tensor, act: torch.Tensor, members: torch.Tensor,
                       deterministic: bool = False) -> torch.Tensor:
        """One target per row from member `members[i]` (an index into all E members) of row i,
        [B, target_dim]: the mean plus Gaussian noise of the predicted variance (none if
        `deterministic`). Rows are grouped by member, so each member computes only its own rows."""
        x = self.normalize_inputs(obs, act)
        order = torch.argsort(members, stable=True)
        used, counts = torch.unique_consecutive(members[order], return_counts=True)
        if bool((counts == counts[0]).all()):  # equal shares (the planner's particles): one batched pass
            mean, logvar = self(x[order].view(len(used), int(counts[0]), -1), used)
            mean, logvar = mean.reshape(len(x), -1), logvar.reshape(len(x), -1)
        else:
            parts = [self(x[idx].unsqueeze(0), m.view(1)) for m, idx in zip(used, torch.split(order, counts.tolist()))]
            mean, logvar = torch.cat([p[0][0] for p in parts]), torch.cat([p[1][0] for p in parts])
        y = mean if deterministic else mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        out = torch.empty_like(y)
        out[order] = y
        return out * self.target_std + self.target_mean

    def disagreement(self, obs: torch.Tensor, act: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Uncertainty of the elites at (s, a), each [B], for the penalties of offline methods:
        `max_std_norm` max_i ||sigma_i|| over every predicted dimension (MOPO), `max_mean_gap`
        max_{i,j} ||mu_i - mu_j|| over the next-state predictions (MOReL)."""
        mean, var = self.predict(obs, act, self.elites)
        state = mean[..., :self.obs_dim]
        gaps = (state.unsqueeze(0) - state.unsqueeze(1)).norm(dim=-1)  # [M, M, B]
        return {"max_std_norm": var.sqrt().norm(dim=-1).max(0).values, "max_mean_gap": gaps.flatten(0, 1).max(0).values}

    def pair_disagreement(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """E_{i != j} mean_d (mu_i - mu_j)^2 over the elites' normalised mean predictions of every
        target dimension, [B] (LiSP eq. 3's disagreement; 0 with one elite). Computed as
        2 M / (M - 1) times the mean squared deviation from the elites' mean."""
        mean, _ = self(self.normalize_inputs(obs, act).unsqueeze(0).expand(self.num_elites, -1, -1), self.elites)
        return pair_disagreement(mean)


def pair_disagreement(means: torch.Tensor) -> torch.Tensor:
    """E_{i != j} mean_d (mu_i - mu_j)^2 of M members' predictions [M, B, D] -> [B]: 2 M / (M - 1)
    times the mean squared deviation from their mean (the same sum over ordered pairs); 0 for M = 1."""
    m = len(means)
    if m < 2:
        return means.new_zeros(means.shape[1])
    return 2.0 * m / (m - 1) * ((means - means.mean(0)) ** 2).mean(-1).mean(0)


class DynamicsModel(nn.Module):
    """What planners and model rollouts step: the ensemble, with the reward and termination it does
    not learn given as functions. `num_members` is the number of elites a particle can follow."""

    def __init__(self, ensemble: ProbabilisticEnsemble, reward_fn: Optional[ModelFunction] = None,
                 termination_fn: Optional[ModelFunction] = None, deterministic: bool = False):
        super().__init__()
        if ensemble.learn_reward == (reward_fn is not None) or ensemble.learn_terminal == (termination_fn is not None):
            raise ValueError("the reward and termination must each be either learned by the ensemble or given")
        self.ensemble, self.reward_fn, self.termination_fn = ensemble, reward_fn, termination_fn
        self.deterministic = deterministic

    @property
    def num_members(self) -> int:
        return self.ensemble.num_elites

    def random_members(self, n: int) -> torch.Tensor:
        """A uniformly random elite for each of n rows (TS1)."""
        return torch.randint(self.num_members, (n,), device=self.ensemble.elites.device)

    def step_with_disagreement(self, obs: torch.Tensor, act: torch.Tensor, members: torch.Tensor
                               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """`step` and the elites' `pair_disagreement` at (obs, act) from one pass of every elite over
        every row (a planner that penalises disagreement needs both)."""
        e = self.ensemble
        mean, logvar = e(e.normalize_inputs(obs, act).unsqueeze(0).expand(e.num_elites, -1, -1), e.elites)
        rows = torch.arange(len(obs), device=obs.device)
        m = mean[members, rows]
        y = m if self.deterministic else m + torch.randn_like(m) * (0.5 * logvar[members, rows]).exp()
        y = y * e.target_std + e.target_mean
        return (*self._transition(obs, act, y), pair_disagreement(mean))

    def step(self, obs: torch.Tensor, act: torch.Tensor, members: torch.Tensor
             ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(next_obs [B, obs], reward [B], terminal [B] bool) with row i from elite `members[i]`; a
        row whose prediction is not finite (a diverged model) is terminal."""
        e = self.ensemble
        return self._transition(obs, act, e.sample_members(obs, act, e.elites[members], self.deterministic))

    def _transition(self, obs: torch.Tensor, act: torch.Tensor, y: torch.Tensor
                    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(next_obs, reward, terminal) from a sampled target y in its own units."""
        e = self.ensemble
        next_obs = obs + y[:, :e.obs_dim]
        reward = y[:, e.obs_dim] if e.learn_reward else self.reward_fn(obs, act, next_obs)
        terminal = y[:, -1] > 0.5 if e.learn_terminal else self.termination_fn(obs, act, next_obs)
        return next_obs, reward, terminal | ~torch.isfinite(y).all(-1) | ~torch.isfinite(reward)
