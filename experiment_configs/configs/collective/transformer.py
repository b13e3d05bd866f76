"""Collective learning, stage 2: the trajectory transformer, trained on windows of the experts'
episodes by masked reconstruction plus a contrastive loss across tasks; its CLS output is the task
embedding the collective policy is conditioned on.

An epoch is `num_trains_per_epoch` updates on random windows of the training episodes; each task's
last `held_out_fraction` of episodes is held out, and every epoch logs the nearest-centroid accuracy
of their windows' embeddings (evaluation/Nearest Centroid Accuracy: how well the embedding separates
the tasks). The run's last snapshot is exported as transformer.pt (`export`).

Files that define its behaviour: lifelong_rl/models/trajectory_transformer.py (tokens, network),
lifelong_rl/trainers/collective.py (masking, the losses, the accuracy), lifelong_rl/data_management/
trajectory_windows.py (windows), lifelong_rl/core/schedules.py (OfflineSchedule).
"""
from __future__ import annotations

import os
from typing import Any, Dict

import numpy as np
import torch

from experiment_configs.algorithms.collective import TRANSFORMER_FILE, load_trajectories
from experiment_configs.common import Run, run_schema
from lifelong_rl.core.loop import TrainingLoop
from lifelong_rl.core.logger import load_snapshot
from lifelong_rl.core.schedules import OfflineSchedule
from lifelong_rl.data_management.datasets import OfflineDataset
from lifelong_rl.data_management.trajectory_windows import TrajectoryWindows, split_episodes
from lifelong_rl.models.trajectory_transformer import TrajectoryTransformer, WindowBatch
from lifelong_rl.trainers.collective import TrajectoryTransformerTrainer, nearest_centroid_accuracy
from lifelong_rl.variants import ConfigError, Param, Schema

NAME = "collective_transformer"
POLICY = False  # nothing to act with: scripts/eval_snapshot.py does not apply
EXAMPLE = "examples/collective"  # committed: 2 tasks x 2 short scripted episodes, a tiny transformer and collective


def schema() -> Schema:
    # Sizes: the original's RepresentationTransformerWithCLS (d_model 32, 8 heads, 3 layers, FFN 128,
    # 6-D embedding, 19-step windows, Adam 2e-4, batch 128, 0.25 x InfoNCE at temperature 0.15).
    return {
        **run_schema(NAME),
        "trajectories": Param([], "the experts' trajectories.npz, one per task (the experts stage records them)", "strs"),
        "transformer_kwargs": {
            "window": Param(19, "transitions per window (W): W+1 states, W actions, W rewards", "int", low=1),
            "d_model": Param(32, "token width", "int", low=1),
            "n_heads": Param(8, "attention heads (must divide d_model)", "int", low=1),
            "n_layers": Param(3, "encoder layers", "int", low=1),
            "ffn_dim": Param(128, "feed-forward width", "int", low=1),
            "embedding_dim": Param(6, "size of the task embedding (the CLS head)", "int", low=1),
            "dropout": Param(0.0, "dropout in the encoder (the original pre-trains with 0.1; on a CPU its sampling is "
                             "about 40 % of an update)", "float", low=0.0, high=1.0),
        },
        "trainer_kwargs": {
            "lr": Param(2e-4, "Adam learning rate", "float", low=0.0),
            "mask_prob": Param(0.15, "probability that a token is chosen for masking", "float", low=0.0, high=1.0),
            "contrastive_weight": Param(0.25, "weight of InfoNCE between the two masked views", "float", low=0.0),
            "temperature": Param(0.15, "InfoNCE temperature", "float", low=1e-6),
        },
        "algorithm_kwargs": {
            "num_epochs": Param(20, "epochs (one progress.csv row each)", "int", low=1),
            "num_trains_per_epoch": Param(100, "updates per epoch", "int", low=1),
            "batch_size": Param(128, "windows per update", "int", low=2),
            "held_out_fraction": Param(0.2, "each task's last episodes held out for the accuracy", "float", low=0.0, high=0.9),
        },
    }


QUICK = {
    "trajectories": [f"{EXAMPLE}/reach-v3", f"{EXAMPLE}/button-press-topdown-v3"],
    "transformer_kwargs/window": 4, "transformer_kwargs/d_model": 8, "transformer_kwargs/n_heads": 2,
    "transformer_kwargs/n_layers": 1, "transformer_kwargs/ffn_dim": 16, "transformer_kwargs/embedding_dim": 3,
    "algorithm_kwargs/num_epochs": 2, "algorithm_kwargs/num_trains_per_epoch": 5, "algorithm_kwargs/batch_size": 16,
    "algorithm_kwargs/held_out_fraction": 0.5, "logging/snapshot_gap": 1,
}
CONTRACT_CASES = {"examples": {}}


def check_settings(variant: Dict[str, Any]) -> None:
    """The checks that read no file (the pipeline runs them before its first stage)."""
    t = variant["transformer_kwargs"]
    if t["d_model"] % t["n_heads"]:
        raise ConfigError(f"transformer_kwargs/n_heads ({t['n_heads']}) must divide transformer_kwargs/d_model ({t['d_model']})")


def check(variant: Dict[str, Any]) -> None:
    check_settings(variant)
    data = load_trajectories(variant["trajectories"])
    if len(data) < 2:
        raise ConfigError("the contrastive loss needs windows of at least 2 tasks: give 2 or more trajectories")


def build(run: Run):
    v, ak = run.variant, run.variant["algorithm_kwargs"]
    data = load_trajectories(v["trajectories"])
    train, train_ids, test, test_ids = split_episodes(data, ak["held_out_fraction"])
    window = v["transformer_kwargs"]["window"]
    windows = TrajectoryWindows(train, train_ids, window, seed=run.seeds.child("buffer"))
    model = TrajectoryTransformer(data[0].obs_dim, data[0].action_dim, **v["transformer_kwargs"]).to(run.device)
    model.fit_normalizer(np.concatenate([s for s, _, _ in train]), np.concatenate([a for _, a, _ in train]),
                         np.concatenate([r for _, _, r in train]))
    trainer = TrajectoryTransformerTrainer(model, **v["trainer_kwargs"])
    # Centroids from every 4th training window, accuracy on every held-out one (fixed sets: the
    # evaluation draws no random numbers).
    held_out = TrajectoryWindows(test, test_ids, window).all_windows() if test else None
    d = windows.windows(np.arange(0, len(windows), 4))
    centroid_windows = WindowBatch(d["states"], d["actions"], d["rewards"], d["valid"])

    def held_out_accuracy() -> Dict[str, float]:
        if held_out is None:
            return {}
        acc = nearest_centroid_accuracy(model.embed(centroid_windows), d["task_ids"], model.embed(held_out[0]), held_out[1])
        return {"evaluation/Nearest Centroid Accuracy": acc}

    schedule = OfflineSchedule(trainer, windows, None, run.logger, run.device, ak["batch_size"], ak["num_trains_per_epoch"],
                               eval_episodes=0, evaluate_fn=held_out_accuracy,
                               data_fingerprint=OfflineDataset.concatenate(data, {}).fingerprint())
    log = v["logging"]
    return TrainingLoop(schedule, run.logger, v, ak["num_epochs"], log["save_replay_buffer"], log["progress_bar"]), []


def evaluation_setup(run: Run, env_seed=None):
    raise ConfigError("a collective_transformer snapshot has no policy to evaluate (evaluate the distill stage's)")


def export(run_dir: str) -> str:
    """transformer.pt beside the run's last snapshot: the model's config and weights."""
    snap = load_snapshot(os.path.join(run_dir, "params.pt"))
    state = snap["trainer"]["model"]  # the sizes are the normalisers'
    model = TrajectoryTransformer(len(state["state_mean"]), len(state["action_mean"]), **snap["variant"]["transformer_kwargs"])
    model.load_state_dict(state)
    path = os.path.join(run_dir, TRANSFORMER_FILE)
    torch.save(model.export(), path + ".tmp")
    os.replace(path + ".tmp", path)
    return path
