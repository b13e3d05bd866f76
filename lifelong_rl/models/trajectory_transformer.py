"""A trajectory transformer whose CLS output embeds the task a window of a trajectory comes from
(the collective learning framework's encoder; its losses are in lifelong_rl/trainers/collective.py).

A window ending at state s_t holds the last W transitions: the states s_{t-W} .. s_t, the actions
a_{t-W} .. a_{t-1} and the rewards r_{t-W} .. r_{t-1}. Windows are right-aligned: the current state
is always in the last slot, and near an episode's start the slots before s_0 are padding (masked
out of attention). The token sequence is

    [s_0, a_0, r_0, s_1, a_1, r_1, ..., s_W, CLS]        (3 W + 2 tokens)

each modality through its own linear map and LayerNorm, slot k of every modality plus the learned
position k, and a learned CLS token (no position) at the end whose output, through a linear head,
is the task embedding. Heads on the state, action and reward tokens reconstruct masked inputs.
Inputs are normalised by statistics fitted on the training data (buffers, saved with the weights).
"""
from __future__ import annotations

from typing import Any, Dict, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn


class WindowBatch(NamedTuple):
    """Windows as arrays: states [B, W+1, obs], actions [B, W, act], rewards [B, W, 1], valid [B, W+1]
    (False for the padding slots before an episode's first state)."""
    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    valid: np.ndarray


def window_at(states: np.ndarray, actions: np.ndarray, rewards: np.ndarray, t: int, window: int) -> WindowBatch:
    """The window ending at state index `t` of one episode (states [T+1, obs], actions [T, act],
    rewards [T]), right-aligned and zero-padded; arrays without the batch axis."""
    lo = max(0, t - window)
    n = t - lo  # transitions in the window
    s = np.zeros((window + 1, states.shape[1]), np.float32)
    a = np.zeros((window, actions.shape[1]), np.float32)
    r = np.zeros((window, 1), np.float32)
    valid = np.zeros(window + 1, bool)
    s[window - n:] = states[lo:t + 1]
    if n:
        a[window - n:] = actions[lo:t]
        r[window - n:, 0] = rewards[lo:t]
    valid[window - n:] = True
    return WindowBatch(s, a, r, valid)


class Outputs(NamedTuple):
    states: torch.Tensor    # [B, W+1, obs] reconstructions (normalised)
    actions: torch.Tensor   # [B, W, act]
    rewards: torch.Tensor   # [B, W, 1]
    embedding: torch.Tensor  # [B, E] the CLS head's output


class TrajectoryTransformer(nn.Module):
    def __init__(self, obs_dim: int, action_dim: int, window: int = 19, d_model: int = 32, n_heads: int = 8,
                 n_layers: int = 3, ffn_dim: int = 128, embedding_dim: int = 6, dropout: float = 0.1):
        super().__init__()
        self.config = dict(obs_dim=obs_dim, action_dim=action_dim, window=window, d_model=d_model, n_heads=n_heads,
                           n_layers=n_layers, ffn_dim=ffn_dim, embedding_dim=embedding_dim, dropout=dropout)
        self.window, self.embedding_dim = window, embedding_dim
        self.embed_state = nn.Sequential(nn.Linear(obs_dim, d_model), nn.LayerNorm(d_model))
        self.embed_action = nn.Sequential(nn.Linear(action_dim, d_model), nn.LayerNorm(d_model))
        self.embed_reward = nn.Sequential(nn.Linear(1, d_model), nn.LayerNorm(d_model))
        self.position = nn.Parameter(torch.zeros(window + 1, d_model))
        nn.init.normal_(self.position, std=0.02)
        self.cls = nn.Parameter(torch.full((d_model,), -2.0))  # the original's initial value
        layer = nn.TransformerEncoderLayer(d_model, n_heads, ffn_dim, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.state_head = nn.Linear(d_model, obs_dim)
        self.action_head = nn.Linear(d_model, action_dim)
        self.reward_head = nn.Linear(d_model, 1)
        self.cls_head = nn.Linear(d_model, embedding_dim)
        for name, dim in (("state", obs_dim), ("action", action_dim), ("reward", 1)):
            self.register_buffer(f"{name}_mean", torch.zeros(dim))
            self.register_buffer(f"{name}_std", torch.ones(dim))

    # -- normalisation -----------------------------------------------------------------------------
    def fit_normalizer(self, states: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> None:
        """Per-dimension mean and std of the training data (std floored at 1e-3)."""
        for name, x in (("state", states), ("action", actions), ("reward", np.reshape(rewards, (-1, 1)))):
            x = torch.as_tensor(np.asarray(x, np.float64))
            getattr(self, f"{name}_mean").copy_(x.mean(0))
            getattr(self, f"{name}_std").copy_(x.std(0).clamp_min(1e-3))

    def normalize(self, states: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor):
        return ((states - self.state_mean) / self.state_std, (actions - self.action_mean) / self.action_std,
                (rewards - self.reward_mean) / self.reward_std)

    # -- the network -------------------------------------------------------------------------------
    def forward(self, states: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor, valid: torch.Tensor) -> Outputs:
        """Normalised (possibly masked) windows -> reconstructions and the task embedding."""
        B, W = actions.shape[0], self.window
        pos = self.position
        s = self.embed_state(states) + pos                 # [B, W+1, d]
        a = self.embed_action(actions) + pos[:W]           # [B, W, d]
        r = self.embed_reward(rewards) + pos[:W]
        steps = torch.stack([s[:, :W], a, r], dim=2).reshape(B, 3 * W, -1)  # s_0 a_0 r_0 s_1 ...
        tokens = torch.cat([steps, s[:, W:], self.cls.expand(B, 1, -1)], dim=1)
        step_pad = (~valid[:, :W]).unsqueeze(-1).expand(B, W, 3).reshape(B, 3 * W)
        pad = torch.cat([step_pad, ~valid[:, W:], torch.zeros(B, 1, dtype=torch.bool, device=valid.device)], dim=1)
        h = self.encoder(tokens, src_key_padding_mask=pad)
        hs = torch.cat([h[:, 0:3 * W:3], h[:, 3 * W:3 * W + 1]], dim=1)
        return Outputs(self.state_head(hs), self.action_head(h[:, 1:3 * W:3]), self.reward_head(h[:, 2:3 * W:3]),
                       self.cls_head(h[:, -1]))

    @torch.no_grad()
    def embed(self, windows: WindowBatch, batch_size: int = 4096) -> np.ndarray:
        """Task embeddings [B, E] of raw windows (eval mode, no dropout), in chunks."""
        was_training, fastpath = self.training, torch.backends.mha.get_fastpath_enabled()
        self.eval()
        # torch's inference fast path masks padding with a softmax kernel about 2x slower on a CPU
        # than the scaled-dot-product attention of the training path.
        torch.backends.mha.set_fastpath_enabled(False)
        device = self.cls.device
        out = []
        try:
            for i in range(0, len(windows.states), batch_size):
                part = [torch.as_tensor(x[i:i + batch_size], device=device) for x in windows]
                s, a, r = self.normalize(*part[:3])
                out.append(self(s, a, r, part[3]).embedding.cpu().numpy())
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
            self.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, self.embedding_dim), np.float32)

    # -- files -------------------------------------------------------------------------------------
    def export(self) -> Dict[str, Any]:
        return {"config": dict(self.config), "state_dict": self.state_dict()}

    @classmethod
    def from_export(cls, data: Dict[str, Any]) -> "TrajectoryTransformer":
        model = cls(**data["config"])
        model.load_state_dict(data["state_dict"])
        return model.eval()


def stack_windows(windows: Sequence[WindowBatch]) -> WindowBatch:
    return WindowBatch(*(np.stack(x) for x in zip(*windows)))
