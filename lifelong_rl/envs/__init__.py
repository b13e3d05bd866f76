from lifelong_rl.envs.make_env import make_env, metaworld_task_names, validate_env_name

__all__ = ["make_env", "metaworld_task_names", "validate_env_name"]
