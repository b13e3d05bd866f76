"""Small torch helpers. The device is always an argument, never module state."""
from __future__ import annotations

import random
from typing import Any, Dict

import numpy as np
import torch


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn 'cpu' / 'cuda' / 'cuda:1' into a device, failing clearly when CUDA is absent."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device '{device}' requested but this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def rng_state() -> Dict[str, Any]:
    """The global RNG states of python, numpy and torch, for snapshots."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])


@torch.no_grad()
def soft_update(target: torch.nn.Module, source: torch.nn.Module, tau: float) -> None:
    """Polyak averaging: target <- (1 - tau) * target + tau * source, as one foreach op."""
    tgt = list(target.parameters())
    src = list(source.parameters())
    torch._foreach_lerp_(tgt, src, tau)
