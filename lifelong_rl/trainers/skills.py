"""Skills by mutual information: DADS (Sharma et al. 2019, "Dynamics-Aware Unsupervised Discovery of
Skills") and LiSP's skill learning (Lu et al. 2021, "Reset-Free Lifelong Learning with Skill-Space
Planning", Alg. 2).

Both learn a skill policy pi(a | s, z), z in [-1, 1]^d, by SAC on [s, z], rewarded by a skill-dynamics
model q(ds | s, z), ds = s' - s, for transitions that another skill would not explain (DADS eq. 6;
LiSP eq. 1), with L alternatives z_i ~ U(-1, 1)^d:

    r~ = log q(ds | s, z) - log( (q(ds | s, z) + sum_i q(ds | s, z_i)) / (L + 1) )
       = log(L + 1) - log(1 + sum_i exp(clip(log q(ds | s, z_i) - log q(ds | s, z), -50, 50)))

The true skill is in the denominator, as in Lu et al.'s `empowerment_functions.py` (the papers'
equations average over the alternatives only). Then (`intrinsic_reward`): NaN -> the lower bound,
clipped to `reward_bounds`, times `reward_scale`, clipped again.

q (`SkillDynamics`) is N(mu(s, z), I) over the batch-normalised ds, mu an MLP of the batch-normalised
[s, z] (Lu et al.'s `skill_dynamics.py`: fixed unit variance, Adam with betas (0, 0.9)):

    J_q = -E[log q(BN(ds) | s, z)]

DADS (`DADSTrainer`): the agent's recent steps (a small replay buffer, each step with the skill held
through its episode) are the data; each update is a SAC step of pi on r~ computed by the current q,
and every `discriminator_every`-th update first a step of q.

LiSP (`LiSPTrainer`): each update is one skill iteration on model data (Alg. 2):
  1. M start states s (the batch from the real buffer), z ~ p(z | s) (the skill-practice
     distribution), a ~ pi(. | s, z);
  2. one step of the learned dynamics ensemble (a random elite per row) to s', and the ensemble's
     disagreement at (s, a): mean over elite pairs i != j of the mean squared gap of their mean
     predictions in the ensemble's normalised target units (each dimension over the data's std;
     lifelong_rl.models.dynamics.pair_disagreement). Lu et al.'s code samples one pair and, as far as
     we read it, works in unnormalised units, so alpha_thres = 0.1 is not the same threshold there.
     Their 20% of skills replaced by uniform ones (epsilon-greedy) is not implemented here.
  3. (s, z, a, s', disagreement) into the generated skill buffer (the last `skill_buffer_size`);
  4. `discriminator_updates` steps of q on the fresh M transitions;
  5. `policy_updates` SAC steps of pi and `practice_updates` SAC steps of p(z | s) (its action is
     z, its next state s', a discounted MDP as in Lu et al.'s code) on batches of the skill buffer,
     with r~ by the current q and, where the disagreement exceeds alpha_thres, r~ = -kappa
     (LiSP eq. 3; kappa = -reward_bounds[0]).

Files that define the methods' behaviour: this file, lifelong_rl/trainers/sac.py (the SAC steps),
lifelong_rl/policies/skill_policy.py (acting: a held skill, planning over skills),
lifelong_rl/models/dynamics.py (LiSP's ensemble).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from lifelong_rl.data_management.fields import Field
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.models.dynamics import DynamicsModel
from lifelong_rl.models.networks import Mlp
from lifelong_rl.trainers.sac import SACTrainer


class SkillDynamics(nn.Module):
    """q(ds | s, z) = N(mu(BN([s, z])), I) over BN(ds): batch norm of the inputs (affine) and of the
    target (not affine), as Lu et al.'s skill dynamics."""

    def __init__(self, obs_dim: int, latent_dim: int, hidden_sizes: Sequence[int] = (512, 512)):
        super().__init__()
        self.obs_dim, self.latent_dim = obs_dim, latent_dim
        self.input_norm = nn.BatchNorm1d(obs_dim + latent_dim)
        self.target_norm = nn.BatchNorm1d(obs_dim, affine=False)
        self.net = Mlp(obs_dim + latent_dim, obs_dim, hidden_sizes)

    def log_prob(self, obs: torch.Tensor, skills: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """log q(s' - s | s, z), [B]. In train mode the batch's statistics (and updates of the
        running ones); in eval mode the running statistics."""
        mean = self.net(self.input_norm(torch.cat([obs, skills], -1)))
        target = self.target_norm(next_obs - obs)
        return -0.5 * ((target - mean) ** 2).sum(-1) - 0.5 * self.obs_dim * math.log(2 * math.pi)


def contrastive_reward(q: SkillDynamics, obs: torch.Tensor, skills: torch.Tensor, next_obs: torch.Tensor,
                       num_prior_samples: int) -> torch.Tensor:
    """r~ before post-processing, [B]: log(L + 1) - log(1 + sum_i exp(clip(log q_i - log q, +-50)))
    with L alternatives z_i ~ U(-1, 1)^d per row (torch's global generator). q in eval mode."""
    was_training = q.training
    q.eval()
    with torch.no_grad():
        b, d, n = len(obs), skills.shape[-1], num_prior_samples
        log_q = q.log_prob(obs, skills, next_obs)
        alternatives = torch.rand(n * b, d, device=obs.device) * 2 - 1
        log_q_alt = q.log_prob(obs.repeat(n, 1), alternatives, next_obs.repeat(n, 1)).view(n, b)
        ratios = torch.exp(torch.clamp(log_q_alt - log_q, -50.0, 50.0))
        reward = math.log(n + 1) - torch.log1p(ratios.sum(0))
    q.train(was_training)
    return reward


def intrinsic_reward(raw: torch.Tensor, bounds: Tuple[float, float], scale: float) -> torch.Tensor:
    """NaN -> the lower bound; clip to `bounds`; times `scale`; clip again (Lu et al.'s post-processing)."""
    lo, hi = bounds
    r = torch.nan_to_num(raw, nan=lo).clamp(lo, hi)
    return (r * scale).clamp(lo, hi)


class SkillDynamicsTrainer:
    """The steps of q: J_q = -E[log q(BN(ds) | s, z)] with Adam (betas (0, 0.9))."""

    def __init__(self, q: SkillDynamics, lr: float = 3e-4):
        self.q = q
        self.optimizer = torch.optim.Adam(q.parameters(), lr=lr, betas=(0.0, 0.9))
        self.last_loss = torch.zeros(())

    def step(self, obs: torch.Tensor, skills: torch.Tensor, next_obs: torch.Tensor) -> None:
        self.q.train()
        loss = -self.q.log_prob(obs, skills, next_obs).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.last_loss = loss.detach()

    def state_dict(self) -> Dict[str, Any]:
        return {"q": self.q.state_dict(), "optimizer": self.optimizer.state_dict(), "last_loss": self.last_loss}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.q.load_state_dict(state["q"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.last_loss = state["last_loss"]


def skill_batch(obs: torch.Tensor, skills: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
                next_obs: torch.Tensor, terminals: torch.Tensor) -> Dict[str, torch.Tensor]:
    """A SAC batch of the skill MDP: states [s, z], next states [s', z] (the skill is held)."""
    return {"observations": torch.cat([obs, skills], -1), "actions": actions, "rewards": rewards.view(-1, 1),
            "next_observations": torch.cat([next_obs, skills], -1), "terminals": terminals.view(-1, 1)}


class _SkillTrainerBase:
    """What DADS and LiSP share: the skill policy's SAC, q and its trainer, the reward settings,
    the last batch's intrinsic reward for the diagnostics."""

    def __init__(self, skill_trainer: SACTrainer, q: SkillDynamics, latent_dim: int, discriminator_lr: float,
                 num_prior_samples: int, reward_bounds: Sequence[float], reward_scale: float):
        self.skill_trainer, self.latent_dim = skill_trainer, latent_dim
        self.discriminator = SkillDynamicsTrainer(q, discriminator_lr)
        self.num_prior_samples, self.reward_scale = num_prior_samples, reward_scale
        self.reward_bounds = (float(reward_bounds[0]), float(reward_bounds[1]))
        self._last_reward = torch.zeros(1)

    @property
    def policy(self):
        return self.skill_trainer.policy

    @property
    def qfs(self):
        return self.skill_trainer.qfs

    def reward(self, obs, skills, next_obs) -> torch.Tensor:
        raw = contrastive_reward(self.discriminator.q, obs, skills, next_obs, self.num_prior_samples)
        return intrinsic_reward(raw, self.reward_bounds, self.reward_scale)

    def compute_losses(self, batch: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The skill policy's SAC losses on a batch of the skill MDP (no step)."""
        return self.skill_trainer.compute_losses(batch)

    def _diagnostics(self) -> Dict[str, float]:
        r = self._last_reward
        return {**self.skill_trainer.get_diagnostics(), "Skill Dynamics Loss": float(self.discriminator.last_loss),
                "Intrinsic Reward Mean": float(r.mean()), "Intrinsic Reward Std": float(r.std()) if len(r) > 1 else 0.0}

    def losses_finite(self) -> bool:
        return self.skill_trainer.losses_finite() and bool(torch.isfinite(self.discriminator.last_loss))

    def reset_optimizers(self) -> None:
        self.skill_trainer.reset_optimizers()
        self.discriminator.optimizer = torch.optim.Adam(self.discriminator.q.parameters(),
                                                        **{k: self.discriminator.optimizer.defaults[k] for k in ("lr", "betas")})

    def reset_entropy(self) -> None:
        self.skill_trainer.reset_entropy()

    def _state(self) -> Dict[str, Any]:
        return {"skill": self.skill_trainer.state_dict(), "discriminator": self.discriminator.state_dict(),
                "last_reward": self._last_reward}

    def _load(self, state: Dict[str, Any]) -> None:
        self.skill_trainer.load_state_dict(state["skill"])
        self.discriminator.load_state_dict(state["discriminator"])
        self._last_reward = state["last_reward"]


class DADSTrainer(_SkillTrainerBase):
    """DADS on the agent's own recent steps (batches of a small replay buffer with a `skills` field)."""

    def __init__(self, skill_trainer: SACTrainer, q: SkillDynamics, latent_dim: int, discriminator_lr: float = 3e-4,
                 num_prior_samples: int = 512, reward_bounds: Sequence[float] = (-30.0, 30.0), reward_scale: float = 5.0,
                 discriminator_every: int = 4):
        super().__init__(skill_trainer, q, latent_dim, discriminator_lr, num_prior_samples, reward_bounds, reward_scale)
        self.discriminator_every, self._calls = discriminator_every, 0

    def train_from_torch(self, batch: Mapping[str, torch.Tensor]) -> None:
        obs, skills, next_obs = batch["observations"], batch["skills"], batch["next_observations"]
        if self._calls % self.discriminator_every == 0:
            self.discriminator.step(obs, skills, next_obs)
        self._calls += 1
        self._last_reward = self.reward(obs, skills, next_obs)
        self.skill_trainer.train_from_torch(skill_batch(obs, skills, batch["actions"], self._last_reward, next_obs,
                                                        batch["terminals"]))

    def get_diagnostics(self) -> Dict[str, float]:
        return self._diagnostics()

    def state_dict(self) -> Dict[str, Any]:
        return {**self._state(), "calls": self._calls}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self._load(state)
        self._calls = int(state["calls"])


class LiSPTrainer(_SkillTrainerBase):
    """LiSP's skill iteration on 1-step rollouts of the learned model, from the batch's states."""

    def __init__(self, skill_trainer: SACTrainer, practice_trainer: SACTrainer, q: SkillDynamics, model: DynamicsModel,
                 latent_dim: int, skill_buffer_size: int = 5000, discriminator_updates: int = 4, policy_updates: int = 8,
                 practice_updates: int = 4, batch_size: int = 256, discriminator_lr: float = 3e-4,
                 num_prior_samples: int = 32, reward_bounds: Sequence[float] = (-30.0, 30.0), reward_scale: float = 10.0,
                 disagreement_threshold: float = 0.1, seed: Optional[int] = None):
        super().__init__(skill_trainer, q, latent_dim, discriminator_lr, num_prior_samples, reward_bounds, reward_scale)
        self.practice_trainer, self.model = practice_trainer, model
        self.discriminator_updates, self.policy_updates, self.practice_updates = discriminator_updates, policy_updates, practice_updates
        self.batch_size, self.disagreement_threshold = batch_size, disagreement_threshold
        obs_dim, action_dim = q.obs_dim, skill_trainer.policy.action_dim
        self.skill_buffer = ReplayBuffer(skill_buffer_size, {
            "observations": Field((obs_dim,)), "skills": Field((latent_dim,)), "actions": Field((action_dim,)),
            "next_observations": Field((obs_dim,)), "disagreements": Field(())}, seed=seed)
        self._last_disagreement = torch.zeros(1)

    @property
    def practice(self):
        """p(z | s): the skill-practice distribution (a tanh-Gaussian policy over skills)."""
        return self.practice_trainer.policy

    @torch.no_grad()
    def generate(self, obs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Steps 1-3: (s, z, a, s', disagreement) of one model step from each state, into the skill buffer."""
        skills = self.practice(obs).rsample_with_pre_tanh()[0]
        actions = self.policy(torch.cat([obs, skills], -1)).rsample_with_pre_tanh()[0]
        next_obs, _, _, disagreement = self.model.step_with_disagreement(obs, actions, self.model.random_members(len(obs)))
        ok = torch.isfinite(next_obs).all(-1) & torch.isfinite(disagreement)  # a diverged model's rows are dropped
        data = {"observations": obs, "skills": skills, "actions": actions, "next_observations": next_obs,
                "disagreements": disagreement}
        data = {k: v[ok] for k, v in data.items()}
        self.skill_buffer.add_batch(**{k: v.cpu().numpy() for k, v in data.items()})
        self._last_disagreement = data["disagreements"]
        return data

    def penalised_reward(self, obs, skills, next_obs, disagreement) -> torch.Tensor:
        """r~, and -kappa where the model's disagreement exceeds alpha_thres (LiSP eq. 3)."""
        r = self.reward(obs, skills, next_obs)
        return torch.where(disagreement > self.disagreement_threshold, torch.full_like(r, self.reward_bounds[0]), r)

    def train_from_torch(self, batch: Mapping[str, torch.Tensor]) -> None:
        fresh = self.generate(batch["observations"])
        n = len(fresh["observations"])
        gen = self.skill_buffer.rng
        for _ in range(self.discriminator_updates):
            i = torch.from_numpy(gen.integers(0, n, min(self.batch_size, n)))
            self.discriminator.step(fresh["observations"][i], fresh["skills"][i], fresh["next_observations"][i])
        device = batch["observations"].device
        for k in range(max(self.policy_updates, self.practice_updates)):
            b = {key: torch.from_numpy(v).to(device) for key, v in self.skill_buffer.random_batch(self.batch_size).items()}
            reward = self.penalised_reward(b["observations"], b["skills"], b["next_observations"], b["disagreements"])
            no_terminal = torch.zeros_like(reward)
            if k < self.policy_updates:
                self.skill_trainer.train_from_torch(skill_batch(b["observations"], b["skills"], b["actions"], reward,
                                                                b["next_observations"], no_terminal))
                self._last_reward = reward
            if k < self.practice_updates:
                self.practice_trainer.train_from_torch({
                    "observations": b["observations"], "actions": b["skills"], "rewards": reward.view(-1, 1),
                    "next_observations": b["next_observations"], "terminals": no_terminal.view(-1, 1)})

    def get_diagnostics(self) -> Dict[str, float]:
        d = self._last_disagreement
        return {**self._diagnostics(),
                **{f"Practice {k}": v for k, v in self.practice_trainer.get_diagnostics().items()},
                "Model Disagreement Mean": float(d.mean()),
                "Penalised Share": float((d > self.disagreement_threshold).float().mean()),
                "Skill Buffer Size": len(self.skill_buffer)}

    def losses_finite(self) -> bool:
        return super().losses_finite() and self.practice_trainer.losses_finite()

    def reset_optimizers(self) -> None:
        super().reset_optimizers()
        self.practice_trainer.reset_optimizers()

    def reset_entropy(self) -> None:
        super().reset_entropy()
        self.practice_trainer.reset_entropy()

    def state_dict(self) -> Dict[str, Any]:
        return {**self._state(), "practice": self.practice_trainer.state_dict(),
                "skill_buffer": self.skill_buffer.state_dict(), "last_disagreement": self._last_disagreement}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self._load(state)
        self.practice_trainer.load_state_dict(state["practice"])
        self.skill_buffer.load_state_dict(state["skill_buffer"])
        self._last_disagreement = state["last_disagreement"]

