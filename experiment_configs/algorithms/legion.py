"""LEGION on a MetaWorld task stream: the continual loop of continual SAC with LEGION's trainer,
per-task latent-conditioned policies and the DPMM refit as an env-step hook."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict

from experiment_configs.algorithms.continual import build_stream, check_stream, stream_evaluation_setup
from lifelong_rl.continual.methods import get_cl_method
from lifelong_rl.variants import ConfigError

# --mode-cl -> the continual loop's schedule: one task at a time with the buffer kept (as the
# original), tasks 0..k in phase k, or all tasks at once.
MODES = {"continual": "perfect_memory", "expand": "expand", "multitask": "multitask"}
CHOICES = {"mode_cl": tuple(MODES), "prior": ("dpmm", "gauss"), "language": ("on", "off")}


def check(variant: Dict[str, Any]) -> None:
    lg = variant["legion"]
    for key, valid in CHOICES.items():
        if lg[key] not in valid:
            raise ConfigError(f"unknown legion/{key} '{lg[key]}'; valid: {', '.join(valid)}")
    for key in ("latent_dim",):
        if lg[key] < 1:
            raise ConfigError(f"legion/{key} must be >= 1, got {lg[key]}")
    for key in ("fit_every", "fit_samples", "truncation"):
        if lg["dpmm"][key] < 1:
            raise ConfigError(f"legion/dpmm/{key} must be >= 1, got {lg['dpmm'][key]}")
    check_stream(variant)


def build(variant: Dict[str, Any], log_dir: str):
    mode = variant["legion"]["mode_cl"]
    method = dataclasses.replace(get_cl_method(MODES[mode]), name=f"legion_{mode}")
    return build_stream(variant, log_dir, method, "none", config_options)


def config_options(variant: Dict[str, Any], tasks) -> Dict[str, Any]:
    return {"tasks": tasks}


def evaluation_setup(variant: Dict[str, Any], device, seed: int):
    """(trainer, [(task, env, deterministic policy)]): each task's policy acts on the posterior mean of z."""
    return stream_evaluation_setup(variant, device, seed, "none", config_options)
