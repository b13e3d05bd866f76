"""Online / batch RL algorithm objects from a config (the loop kind is algorithm_kwargs/loop)."""
from __future__ import annotations

from typing import Any, Dict

from lifelong_rl.core.rl_algorithm import LOOPS, RLAlgorithm
from lifelong_rl.samplers.collectors import PathCollector, StepCollector


def get_algorithm(variant: Dict[str, Any], config: Dict[str, Any], *, expl_env, eval_env, replay_buffer,
                  logger, device, max_path_length: int) -> RLAlgorithm:
    kwargs = dict(variant["algorithm_kwargs"])
    loop = kwargs.pop("loop")  # checked by base_experiment.validate
    kwargs.pop("max_path_length")
    log = variant["logging"]
    return LOOPS[loop](
        trainer=config["trainer"],
        exploration_collector=StepCollector(expl_env, config["exploration_policy"], max_path_length),
        evaluation_collector=PathCollector(eval_env, config["evaluation_policy"], max_path_length),
        replay_buffer=replay_buffer,
        logger=logger,
        variant=variant,
        device=device,
        save_replay_buffer=log["save_replay_buffer"],
        progress_bar=log["progress_bar"],
        **kwargs,
    )
