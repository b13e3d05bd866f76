"""Continual-learning methods: what each keeps across a task switch and how it regularises.

| method          | buffer across tasks            | regulariser              |
| finetune        | reset at each task             | none                     |
| perfect_memory  | kept, never reset (as LEGION)  | none                     |
| reservoir       | reservoir sample of fixed size | none                     |
| multitask       | one buffer, all tasks at once  | none (the upper reference)|
| expand          | kept; phase k trains tasks 0..k| none                     |
| l2              | reset at each task             | L2 to the last task's params |
| ewc             | reset at each task             | Fisher-weighted L2 (EWC) |

Default coefficients as Continual World ran them for its paper (Wolczyk et al. 2021; the CW20
commands in their examples/paper_cl_experiments.sh): L2 cl_reg_coef 1e5, EWC 1e4.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

from lifelong_rl.variants import ConfigError


@dataclass(frozen=True)
class CLMethod:
    name: str
    reset_buffer: bool
    reservoir: bool = False
    multitask: bool = False
    expand: bool = False
    regularizer: Optional[str] = None  # "l2" or "ewc"
    default_coef: float = 0.0


CL_METHODS: Dict[str, CLMethod] = {
    "finetune": CLMethod("finetune", reset_buffer=True),
    "perfect_memory": CLMethod("perfect_memory", reset_buffer=False),
    "reservoir": CLMethod("reservoir", reset_buffer=False, reservoir=True),
    "multitask": CLMethod("multitask", reset_buffer=False, multitask=True),
    "expand": CLMethod("expand", reset_buffer=False, expand=True),
    "l2": CLMethod("l2", reset_buffer=True, regularizer="l2", default_coef=1e5),
    "ewc": CLMethod("ewc", reset_buffer=True, regularizer="ewc", default_coef=1e4),
}


def get_cl_method(name: str) -> CLMethod:
    if name not in CL_METHODS:
        raise ConfigError(f"unknown continual method '{name}'; valid: {', '.join(CL_METHODS)}")
    return CL_METHODS[name]
