"""MLPs and parallel ensembles (all members computed in one batched matmul)."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import nn


ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu", "swish")


def _activation(name: str) -> nn.Module:
    """In place where the op allows it: the preceding linear layer's backward never needs its
    output, so overwriting it saves an allocation per layer (measured ~5% of a SAC update)."""
    # leaky_relu's slope 0.2 is TensorFlow's default, which Continual World's "lrelu" networks use.
    acts = {"relu": lambda: nn.ReLU(inplace=True), "tanh": nn.Tanh, "swish": lambda: nn.SiLU(inplace=True),
            "elu": lambda: nn.ELU(inplace=True), "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True)}
    if name not in acts:
        raise ValueError(f"unknown activation '{name}'; valid: {sorted(acts)}")
    return acts[name]()


class Mlp(nn.Module):
    """Fully connected network. `layer_norm`: the first hidden
    layer is linear -> LayerNorm -> tanh (Continual World's trunk), the others use `activation`."""

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_sizes: Sequence[int],
        activation: str = "relu",
        last_layer_init_w: Optional[float] = None,
        layer_norm: bool = False,
    ):
        super().__init__()
        self.input_size, self.output_size = input_size, output_size
        layers, last = [], input_size
        for i, h in enumerate(hidden_sizes):
            if i == 0 and layer_norm:
                layers += [nn.Linear(last, h), nn.LayerNorm(h), nn.Tanh()]
            else:
                layers += [nn.Linear(last, h), _activation(activation)]
            last = h
        self.hidden = nn.Sequential(*layers)
        self.last = nn.Linear(last, output_size)
        if last_layer_init_w is not None:
            nn.init.uniform_(self.last.weight, -last_layer_init_w, last_layer_init_w)
            nn.init.uniform_(self.last.bias, -last_layer_init_w, last_layer_init_w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.hidden(x))


class ParallelizedLayer(nn.Module):
    """E independent linear layers applied as one batched matmul: [E, B, in] -> [E, B, out]."""

    def __init__(self, ensemble_size: int, input_dim: int, output_dim: int):
        super().__init__()
        self.ensemble_size, self.input_dim, self.output_dim = ensemble_size, input_dim, output_dim
        self.weight = nn.Parameter(torch.empty(ensemble_size, input_dim, output_dim))
        self.bias = nn.Parameter(torch.empty(ensemble_size, 1, output_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Same distribution as nn.Linear's default, member by member.
        bound = 1.0 / math.sqrt(self.input_dim)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, member: Optional[int] = None) -> torch.Tensor:
        """[E, B, in] -> [E, B, out]; with `member`, that member alone: [B, in] -> [B, out]."""
        if member is None:
            return torch.baddbmm(self.bias, x, self.weight)
        return torch.addmm(self.bias[member], x, self.weight[member])


class ParallelizedLayerNorm(nn.Module):
    """LayerNorm over the last dim of [E, B, D] with a gain and bias per ensemble member."""

    def __init__(self, ensemble_size: int, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(ensemble_size, 1, dim))
        self.bias = nn.Parameter(torch.zeros(ensemble_size, 1, dim))

    def forward(self, x: torch.Tensor, member: Optional[int] = None) -> torch.Tensor:
        weight, bias = (self.weight, self.bias) if member is None else (self.weight[member], self.bias[member])
        return torch.nn.functional.layer_norm(x, x.shape[-1:], eps=self.eps) * weight + bias


class ParallelizedEnsemble(nn.Module):
    """An ensemble of MLPs. Input [B, in] (shared) or [E, B, in]; output [E, B, out]. `layer_norm`
    as in Mlp: the first hidden layer is linear -> LayerNorm (per member) -> tanh."""

    def __init__(
        self,
        ensemble_size: int,
        input_size: int,
        output_size: int,
        hidden_sizes: Sequence[int],
        activation: str = "relu",
        layer_norm: bool = False,
    ):
        super().__init__()
        self.ensemble_size, self.input_size, self.output_size = ensemble_size, input_size, output_size
        dims = [input_size, *hidden_sizes, output_size]
        self.layers = nn.ModuleList(
            ParallelizedLayer(ensemble_size, i, o) for i, o in zip(dims[:-1], dims[1:])
        )
        self.act = _activation(activation)
        self.first_norm = ParallelizedLayerNorm(ensemble_size, hidden_sizes[0]) if layer_norm and hidden_sizes else None

    def forward(self, x: torch.Tensor, member: Optional[int] = None) -> torch.Tensor:
        """All members: [B, in] (shared) or [E, B, in] -> [E, B, out]. One `member`: [B, in] -> [B, out]."""
        if member is None and x.dim() == 2:
            x = x.unsqueeze(0).expand(self.ensemble_size, -1, -1)
        for i, layer in enumerate(self.layers[:-1]):
            x = layer(x, member)
            x = torch.tanh(self.first_norm(x, member)) if i == 0 and self.first_norm is not None else self.act(x)
        return self.layers[-1](x, member)
