"""Buffers declare their fields: a name, a per-sample shape and a dtype. A method that stores more
(log-probs, values, skills, goals, task ids) declares more fields; no new buffer class is needed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Tuple

import numpy as np


@dataclass(frozen=True)
class Field:
    shape: Tuple[int, ...]      # per-sample shape, () for scalars
    dtype: Any = np.float32


def transition_fields(obs_dim: int, action_dim: int, **extra: Field) -> Dict[str, Field]:
    """The fields of an env transition (s, a, r, s', terminal, timeout, task id), plus `extra`."""
    return {
        "observations": Field((obs_dim,)),
        "actions": Field((action_dim,)),
        "rewards": Field((1,)),
        "next_observations": Field((obs_dim,)),
        "terminals": Field((1,)),
        "timeouts": Field((1,)),
        "task_ids": Field((), np.int64),
        **extra,
    }
