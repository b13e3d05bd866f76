"""Fitting a probabilistic dynamics ensemble (lifelong_rl.models.dynamics) to transitions.

As in PETS (Chua et al. 2018) and MBPO (Janner et al. 2019): each member minimises the Gaussian
negative log-likelihood of the normalised targets on its own minibatches, drawn with replacement
from the training split every epoch (as MBPO's and Lu et al.'s fits; PETS fixes one bootstrap per
member),

    L_i = mean_{b, d} [ (mu_i - y)^2 * exp(-logvar_i) + logvar_i ]
    L   = sum_i L_i + 0.01 * (sum max_logvar - sum min_logvar)      (the soft bounds' penalty)

with L2 weight decay per layer (PETS: 2.5e-5, 5e-5, 7.5e-5, 7.5e-5 on the hidden layers, 1e-4 on
the output layer). An epoch is one such pass over the training split, at least 25 minibatches
(on little data a pass is a handful of steps, and the patience would stop an untrained fit). A held-out split (a `holdout_ratio` share, at most `max_holdout`) is scored by
each member's mean squared error after every epoch; a member's best weights are kept, and the fit
stops when no member improved by more than 1% for `patience` epochs, or at `max_epochs` /
`max_grad_steps` (checked at every step). The `num_elites` members with the lowest held-out error
become the ensemble's elites: the only members that are sampled.
"""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np
import torch

from lifelong_rl.models.dynamics import ProbabilisticEnsemble

PETS_WEIGHT_DECAYS = (2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4)
LOGVAR_BOUND_COEF = 0.01
MIN_EPOCH_BATCHES = 25


def gaussian_nll(mean: torch.Tensor, logvar: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per member: mean over rows and dims of (mu - y)^2 / var + log var, [E]."""
    return ((mean - target) ** 2 * torch.exp(-logvar) + logvar).mean((1, 2))


class DynamicsTrainer:
    def __init__(self, ensemble: ProbabilisticEnsemble, lr: float = 1e-3,
                 weight_decays: Sequence[float] = PETS_WEIGHT_DECAYS, batch_size: int = 256,
                 holdout_ratio: float = 0.2, max_holdout: int = 5000, patience: int = 5,
                 max_epochs: int = 0, max_grad_steps: int = 0, seed: int = 0):
        self.ensemble = ensemble
        self.lr, self.weight_decays = lr, tuple(weight_decays)
        self.batch_size, self.holdout_ratio, self.max_holdout = batch_size, holdout_ratio, max_holdout
        self.patience, self.max_epochs, self.max_grad_steps = patience, max_epochs, max_grad_steps
        self.rng = np.random.default_rng(seed)
        self.reset_optimizers()
        self.num_fits = 0
        self._last: Dict[str, float] = {}

    def _layer_decay(self, i: int) -> float:
        """Output layer: the last decay; hidden layer i: the i-th (the last hidden one repeated)."""
        n = len(self.ensemble.layers)
        return self.weight_decays[-1] if i == n - 1 else self.weight_decays[min(i, len(self.weight_decays) - 2)]

    def reset_optimizers(self) -> None:
        e = self.ensemble
        groups = [{"params": [layer.weight], "weight_decay": self._layer_decay(i)} for i, layer in enumerate(e.layers)]
        groups.append({"params": [layer.bias for layer in e.layers] + [e.max_logvar, e.min_logvar], "weight_decay": 0.0})
        self.optimizer = torch.optim.Adam(groups, lr=self.lr)

    # -- the fit ---------------------------------------------------------------------------------
    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The training loss on normalised inputs / targets [E, B, .] (each member its own rows)."""
        mean, logvar = self.ensemble(x)
        e = self.ensemble
        return gaussian_nll(mean, logvar, y).sum() + LOGVAR_BOUND_COEF * (e.max_logvar.sum() - e.min_logvar.sum())

    @torch.no_grad()
    def holdout_mse(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each member's mean squared error on normalised held-out data [B, .], [E]."""
        mean, _ = self.ensemble(x.unsqueeze(0).expand(self.ensemble.ensemble_size, -1, -1))
        return ((mean - y) ** 2).mean((1, 2))

    def fit(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, terminals: np.ndarray,
            next_obs: np.ndarray) -> Dict[str, float]:
        """Fit to these transitions (normalisers refitted on them); returns the fit's statistics."""
        e = self.ensemble
        device = e.input_mean.device
        as_t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)  # noqa: E731
        o, a, no = as_t(obs), as_t(actions), as_t(next_obs)
        targets = e.targets(o, as_t(rewards), as_t(terminals), no, e.learn_reward, e.learn_terminal)
        n = len(o)
        perm = torch.as_tensor(self.rng.permutation(n), device=device)
        n_hold = min(int(n * self.holdout_ratio), self.max_holdout) if n > 1 else 0
        hold, train = perm[:n_hold], perm[n_hold:]
        e.fit_normalizers(torch.cat([o, a], -1)[train], targets[train])
        x = e.normalize_inputs(o, a)
        y = (targets - e.target_mean) / e.target_std
        x_hold, y_hold, x_train, y_train = x[hold], y[hold], x[train], y[train]
        score = (lambda: self.holdout_mse(x_hold, y_hold)) if n_hold else (lambda: self.holdout_mse(x_train, y_train))

        before = float(score().mean())
        # Every member starts unscored (as MBPO's fit): the weights of the last fit never saw the new
        # data, and this fit's held-out split is drawn anew, so their score would flatter them.
        best = torch.full((e.ensemble_size,), float("inf"), device=device)
        best_state = {k: v.clone() for k, v in e.state_dict().items()}
        epochs = steps = since = 0
        n_train, E = len(train), e.ensemble_size
        loss = torch.zeros(())
        while True:
            # Each member's own rows, drawn with replacement from the training split, in minibatches; at
            # least MIN_EPOCH_BATCHES of them, so that on little data an epoch (and the patience) still means training.
            size = max(n_train, self.batch_size * MIN_EPOCH_BATCHES)
            idx = torch.as_tensor(self.rng.integers(0, n_train, size=(E, size)), device=device)
            for start in range(0, size, self.batch_size):
                b = idx[:, start:start + self.batch_size]
                loss = self.loss(x_train[b], y_train[b])
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                steps += 1
                if self.max_grad_steps and steps >= self.max_grad_steps:
                    break
            epochs += 1
            mse = score()
            improved = ~torch.isfinite(best) | (best - mse > 0.01 * best)  # > 1% better; all after the first epoch
            if bool(improved.any()):
                for k, v in e.state_dict().items():  # keep each improved member's weights
                    if v.dim() == 3 and v.shape[0] == E:
                        best_state[k][improved] = v[improved]
                best_state.update({k: v.clone() for k, v in e.state_dict().items() if k in ("max_logvar", "min_logvar")})
                best = torch.where(improved, mse, best)
                since = 0
            else:
                since += 1
            if since >= self.patience or (self.max_epochs and epochs >= self.max_epochs) or \
                    (self.max_grad_steps and steps >= self.max_grad_steps):
                break
        best_state["elites"] = torch.argsort(best)[:e.num_elites]
        e.load_state_dict(best_state)
        self.holdout_scores = best  # each member's held-out error at its kept weights
        self.num_fits += 1
        self._last = {
            "model/train loss": float(loss.detach()), "model/holdout mse (elites)": float(best[best_state["elites"]].mean()),
            "model/holdout mse (all)": float(best.mean()), "model/holdout mse before fit (all)": before,
            "model/epochs": float(epochs), "model/grad steps": float(steps),
            "model/fits": float(self.num_fits), "model/transitions": float(n),
        }
        return dict(self._last)

    # -- the trainer's bookkeeping ---------------------------------------------------------------
    def get_diagnostics(self) -> Dict[str, float]:
        return dict(self._last)

    def losses_finite(self) -> bool:
        return all(np.isfinite(v) for v in self._last.values())

    def state_dict(self) -> Dict[str, Any]:
        return {"ensemble": self.ensemble.state_dict(), "optimizer": self.optimizer.state_dict(),
                "rng": self.rng.bit_generator.state, "num_fits": self.num_fits, "last": dict(self._last)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.ensemble.load_state_dict(state["ensemble"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.num_fits, self._last = int(state["num_fits"]), dict(state["last"])
