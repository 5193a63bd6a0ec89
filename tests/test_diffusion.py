"""The diffusion module (chapter 08): schedules, the forward process and its posterior, the samplers, the toy."""

from musegen_widgets import diffusion
from musegen_widgets.errors import MusegenError

import numpy as np
import pytest

LINEAR = diffusion.linear_schedule()


def test_linear_schedule_is_ho_et_al():
    assert LINEAR.steps == 1000
    assert LINEAR.beta(1) == pytest.approx(1e-4) and LINEAR.beta(1000) == pytest.approx(0.02)
    assert LINEAR.alpha_bar(0) == 1.0
    assert LINEAR.alpha_bar(3) == pytest.approx(np.prod(1 - LINEAR.betas[:3]))
    # scaled for other numbers of steps: the end is about as noisy as with 1,000
    assert diffusion.linear_schedule(100).alpha_bar(100) == pytest.approx(LINEAR.alpha_bar(1000), rel=0.5)


def test_cosine_schedule_matches_its_alpha_bar_and_clips():
    schedule = diffusion.cosine_schedule()
    t = np.arange(0, 1000)

    def f(t):
        return np.cos((t / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2

    # before the clip binds, alpha_bar is f(t) / f(0) exactly
    np.testing.assert_allclose(schedule.alpha_bar(t[:990]), f(t[:990]) / f(0), rtol=1e-10)
    assert schedule.betas.max() == pytest.approx(0.999)


def test_a_schedule_refuses_impossible_betas():
    for betas in ([], [0.1, 1.0], [[0.1]], [-0.1]):
        with pytest.raises(MusegenError):
            diffusion.NoiseSchedule(np.array(betas))


def test_the_closed_form_is_many_single_steps():
    # the same noise, drawn one step at a time, gives x_t with the closed form's mean and variance
    rng = np.random.default_rng(0)
    schedule = diffusion.linear_schedule(50)
    x = np.full(200_000, 2.0)
    for t in range(1, 51):
        x = np.sqrt(1 - schedule.beta(t)) * x + np.sqrt(schedule.beta(t)) * rng.standard_normal(len(x))
    assert x.mean() == pytest.approx(np.sqrt(schedule.alpha_bar(50)) * 2.0, abs=0.01)
    assert x.var() == pytest.approx(1 - schedule.alpha_bar(50), rel=0.01)


def test_add_noise_takes_a_step_per_row():
    x0, noise = np.ones((3, 2)), np.zeros((3, 2))
    out = diffusion.add_noise(x0, np.array([1, 500, 1000]), noise, LINEAR)
    np.testing.assert_allclose(out[:, 0], np.sqrt(LINEAR.alpha_bar(np.array([1, 500, 1000]))))


def test_posterior_is_bayes_rule_on_a_grid():
    x0, t, x_t = -0.3, 40, 0.5
    grid = np.linspace(-4, 4, 400_001)
    log_weight = -((x_t - np.sqrt(1 - LINEAR.beta(t)) * grid) ** 2) / (2 * LINEAR.beta(t)) - (
        grid - np.sqrt(LINEAR.alpha_bar(t - 1)) * x0
    ) ** 2 / (2 * (1 - LINEAR.alpha_bar(t - 1)))
    weight = np.exp(log_weight - log_weight.max())
    weight /= weight.sum()
    mean, variance = diffusion.posterior(np.array([x0]), np.array([x_t]), t, LINEAR)
    assert mean[0] == pytest.approx((weight * grid).sum(), abs=1e-7)
    assert variance[0] == pytest.approx((weight * (grid - mean[0]) ** 2).sum(), rel=1e-5)
    # at t = 1 the posterior is the clean point itself
    mean, variance = diffusion.posterior(np.array([x0]), np.array([x_t]), 1, LINEAR)
    assert variance[0] == 0 and mean[0] == pytest.approx(x0)


def test_the_three_predictions_convert_into_each_other():
    rng = np.random.default_rng(1)
    x0, noise = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    t = np.array([1, 10, 300, 999])
    x_t = diffusion.add_noise(x0, t, noise, LINEAR)
    np.testing.assert_allclose(diffusion.x0_from_noise(x_t, t, noise, LINEAR), x0, atol=1e-9)
    np.testing.assert_allclose(diffusion.noise_from_x0(x_t, t, x0, LINEAR), noise, atol=1e-9)


def test_the_kl_is_the_weighted_noise_error():
    rng = np.random.default_rng(2)
    x0, noise = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    guess = noise + rng.standard_normal((5, 2))
    for t in (2, 100, 900):
        x_t = diffusion.add_noise(x0, t, noise, LINEAR)
        true_mean, true_variance = diffusion.posterior(x0, x_t, t, LINEAR)
        model_mean = (x_t - LINEAR.beta(t) / np.sqrt(1 - LINEAR.alpha_bar(t)) * guess) / np.sqrt(
            1 - LINEAR.beta(t)
        )
        kl = diffusion.gaussian_kl(true_mean, true_variance, model_mean, true_variance).sum(axis=1)
        weight = diffusion.elbo_weight(t, LINEAR, variance="posterior")
        np.testing.assert_allclose(kl, weight * ((noise - guess) ** 2).sum(axis=1), rtol=1e-9)
    with pytest.raises(MusegenError, match="variance"):
        diffusion.elbo_weight(5, LINEAR, variance="learned")


def test_ddim_with_eta_one_is_the_ddpm_step_with_the_posterior_variance():
    x_t = np.random.default_rng(3).standard_normal((6, 2))
    noise = np.random.default_rng(4).standard_normal((6, 2))
    ddpm = diffusion.ddpm_step(x_t, 300, noise, LINEAR, np.random.default_rng(5), variance="posterior")
    ddim = diffusion.ddim_step(x_t, 300, 299, noise, LINEAR, eta=1.0, rng=np.random.default_rng(5))
    np.testing.assert_allclose(ddim, ddpm, atol=1e-12)
    with pytest.raises(MusegenError, match="rng"):
        diffusion.ddim_step(x_t, 300, 299, noise, LINEAR, eta=1.0)


def test_ddim_inverts_a_known_noise_exactly():
    # data at one point: the exact noise guess is (x_t - sqrt(ab) x0) / sqrt(1 - ab); one DDIM jump lands on x0
    x0 = np.array([[0.5, -1.0]])

    def predict_noise(x, t):
        return diffusion.noise_from_x0(x, t, x0, LINEAR)

    for steps in (1, 7, 50):
        np.testing.assert_allclose(
            diffusion.sample(predict_noise, (1, 2), LINEAR, steps=steps), x0, atol=1e-9
        )


def test_sample_is_seeded_returns_its_path_and_refuses_bad_settings():
    ring = diffusion.ring_of_gaussians()
    exact = ring.optimal_noise(LINEAR)
    a = diffusion.sample(exact, (50, 2), LINEAR, steps=20, seed=3)
    b, path = diffusion.sample(exact, (50, 2), LINEAR, steps=20, seed=3, return_path=True)
    np.testing.assert_array_equal(a, b)
    assert path.shape == (21, 50, 2) and np.array_equal(path[-1], a)
    assert not np.array_equal(a, diffusion.sample(exact, (50, 2), LINEAR, steps=20, seed=4))
    for settings in ({"steps": 0}, {"steps": 1001}, {"eta": 0.5}):
        with pytest.raises(MusegenError):
            diffusion.sample(exact, (5, 2), LINEAR, **settings)


def test_the_exact_denoiser_samples_the_ring():
    ring = diffusion.ring_of_gaussians()
    points = diffusion.sample(ring.optimal_noise(LINEAR), (800, 2), LINEAR, seed=0)
    covered, near = ring.coverage(points)
    assert covered == 8 and near > 0.99
    nearest = np.linalg.norm(points[:, None] - ring.means[None], axis=-1).min(axis=1)
    assert np.sqrt(np.mean(nearest**2) / 2) == pytest.approx(0.02, rel=0.15)


def test_tweedie_the_optimal_denoiser_is_the_posterior_mean():
    mixture = diffusion.GaussianMixture([0.25, 0.75], [[-1.0], [1.5]], [0.3, 0.1])
    grid = np.linspace(-4, 5, 200_001)
    prior = np.exp(mixture.log_density(grid[:, None]))
    for t, x_t in ((30, 0.2), (400, -0.7)):
        alpha_bar = LINEAR.alpha_bar(t)
        likelihood = np.exp(-((x_t - np.sqrt(alpha_bar) * grid) ** 2) / (2 * (1 - alpha_bar)))
        by_grid = (grid * prior * likelihood).sum() / (prior * likelihood).sum()
        noise = mixture.optimal_noise(LINEAR)(np.array([[x_t]]), t)
        assert diffusion.x0_from_noise(np.array([[x_t]]), t, noise, LINEAR)[0, 0] == pytest.approx(
            by_grid, abs=1e-7
        )
        score = diffusion.score_from_noise(noise, t, LINEAR)
        assert score[0, 0] == pytest.approx(mixture.noised(alpha_bar).score(np.array([[x_t]]))[0, 0])


def test_mixture_density_and_score_agree_with_finite_differences():
    mixture = diffusion.GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, 2.0]], [0.5, 1.0])
    x = np.array([[0.3, 0.4]])
    h = 1e-5
    numeric = [
        (mixture.log_density(x + h * e) - mixture.log_density(x - h * e))[0] / (2 * h) for e in np.eye(2)
    ]
    np.testing.assert_allclose(mixture.score(x)[0], numeric, rtol=1e-6)
    # a density: it integrates to 1 (one dimension, on a grid)
    line = diffusion.GaussianMixture([0.4, 0.6], [[0.0], [3.0]], [0.5, 1.0])
    grid = np.linspace(-10, 15, 100_001)
    assert np.trapezoid(np.exp(line.log_density(grid[:, None])), grid) == pytest.approx(1.0, abs=1e-8)


def test_a_mixture_refuses_inconsistent_parts_and_counts_its_modes():
    with pytest.raises(MusegenError):
        diffusion.GaussianMixture([0.5, 0.6], [[0.0], [1.0]], [1.0, 1.0])
    with pytest.raises(MusegenError):
        diffusion.GaussianMixture([1.0], [0.0], [1.0])
    ring = diffusion.ring_of_gaussians()
    two_modes = np.concatenate(
        [np.repeat(ring.means[:1], 90, axis=0), np.repeat(ring.means[1:2], 10, axis=0)]
    )
    assert ring.coverage(two_modes) == (2, 1.0)
    assert ring.coverage(two_modes, min_share=0.2) == (1, 1.0)
    assert ring.coverage(np.zeros((10, 2))) == (0, 0.0)


def _two_modes() -> diffusion.GaussianMixture:
    """Two modes on the diagonal: given x = 1, y is near 1, never near -1."""
    return diffusion.GaussianMixture(
        np.array([0.5, 0.5]), np.array([[-1.0, -1.0], [1.0, 1.0]]), np.array([0.3, 0.3])
    )


def test_inpainting_keeps_what_is_kept_and_repaint_finds_the_right_mode_where_replacement_misses():
    mixture, schedule = _two_modes(), diffusion.linear_schedule(1000)
    known = np.zeros((2000, 2))
    known[:, 0] = 1.0
    keep = np.array([True, False])
    replaced = diffusion.inpaint(mixture.optimal_noise(schedule), known, keep, schedule, seed=1)
    repainted = diffusion.inpaint(mixture.optimal_noise(schedule), known, keep, schedule, resample=3, seed=1)
    np.testing.assert_array_equal(replaced[:, 0], 1.0)
    np.testing.assert_array_equal(repainted[:, 0], 1.0)
    # the exact answer: y ~ N(1, 0.3²) (the other mode has probability e^-22)
    assert (replaced[:, 1] < 0).mean() > 0.01  # replacement: the unknown half chose its mode alone
    assert (repainted[:, 1] < 0).mean() < 0.005
    assert abs(repainted[:, 1].mean() - 1.0) < 0.05 and abs(repainted[:, 1].std() - 0.3) < 0.03


def test_inpainting_path_and_errors():
    mixture, schedule = _two_modes(), diffusion.linear_schedule(100)
    known = np.ones((3, 2))
    x, path = diffusion.inpaint(
        mixture.optimal_noise(schedule), known, [True, False], schedule, steps=10, return_path=True
    )
    assert path.shape == (11, 3, 2) and np.array_equal(path[-1], x)
    again = diffusion.inpaint(mixture.optimal_noise(schedule), known, [True, False], schedule, steps=10)
    np.testing.assert_array_equal(again, x)  # seeded
    with pytest.raises(MusegenError, match="resample"):
        diffusion.inpaint(mixture.optimal_noise(schedule), known, [True, False], schedule, resample=0)
