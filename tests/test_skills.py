"""Skills and reset-free lifelong learning (issue 21): the intrinsic reward by hand, LiSP's penalty,
the disagreement, planning over skills on a toy model, the lifelong envs' v* schedule, the
reset-free collector (one reset; resets the env demands, counted) and bad input."""
import math
import os

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from conftest import ROOT, run_cli
from lifelong_rl.data_management.fields import transition_fields
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.envs.gridworld import ContinuousGridworld
from lifelong_rl.envs.lifelong import TaskReward
from lifelong_rl.envs.make_env import make_env
from lifelong_rl.models.dynamics import pair_disagreement
from lifelong_rl.planners.planners import MPPI
from lifelong_rl.policies.skill_policy import SkillMPCPolicy
from lifelong_rl.samplers.collectors import ResetFreeCollector
from lifelong_rl.trainers.skills import (LiSPTrainer, SkillDynamics, SkillDynamicsTrainer, contrastive_reward,
                                         intrinsic_reward)


class ToySkillDynamics(nn.Module):
    """log q(ds | s, z) = -(ds - z)^2 / 2 (unit Gaussian around the skill, constant dropped)."""

    def log_prob(self, obs, skills, next_obs):
        return -0.5 * ((next_obs - obs - skills) ** 2).sum(-1)


def test_contrastive_reward_by_hand():
    obs = torch.tensor([[0.0], [1.0]])
    skills = torch.tensor([[0.5], [-0.2]])
    next_obs = torch.tensor([[0.4], [0.9]])  # ds = 0.4, -0.1
    L = 3
    torch.manual_seed(7)
    r = contrastive_reward(ToySkillDynamics(), obs, skills, next_obs, L)
    torch.manual_seed(7)
    alternatives = (torch.rand(L * 2, 1) * 2 - 1).view(L, 2)  # row i of the alternatives of transition j: [i, j]
    for j, (ds, z) in enumerate(((0.4, 0.5), (-0.1, -0.2))):
        q = math.exp(-0.5 * (ds - z) ** 2)
        q_alt = [math.exp(-0.5 * (ds - float(alternatives[i, j])) ** 2) for i in range(L)]
        expected = math.log(q) - math.log((q + sum(q_alt)) / (L + 1))  # the true skill in the denominator
        assert float(r[j]) == pytest.approx(expected, abs=1e-5)


def test_intrinsic_reward_post_processing():
    raw = torch.tensor([float("nan"), -40.0, 1.0, 4.0])
    # NaN -> -30; clip to (-30, 30); x 10; clip again
    assert intrinsic_reward(raw, (-30.0, 30.0), 10.0).tolist() == [-30.0, -30.0, 10.0, 30.0]


def test_one_pass_step_and_disagreement_agree_with_step_and_pair_disagreement():
    from lifelong_rl.models.dynamics import DynamicsModel, ProbabilisticEnsemble

    torch.manual_seed(0)
    model = DynamicsModel(ProbabilisticEnsemble(3, 2, 4, 3, (16,)), deterministic=True)
    obs, act, members = torch.randn(6, 3), torch.randn(6, 2), torch.tensor([0, 1, 2, 2, 1, 0])
    nxt, reward, done, disagreement = model.step_with_disagreement(obs, act, members)
    nxt2, reward2, done2 = model.step(obs, act, members)
    assert torch.allclose(nxt, nxt2, atol=1e-5) and torch.allclose(reward, reward2, atol=1e-5) and (done == done2).all()
    assert torch.allclose(disagreement, model.ensemble.pair_disagreement(obs, act)) and (disagreement > 0).all()


def test_pair_disagreement_is_the_mean_over_member_pairs():
    means = torch.tensor([[[0.0, 0.0]], [[1.0, 0.0]], [[0.0, 2.0]]])  # 3 members, 1 row, 2 dims
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j]
    expected = np.mean([((means[i, 0] - means[j, 0]) ** 2).mean().item() for i, j in pairs])
    assert float(pair_disagreement(means)[0]) == pytest.approx(expected)


def test_lisp_penalises_model_data_where_the_ensemble_disagrees():
    trainer = LiSPTrainer.__new__(LiSPTrainer)  # only the reward parts
    trainer.discriminator = type("D", (), {"q": ToySkillDynamics()})()
    trainer.num_prior_samples, trainer.reward_scale, trainer.reward_bounds = 4, 10.0, (-30.0, 30.0)
    trainer.disagreement_threshold = 0.1
    obs, skills, next_obs = torch.zeros(3, 1), torch.zeros(3, 1), torch.zeros(3, 1)
    torch.manual_seed(0)
    r = trainer.penalised_reward(obs, skills, next_obs, torch.tensor([0.0, 0.1, 0.5]))
    torch.manual_seed(0)
    unpenalised = trainer.reward(obs, skills, next_obs)
    assert r[:2].tolist() == unpenalised[:2].tolist() and float(r[2]) == -30.0


# -- planning over skills ---------------------------------------------------------------------------
class ToyModel:
    """s' = s + a; reward -(s' - 0.6)^2; the members disagree (1.0) wherever a > `unsure_above`, else 0."""
    num_members = 2

    def __init__(self, unsure_above: float):
        self.unsure_above = unsure_above

    def step_with_disagreement(self, obs, act, members):
        nxt = obs + act
        return (nxt, -((nxt[:, 0] - 0.6) ** 2), torch.zeros(len(obs), dtype=torch.bool),
                (act[:, 0] > self.unsure_above).float())


class IdentitySkillPolicy(nn.Module):
    """The skill is the action: mode(pi(. | s, z)) = z."""

    def forward(self, obs_and_skill):
        return type("Dist", (), {"deterministic": obs_and_skill[:, 1:]})()


def planner_policy(penalty: float, repeat: int = 1, unsure_above: float = 0.5) -> SkillMPCPolicy:
    mppi = MPPI(horizon=2, action_dim=1, population=1000, iterations=4, init_std=0.5, temperature=0.002)
    return SkillMPCPolicy(ToyModel(unsure_above), IdentitySkillPolicy(), mppi, repeat=repeat, discount=1.0, disagreement_threshold=0.1,
                          disagreement_penalty=penalty)


def test_mppi_over_skills_picks_the_sequence_of_highest_model_return():
    torch.manual_seed(0)
    policy = planner_policy(penalty=20.0, unsure_above=float("inf"))  # the members always agree
    obs = torch.zeros(1, 1)
    candidates = torch.tensor([[[0.6], [0.0]], [[0.3], [0.3]], [[0.0], [0.6]], [[-0.5], [1.0]]])
    # the positions after each skill, and the returns by hand: (0.6, 0.6): 0 + 0; (0.3, 0.6): -0.09 + 0;
    # (0, 0.6): -0.36 + 0; (-0.5, 0.5): -1.21 - 0.01
    assert policy.sequence_returns(obs, candidates).tolist() == pytest.approx([0.0, -0.09, -0.36, -1.22])
    action = policy.get_action(np.zeros(1, np.float32))
    assert policy._plan[0, 0].item() == pytest.approx(0.6, abs=0.05) and abs(policy._plan[1, 0].item()) < 0.05
    assert action[0] == pytest.approx(policy._plan[0, 0].item())


def test_the_planner_applies_the_disagreement_penalty():
    torch.manual_seed(0)
    policy = planner_policy(penalty=20.0)
    obs = torch.zeros(1, 1)
    # a step of 0.6 is where the toy ensemble disagrees: -20 instead of 0
    assert policy.sequence_returns(obs, torch.tensor([[[0.6], [0.0]]])).item() == pytest.approx(-20.0)
    policy.get_action(np.zeros(1, np.float32))
    assert policy._plan[0, 0].item() <= 0.5 + 1e-3 and policy._plan[:, 0].sum().item() == pytest.approx(0.6, abs=0.05)


def test_the_planner_replans_once_per_held_skill():
    torch.manual_seed(0)
    policy = planner_policy(penalty=0.0, repeat=3)
    calls = []
    plan = policy.planner.plan
    policy.planner.plan = lambda *a: calls.append(1) or plan(*a)
    for _ in range(7):
        policy.get_action(np.zeros(1, np.float32))
    assert len(calls) == 3  # steps 0, 3, 6


# -- lifelong envs and the reset-free collector -----------------------------------------------------
def test_lifelong_hopper_v_star_changes_at_the_stated_steps_and_resets_do_not_restart_it():
    env = make_env("lifelong/hopper", 0, target_velocities=[2.0, 1.0, -1.0], switch_every=4)
    seen = []
    for t in range(13):
        if t == 6:
            env.reset()  # the schedule counts the env's life, not the episode
        seen.append(env.step(np.zeros(3, np.float32))[4]["target_velocity"])
    assert seen == [2.0] * 4 + [1.0] * 4 + [-1.0] * 4 + [2.0]


@pytest.mark.parametrize("name", ["hopper", "ant"])
def test_lifelong_reward_matches_the_task_reward_and_never_terminates(name):
    env = make_env(f"lifelong/{name}", 0, target_velocities=[-1.0], switch_every=0)
    obs, _ = env.reset()
    reward_fn = TaskReward(name, -1.0)
    sim = env.unwrapped
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        nxt, r, terminated, _, _ = env.step(a)
        expected = reward_fn(*(torch.as_tensor(x)[None] for x in (obs, a, nxt)))
        assert r == pytest.approx(float(expected), abs=1e-4) and not terminated
        # v_x and z in the reward are the torso's: qvel[0] (clipped at 10 in Hopper's observation) and its height
        v_x, z = float(np.clip(sim.data.qvel[0], -10, 10)), float(sim.data.qpos[2 if name == "ant" else 1])
        bonus = 1.0 if name == "hopper" else -1.0
        by_hand = bonus - abs(v_x + 1.0) - sim.reward_fn.height_weight * (z - sim.reward_fn.height) ** 2 \
            - sim.reward_fn.ctrl_weight * float(np.sum(a ** 2))
        assert r == pytest.approx(by_hand, abs=1e-4)
        obs = nxt


class CountResets(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.resets = 0

    def reset(self, **kwargs):
        self.resets += 1
        return self.env.reset(**kwargs)


class Always:
    def __init__(self, action):
        self.action = np.asarray(action, np.float32)

    def get_action(self, obs):
        return self.action

    def reset(self):
        pass


def collect(env, policy, steps, segment=70):
    buffer = ReplayBuffer(steps, transition_fields(env.observation_space.shape[0], env.action_space.shape[0]))
    lines = []
    c = ResetFreeCollector(env, policy, segment, log=lines.append)
    for _ in range(steps):
        c.collect_one_step(buffer)
    return c, buffer, lines


def test_a_reset_free_run_never_calls_reset_after_its_first_step():
    env = CountResets(make_env("lifelong/hopper", 0, max_path_length=50, target_velocities=[2.0, 1.0], switch_every=100))
    env.resets = 0
    c, buffer, lines = collect(env, Always(np.zeros(3)), 300, segment=70)
    assert env.resets == 1 and c.resets_needed == 0  # path lengths (50) and segments (70) reset nothing
    assert c.num_paths_total == 4 and float(buffer.timeouts[:300].sum()) == 0.0
    assert lines == ["env step 101: target_velocity 2.0 -> 1.0", "env step 201: target_velocity 1.0 -> 2.0"]


def test_the_hole_traps_the_agent_and_the_demanded_resets_are_counted():
    grid = ["#######", "#S..H.#", "#######"]
    env = CountResets(gym.wrappers.TimeLimit(ContinuousGridworld([grid]), 1000))
    env.reset()
    env.resets = 0
    c, buffer, lines = collect(env, Always([1.0, 0.0]), 200)
    # from the start to the hole: 3 tiles of width 2/7 at 0.1 per step -> about 9 steps, then a reset
    assert c.resets_needed >= 15 and env.resets == 1 + c.resets_needed
    assert lines[0].endswith("the env needs a reset (#1)")
    trapped = ContinuousGridworld([grid])
    trapped.set_env_state({"position": list(trapped.tile_centre(1, 4)), "grid": 0, "t": 0})
    for _ in range(5):
        _, r, _, _, info = trapped.step(np.array([1.0, 1.0]))
        assert info["needs_reset"] and r == -3.0 and np.allclose(trapped.get_env_state()["position"], trapped.tile_centre(1, 4))


def test_volcano_rearranges_without_a_reset_in_a_reset_free_run():
    env = CountResets(make_env("gridworld/volcano", 0))
    env.resets = 0
    c, buffer, lines = collect(env, Always([0.0, 0.0]), 450)
    assert env.resets == 1 and c.resets_needed == 0
    assert lines == ["env step 200: grid 0 -> 1", "env step 400: grid 1 -> 0"]
    # the goal in the observation flips from the top to the bottom and back, the agent stays put
    assert buffer.next_observations[198, 3] > 0.5 and buffer.next_observations[199, 3] < -0.5
    assert np.allclose(buffer.next_observations[:450, :2], buffer.observations[0, :2])


# -- runs and bad input -------------------------------------------------------------------------------
def test_skill_dynamics_learns_to_tell_skills_apart():
    """Transitions of a skill-dependent policy (ds = 0.1 z + noise): a few hundred steps of q raise the
    intrinsic reward from 0 (skills indistinguishable)."""
    torch.manual_seed(0)
    q = SkillDynamics(obs_dim=2, latent_dim=2, hidden_sizes=(64, 64))
    fit = SkillDynamicsTrainer(q, lr=1e-3)

    def batch(n=256):
        obs, z = torch.rand(n, 2) * 2 - 1, torch.rand(n, 2) * 2 - 1
        return obs, z, obs + 0.1 * z + 0.01 * torch.randn(n, 2)

    before = contrastive_reward(q, *batch(), num_prior_samples=16).mean().item()
    for _ in range(300):
        fit.step(*batch())
    after = contrastive_reward(q, *batch(), num_prior_samples=16).mean().item()
    assert abs(before) < 0.1 and after > 0.8, (before, after)  # q has unit variance: well below log(17) = 2.83


@pytest.mark.parametrize("script,assignment,needle", [
    ("sac", "algorithm_kwargs/reset_free=true", "algorithm_kwargs/reset_free needs an env whose state"),
    ("lisp", "lisp_kwargs/planning_reward=task", "lisp_kwargs/planning_reward=task needs a lifelong/ env"),
    ("dads", "algorithm_kwargs/reset_free=true", "DADS holds a skill per episode"),
    ("lisp", "env=lifelong/walker", "unknown lifelong env 'lifelong/walker'"),
    ("lisp", "lisp_kwargs/reward_bounds=[3.0,1.0]", "lisp_kwargs/reward_bounds must be two floats"),
    ("sac", "env_kwargs/target_velocities=[1.0]", "env_kwargs/target_velocities applies to lifelong/ envs only"),
])
def test_bad_lifelong_settings_are_refused_before_anything_is_written(tmp_path, script, assignment, needle):
    r = run_cli(f"run_scripts/{script}.py", "--quick", "--log-dir", str(tmp_path), "--set", assignment)
    err = r.stderr.strip()
    assert r.returncode == 2 and needle in err and len(err.splitlines()) == 1, err
    assert not any(tmp_path.iterdir())


def test_relabel_makes_a_lifelong_dataset_with_the_task_reward(tmp_path):
    from lifelong_rl.data_management.datasets import load_dataset

    pendulum = os.path.join(ROOT, "agent_data", "examples", "pendulum-random-v0.npz")
    r = run_cli("scripts/collect_dataset.py", "--kind", "relabel", "--from", pendulum, "--env",
                "lifelong/hopper", "--name", "x", "--root", str(tmp_path))
    assert r.returncode == 2 and "is of gym/Pendulum-v1, not gym/Hopper-v5" in r.stderr
    r = run_cli("scripts/collect_dataset.py", "--kind", "random", "--env", "gym/Hopper-v5", "--steps", "300", "--name",
                "hopper-src", "--root", str(tmp_path), "--format", "npz")
    assert r.returncode == 0, r.stderr
    r = run_cli("scripts/collect_dataset.py", "--kind", "relabel", "--from", "hopper-src", "--env", "lifelong/hopper",
                "--target-velocity", "1.0", "--name", "lifelong-src", "--root", str(tmp_path), "--format", "npz")
    assert r.returncode == 0, r.stderr
    a, b = load_dataset("hopper-src", str(tmp_path)), load_dataset("lifelong-src", str(tmp_path))
    assert b.meta["env"] == "lifelong/hopper" and not b.terminals.any() and b.timeouts.sum() == (a.terminals | a.timeouts).sum()
    expected = TaskReward("hopper", 1.0)(*(torch.from_numpy(x) for x in (a.observations, a.actions, a.next_observations)))
    assert np.allclose(b.rewards, expected.numpy(), atol=1e-5)
