"""A Dirichlet-process Gaussian mixture over latent codes, the growing prior of LEGION.

The mixture is scikit-learn's variational BayesianGaussianMixture (stick-breaking Dirichlet-process
weight prior, diagonal covariances, `truncation` components at most), refitted from time to time on
encoded latents. Components whose weight exceeds `active_threshold` are the active ones.

Warm start with a birth move. A plain warm-started variational fit never grows: components that
had no data collapse to the prior and stay there when a new task's latents arrive, because the
live components absorb them. So before each warm refit, latents that no active component explains
(squared Mahalanobis distance above the chi-square 0.999 quantile under every active component)
are clustered by a small fresh DP mixture, its components are placed in unused slots, one M-step
makes the parameters consistent with that assignment, and the warm variational fit continues from
there (bnpy's birth moves in the original LEGION play this role). With nothing unexplained the
refit is a plain warm start. Births miss clusters that separate gradually (no latent is ever an
outlier), so every refit also fits a fresh mixture on the same latents and keeps whichever of the
two has the higher evidence lower bound, as bnpy accepts a proposal only if it raises the bound.

The KL term of the VAE, for q(z|x) = N(mu, diag sigma^2):
    KL = sum_k r_k KL(q || N(m_k, diag c_k)),   r_k proportional to w_k N(mu; m_k, diag c_k)
over the active components k (weights renormalised), with responsibilities r held fixed (no
gradient) and a closed-form Gaussian KL per component.
Before the first fit the prior is N(0, I).
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from scipy.stats import chi2
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

# Fitted attributes of a diagonal BayesianGaussianMixture: all a snapshot needs to restore it exactly.
_FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_", "mean_precision_",
           "degrees_of_freedom_", "converged_", "n_iter_", "lower_bound_", "n_features_in_",
           "weight_concentration_prior_", "mean_precision_prior_", "mean_prior_", "degrees_of_freedom_prior_",
           "covariance_prior_")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor, m: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag e^logvar) || N(m, diag var)) for every pair: mu [B, d], m [K, d] -> [B, K]."""
    v = logvar.exp().unsqueeze(1)                          # [B, 1, d]
    diff2 = (mu.unsqueeze(1) - m.unsqueeze(0)).pow(2)      # [B, K, d]
    return 0.5 * (var.log().unsqueeze(0) - logvar.unsqueeze(1) + (v + diff2) / var.unsqueeze(0) - 1.0).sum(-1)


def component_purity(components: np.ndarray, tasks: np.ndarray) -> float:
    """Fraction of latents whose component's majority task is their own task (1.0: every
    component holds one task only)."""
    components, tasks = np.asarray(components), np.asarray(tasks)
    if len(components) == 0:
        return float("nan")
    hits = sum(np.bincount(tasks[components == c]).max() for c in np.unique(components))
    return float(hits / len(components))


def standard_normal_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag e^logvar) || N(0, I)), [B]."""
    return gaussian_kl(mu, logvar, torch.zeros_like(mu[:1]), torch.ones_like(mu[:1]))[:, 0]


class DPMMPrior:
    def __init__(
        self,
        latent_dim: int,
        truncation: int = 20,
        concentration: float = 5.0,
        active_threshold: float = 0.02,
        max_iter: int = 200,
        min_birth_points: int = 10,
        seed: int = 0,
    ):
        self.latent_dim, self.truncation, self.concentration = latent_dim, truncation, concentration
        self.active_threshold, self.max_iter, self.min_birth_points = active_threshold, max_iter, min_birth_points
        self.seed = seed
        self.num_fits = 0
        self.births = 0
        self.fresh_wins = 0  # refits where a fresh fit beat the warm one
        self.mixture = self._new_mixture(truncation, seed)
        self._torch_params: Dict[Any, Tuple[torch.Tensor, ...]] = {}  # per (dtype, device), until the next fit

    def _new_mixture(self, k: int, seed: int) -> BayesianGaussianMixture:
        return BayesianGaussianMixture(
            n_components=k, covariance_type="diag", weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=self.concentration, max_iter=self.max_iter, init_params="kmeans",
            warm_start=True, random_state=seed,
        )

    # -- fitting ---------------------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return hasattr(self.mixture, "converged_")

    def active(self) -> np.ndarray:
        """Boolean mask of the active components (weight above the threshold)."""
        if not self.fitted:
            return np.zeros(self.truncation, dtype=bool)
        return self.mixture.weights_ > self.active_threshold

    @property
    def num_active(self) -> int:
        return int(self.active().sum())

    def fit(self, z: np.ndarray) -> int:
        """(Re)fit on latents z [N, d]; returns the number of active components."""
        z = np.asarray(z, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            refit = self.fitted
            if refit:
                self._birth(z)
            self.mixture.fit(z)
            if refit:
                self._keep_fresh_fit_if_better(z)
        self._torch_params = {}
        self.num_fits += 1
        return self.num_active

    def _keep_fresh_fit_if_better(self, z: np.ndarray) -> None:
        """Tasks whose latents drift apart slowly stay inside one stretched component: no latent
        is ever an outlier, so no birth fires, and the warm fit keeps that local optimum. A fresh
        fit on the same latents competes; the higher evidence lower bound (same model and data,
        so comparable) is kept."""
        fresh = self._new_mixture(self.truncation, self.seed + 2000 + self.num_fits)
        fresh.fit(z)
        if fresh.lower_bound_ > self.mixture.lower_bound_:
            self.mixture = fresh
            self.fresh_wins += 1

    def _birth(self, z: np.ndarray) -> None:
        g, live = self.mixture, self.active()
        free = np.flatnonzero(~live)
        maha = ((z[:, None, :] - g.means_[live][None]) ** 2 / g.covariances_[live][None]).sum(-1)
        unexplained = np.flatnonzero((maha > chi2.ppf(0.999, z.shape[1])).all(axis=1))
        if len(unexplained) < self.min_birth_points or len(free) == 0:
            return
        # At most as many candidate components as free slots, and as unexplained latents.
        fresh = self._new_mixture(min(len(free), len(unexplained)), self.seed + 1000 + self.num_fits)
        fresh.fit(z[unexplained])
        born = np.flatnonzero(fresh.weights_ > self.active_threshold)
        if len(born) == 0:
            return
        resp = g.predict_proba(z)
        resp[unexplained] = 0.0
        label = fresh.predict_proba(z[unexplained])[:, born].argmax(1)
        resp[unexplained, free[label]] = 1.0
        g._m_step(z, np.log(np.clip(resp, 1e-12, None)))  # parameters consistent with the births
        self.births += len(born)

    def _prior_components(self) -> Tuple[np.ndarray, ...]:
        """Slot indices, log weights (renormalised), means and variances of the active components:
        the prior is their mixture only. An unused truncation slot sits near the data mean with a
        variance of about the data's divided by the prior's degrees of freedom, so, narrower than
        the live components, it would win the responsibilities and its KL would squeeze every
        latent onto one point."""
        g, live = self.mixture, self.active()
        if not live.any():
            live = g.weights_ == g.weights_.max()
        w = g.weights_[live]
        return np.flatnonzero(live), np.log(w / w.sum()), g.means_[live], g.covariances_[live]

    def _component_tensors(self, dtype: torch.dtype, device: torch.device) -> Tuple[torch.Tensor, ...]:
        """`_prior_components` (without the slot indices) as tensors, made once per fit."""
        key = (dtype, device)
        if key not in self._torch_params:
            self._torch_params[key] = tuple(torch.as_tensor(a, dtype=dtype, device=device)
                                            for a in self._prior_components()[1:])
        return self._torch_params[key]

    def assign(self, z: np.ndarray) -> np.ndarray:
        """Most responsible active component of each latent (its slot index), by the same
        responsibilities as the KL term."""
        slots, *params = self._prior_components()
        with torch.no_grad():
            resp = self._responsibilities(*(torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (z, *params)))
        return slots[resp.argmax(1).numpy()]

    @staticmethod
    def _responsibilities(mu: torch.Tensor, log_w: torch.Tensor, m: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
        """r_k proportional to w_k N(mu; m_k, diag var_k), [B, K]."""
        log_lik = -0.5 * (((mu.unsqueeze(1) - m) ** 2) / var + var.log() + np.log(2 * np.pi)).sum(-1)
        return torch.softmax(log_w + log_lik, dim=1)

    # -- the KL term -------------------------------------------------------------------------------
    def kl(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Per-sample KL(q(z|x) || prior), [B]. N(0, I) before the first fit."""
        if not self.fitted:
            return standard_normal_kl(mu, logvar)
        log_w, m, var = self._component_tensors(mu.dtype, mu.device)
        with torch.no_grad():
            resp = self._responsibilities(mu.detach(), log_w, m, var)
        return (resp * gaussian_kl(mu, logvar, m, var)).sum(1)

    # -- snapshots -----------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        fitted: Optional[Dict[str, Any]] = None
        if self.fitted:
            fitted = {k: getattr(self.mixture, k) for k in _FITTED}
            fitted["weight_concentration_"] = tuple(np.array(a) for a in self.mixture.weight_concentration_)
            fitted = {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in fitted.items()}
        return {"num_fits": self.num_fits, "births": self.births, "fresh_wins": self.fresh_wins, "fitted": fitted}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.num_fits, self.births = int(state["num_fits"]), int(state["births"])
        self.fresh_wins = int(state.get("fresh_wins", 0))
        self.mixture = self._new_mixture(self.truncation, self.seed)
        self._torch_params = {}
        if state["fitted"] is not None:
            for k, v in state["fitted"].items():
                setattr(self.mixture, k, v)


class StandardNormalPrior:
    """The `prior gauss` ablation: q(z|x) is pulled to N(0, I) throughout; nothing is fitted."""

    num_fits = 0
    fitted = False
    num_active = 1

    def fit(self, z: np.ndarray) -> int:
        return 1

    def assign(self, z: np.ndarray) -> np.ndarray:
        return np.zeros(len(z), dtype=np.int64)

    def kl(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return standard_normal_kl(mu, logvar)

    def state_dict(self) -> Dict[str, Any]:
        return {}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        pass
