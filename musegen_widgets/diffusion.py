"""Denoising diffusion in numpy: noise schedules, the forward process, its posterior, the two samplers.

Taught in chapter 08. The names follow the equations of the chapter (and of Ho et al. 2020, whose reference
code, ``diffusion_tf/diffusion_utils_2.py``, computes the same coefficients): steps are numbered
``t = 1 ... T`` as in the papers, ``alpha_bar(0) = 1`` is the clean data, and every function takes ``t`` as
an integer (or an array of integers, one per row).

``NoiseSchedule``, ``linear_schedule``, ``cosine_schedule``
    How much noise each step adds: ``beta_t``, ``alpha_bar_t`` and the signal-to-noise ratio.
``add_noise``
    A draw of ``x_t`` from ``q(x_t | x_0)`` in one step, the closed form of the forward process.
``posterior``
    Mean and variance of ``q(x_{t-1} | x_t, x_0)``, the target of every reverse step.
``x0_from_noise``, ``noise_from_x0``, ``score_from_noise``
    The three equivalent things a network can predict, converted into each other.
``elbo_weight``, ``gaussian_kl``
    How the evidence lower bound weighs each step's noise-prediction error, and the KL it comes from.
``ddpm_step``, ``ddim_step``, ``sampling_steps``, ``sample``
    Ancestral (DDPM) and deterministic (DDIM) reverse steps, the steps DDIM visits, and the loop that runs
    them from pure noise.
``inpaint``
    Fill in part of a piece with an unconditional model: the replacement method and RePaint.
``GaussianMixture``
    A toy data distribution whose noised versions, score and optimal denoiser are known exactly.

A *noise predictor* is any callable ``predict_noise(x_t, t) -> noise`` taking an array ``(n, ...)`` and one
integer step; a trained network and :meth:`GaussianMixture.optimal_noise` both fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import MusegenError

__all__ = [
    "NoiseSchedule",
    "linear_schedule",
    "cosine_schedule",
    "add_noise",
    "posterior",
    "x0_from_noise",
    "noise_from_x0",
    "score_from_noise",
    "gaussian_kl",
    "elbo_weight",
    "ddpm_step",
    "ddim_step",
    "sampling_steps",
    "sample",
    "inpaint",
    "GaussianMixture",
    "ring_of_gaussians",
]

NoisePredictor = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True, eq=False)
class NoiseSchedule:
    """The variances ``beta_1 ... beta_T`` of the forward process's steps, and what follows from them.

    Taught in chapter 08, section 2 (the forward process) and section 6 (schedules).

    Parameters
    ----------
    betas
        Shape ``(T,)``: ``betas[t - 1]`` is the variance of the noise added at step ``t``, in (0, 1).
    name
        What to call it in tables and plots.
    """

    betas: np.ndarray
    name: str = ""

    def __post_init__(self):
        betas = np.asarray(self.betas, dtype=np.float64)
        if betas.ndim != 1 or len(betas) == 0 or not np.all((betas > 0) & (betas < 1)):
            raise MusegenError("a noise schedule needs one or more betas, each strictly between 0 and 1")
        object.__setattr__(self, "betas", betas)

    @property
    def steps(self) -> int:
        """``T``, the number of noising steps."""
        return len(self.betas)

    def beta(self, t):
        """``beta_t`` for ``t`` in ``1 ... T``."""
        return self.betas[np.asarray(t) - 1]

    def alpha_bar(self, t):
        """``alpha_bar_t = prod_{s <= t} (1 - beta_s)``, the share of the data's variance left at step ``t``;
        ``alpha_bar(0) = 1``."""
        return np.concatenate([[1.0], np.cumprod(1.0 - self.betas)])[np.asarray(t)]

    def signal_to_noise(self, t):
        """``alpha_bar_t / (1 - alpha_bar_t)``: how loud the data is against the noise at step ``t``."""
        alpha_bar = self.alpha_bar(t)
        return alpha_bar / (1.0 - alpha_bar)


def linear_schedule(steps: int = 1000, *, beta_start: float = 1e-4, beta_end: float = 0.02) -> NoiseSchedule:
    """Ho et al. (2020)'s schedule: ``beta_t`` rising linearly from ``beta_start`` to ``beta_end``.

    Taught in chapter 08, section 2 (the forward process).

    For another number of steps the end points are scaled by ``1000 / steps`` (as Nichol and Dhariwal 2021
    do), so that the last step is about as noisy as with 1,000.

    >>> schedule = linear_schedule()
    >>> schedule.steps, round(float(schedule.alpha_bar(1000)), 6)
    (1000, 4e-05)
    """
    scale = 1000 / steps
    return NoiseSchedule(np.linspace(scale * beta_start, scale * beta_end, steps), name="linear")


def cosine_schedule(steps: int = 1000, *, offset: float = 0.008, max_beta: float = 0.999) -> NoiseSchedule:
    """Nichol and Dhariwal (2021)'s schedule: ``alpha_bar_t = f(t) / f(0)``, ``f(t) = cos²((t/T + s)/(1 + s) · π/2)``.

    Taught in chapter 08, section 6 (schedules).

    The betas that give that ``alpha_bar`` are clipped at ``max_beta`` (as the paper does: the last would
    be 1, all signal destroyed in one step).

    >>> schedule = cosine_schedule()
    >>> round(float(schedule.alpha_bar(500)), 3)
    0.494
    """

    def f(t):
        return np.cos((t / steps + offset) / (1 + offset) * np.pi / 2) ** 2

    t = np.arange(steps + 1)
    betas = np.minimum(1 - f(t[1:]) / f(t[:-1]), max_beta)
    return NoiseSchedule(betas, name="cosine")


def _column(value, x: np.ndarray) -> np.ndarray:
    """A per-row coefficient shaped to broadcast over the rest of ``x``'s axes."""
    value = np.asarray(value, dtype=np.float64)
    return value.reshape(value.shape + (1,) * (np.ndim(x) - value.ndim))


def add_noise(x0: np.ndarray, t, noise: np.ndarray, schedule: NoiseSchedule) -> np.ndarray:
    """``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise``: a draw of ``q(x_t | x_0)`` in one step.

    Taught in chapter 08, section 2 (the forward process).

    Parameters
    ----------
    x0
        Shape ``(n, ...)``: clean data.
    t
        One step, or shape ``(n,)``: a step per row.
    noise
        Same shape as ``x0``: standard normal draws.
    schedule
        The forward process.
    """
    alpha_bar = _column(schedule.alpha_bar(t), x0)
    return np.sqrt(alpha_bar) * x0 + np.sqrt(1 - alpha_bar) * noise


def posterior(x0: np.ndarray, x_t: np.ndarray, t, schedule: NoiseSchedule) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``q(x_{t-1} | x_t, x_0)``, a Gaussian for every ``t >= 1``.

    Taught in chapter 08, section 3 (the posterior of one step).

    ``mean = (sqrt(alpha_bar_{t-1}) beta_t x_0 + sqrt(alpha_t) (1 - alpha_bar_{t-1}) x_t) / (1 - alpha_bar_t)``
    and ``variance = beta_tilde_t = beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)`` (0 at ``t = 1``).

    Returns
    -------
    mean
        Shape of ``x0``.
    variance
        One per row, shaped to broadcast against ``mean``.
    """
    t = np.asarray(t)
    beta, alpha_bar, alpha_bar_prev = schedule.beta(t), schedule.alpha_bar(t), schedule.alpha_bar(t - 1)
    coef_x0 = _column(np.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar), x0)
    coef_xt = _column(np.sqrt(1 - beta) * (1 - alpha_bar_prev) / (1 - alpha_bar), x0)
    variance = _column(beta * (1 - alpha_bar_prev) / (1 - alpha_bar), x0)
    return coef_x0 * x0 + coef_xt * x_t, variance


def x0_from_noise(x_t: np.ndarray, t, noise: np.ndarray, schedule: NoiseSchedule) -> np.ndarray:
    """The clean data that ``noise`` would have been added to: ``(x_t - sqrt(1 - alpha_bar_t) noise) / sqrt(alpha_bar_t)``.

    Taught in chapter 08, section 5 (three things a network can predict).
    """
    alpha_bar = _column(schedule.alpha_bar(t), x_t)
    return (x_t - np.sqrt(1 - alpha_bar) * noise) / np.sqrt(alpha_bar)


def noise_from_x0(x_t: np.ndarray, t, x0: np.ndarray, schedule: NoiseSchedule) -> np.ndarray:
    """The noise that turned ``x0`` into ``x_t``: the inverse of :func:`x0_from_noise`.

    Taught in chapter 08, section 5 (three things a network can predict).
    """
    alpha_bar = _column(schedule.alpha_bar(t), x_t)
    return (x_t - np.sqrt(alpha_bar) * x0) / np.sqrt(1 - alpha_bar)


def score_from_noise(noise: np.ndarray, t, schedule: NoiseSchedule) -> np.ndarray:
    """``grad log q_t(x_t) = -E[noise | x_t] / sqrt(1 - alpha_bar_t)``: the score from a noise prediction.

    Taught in chapter 08, section 5 (Tweedie's formula).
    """
    return -noise / np.sqrt(1 - _column(schedule.alpha_bar(t), noise))


def gaussian_kl(mean1, variance1, mean2, variance2):
    """``KL(N(mean1, variance1) || N(mean2, variance2))`` per coordinate, in nats.

    Taught in chapter 08, section 4 (the evidence lower bound); chapter 02 derives it.

    >>> float(gaussian_kl(1.0, 1.0, 0.0, 1.0))
    0.5
    """
    return 0.5 * (np.log(variance2 / variance1) + (variance1 + (mean1 - mean2) ** 2) / variance2 - 1)


def elbo_weight(t, schedule: NoiseSchedule, *, variance: str = "beta") -> np.ndarray:
    """``lambda_t = beta_t² / (2 sigma_t² alpha_t (1 - alpha_bar_t))``: the bound's weight on ``||noise - predicted||²``.

    Taught in chapter 08, section 4 (from the bound to the plain loss). With a reverse step of variance
    ``sigma_t²`` and mean written through a noise prediction, the KL term of step ``t`` is exactly
    ``lambda_t`` times the squared error of that prediction; the plain loss of Ho et al. sets every
    ``lambda_t`` to 1.

    Parameters
    ----------
    variance
        ``"beta"`` (``sigma_t² = beta_t``) or ``"posterior"`` (``sigma_t² = beta_tilde_t``, undefined at ``t = 1``).
    """
    t = np.asarray(t)
    beta, alpha_bar = schedule.beta(t), schedule.alpha_bar(t)
    sigma2 = _reverse_variance(t, schedule, variance)
    return beta**2 / (2 * sigma2 * (1 - beta) * (1 - alpha_bar))


def _reverse_variance(t, schedule: NoiseSchedule, variance: str):
    if variance == "beta":
        return schedule.beta(t)
    if variance == "posterior":
        t = np.asarray(t)
        return schedule.beta(t) * (1 - schedule.alpha_bar(t - 1)) / (1 - schedule.alpha_bar(t))
    raise MusegenError(f"variance must be 'beta' or 'posterior', not {variance!r}")


def ddpm_step(
    x_t: np.ndarray,
    t: int,
    noise: np.ndarray,
    schedule: NoiseSchedule,
    rng: np.random.Generator,
    *,
    variance: str = "beta",
) -> np.ndarray:
    """One ancestral step: ``x_{t-1} ~ N(mu(x_t, noise), sigma_t²)``, no noise added at ``t = 1``.

    Taught in chapter 08, section 7 (sampling). ``mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) noise) /
    sqrt(alpha_t)`` is the posterior mean with ``x_0`` predicted from the noise (Ho et al.'s Algorithm 2).

    Parameters
    ----------
    noise
        The predicted noise at ``(x_t, t)``.
    variance
        ``"beta"`` (Ho et al.'s default) or ``"posterior"`` (``beta_tilde_t``).
    """
    beta, alpha_bar = schedule.beta(t), schedule.alpha_bar(t)
    mean = (x_t - beta / np.sqrt(1 - alpha_bar) * noise) / np.sqrt(1 - beta)
    if t == 1:
        return mean
    return mean + np.sqrt(_reverse_variance(t, schedule, variance)) * rng.standard_normal(x_t.shape)


def ddim_step(
    x_t: np.ndarray,
    t: int,
    t_prev: int,
    noise: np.ndarray,
    schedule: NoiseSchedule,
    *,
    eta: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One DDIM step from ``t`` to any earlier ``t_prev`` (Song, Meng and Ermon 2021, their equation 12).

    Taught in chapter 08, section 7 (sampling).

    ``x_{t_prev} = sqrt(alpha_bar_prev) x0_hat + sqrt(1 - alpha_bar_prev - sigma²) noise + sigma z`` with
    ``x0_hat`` from the noise and ``sigma = eta sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t))
    sqrt(1 - alpha_bar_t / alpha_bar_prev)``. ``eta = 0`` is deterministic; ``eta = 1`` with
    ``t_prev = t - 1`` is a DDPM step with the posterior's variance.
    """
    alpha_bar, alpha_bar_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
    x0_hat = x0_from_noise(x_t, t, noise, schedule)
    sigma = eta * np.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev))
    x_prev = np.sqrt(alpha_bar_prev) * x0_hat + np.sqrt(1 - alpha_bar_prev - sigma**2) * noise
    if sigma > 0:
        if rng is None:
            raise MusegenError("a DDIM step with eta > 0 draws noise: pass rng")
        x_prev = x_prev + sigma * rng.standard_normal(x_t.shape)
    return x_prev


def sampling_steps(schedule: NoiseSchedule, steps: int) -> np.ndarray:
    """The steps DDIM visits with ``steps`` network calls, from ``T`` down: ``round(linspace(T, 1, steps))``.

    Taught in chapter 08, section 7 (sampling).

    >>> sampling_steps(linear_schedule(), 5).tolist()
    [1000, 750, 500, 251, 1]
    """
    if not 1 <= steps <= schedule.steps:
        raise MusegenError(f"steps must be between 1 and {schedule.steps}, not {steps}")
    return np.unique(np.round(np.linspace(1, schedule.steps, steps)).astype(int))[::-1]


def sample(
    predict_noise: NoisePredictor,
    shape: tuple[int, ...],
    schedule: NoiseSchedule,
    *,
    steps: int | None = None,
    eta: float | None = None,
    seed: int = 0,
    return_path: bool = False,
):
    """Run the reverse process from pure noise: DDPM over all ``T`` steps, or DDIM over ``steps`` of them.

    Taught in chapter 08, section 7 (sampling).

    Parameters
    ----------
    predict_noise
        ``predict_noise(x_t, t) -> noise``, shape ``shape``.
    shape
        ``(n, ...)``: how many samples and their shape.
    steps
        ``None`` for DDPM's ancestral sampling over every step (``sigma_t² = beta_t``); a number for DDIM
        over that many evenly spaced steps (``round(linspace(T, 1, steps))``).
    eta
        DDIM's noise (0, the default, is deterministic); only with ``steps``.
    seed
        Seeds the starting noise and every draw.
    return_path
        Also return ``x_t`` after every step, ``(steps + 1, *shape)``, from the noise to the sample.

    Returns
    -------
    numpy.ndarray
        Shape ``shape``: the samples (and the path if asked).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    path = [x] if return_path else None  # kept only when asked: every step is another copy of the samples
    if steps is None:
        if eta is not None:
            raise MusegenError("eta is DDIM's: pass steps too")
        for t in range(schedule.steps, 0, -1):
            x = ddpm_step(x, t, predict_noise(x, t), schedule, rng)
            if return_path:
                path.append(x)
    else:
        times = sampling_steps(schedule, steps)
        for t, t_prev in zip(times, [*times[1:], 0]):
            x = ddim_step(x, int(t), int(t_prev), predict_noise(x, int(t)), schedule, eta=eta or 0.0, rng=rng)
            if return_path:
                path.append(x)
    return (x, np.stack(path)) if return_path else x


def inpaint(
    predict_noise: NoisePredictor,
    known: np.ndarray,
    keep: np.ndarray,
    schedule: NoiseSchedule,
    *,
    steps: int | None = None,
    resample: int = 1,
    seed: int = 0,
    return_path: bool = False,
):
    """Fill in what ``keep`` leaves out of ``known`` with an unconditional model: replacement, or RePaint.

    Taught in chapter 08, section 11 (infilling).

    Every step is an ancestral one (DDPM over all ``T`` steps, or with ``steps`` DDPM on the respaced
    schedule, a DDIM step with ``eta = 1``); after it, the kept numbers of ``x_{t'}`` are replaced by a fresh
    draw of ``q(x_{t'} | x_0 = known)``, so they carry the known music at that step's noise level (the
    *replacement* method; Song et al. 2021, appendix). The generated part never sees the known part's noise
    it was made beside, and can disagree with it. RePaint (Lugmayr et al. 2022, jump length 1) repeats every
    step ``resample`` times: between tries, ``x_{t'}`` is noised back to ``x_t`` with ``q(x_t | x_{t'})``
    (``sqrt(alpha_bar_t / alpha_bar_t') x_{t'} + sqrt(1 - alpha_bar_t / alpha_bar_t') z``), and the step
    is taken again, which lets the two parts come to agree, as repeated Gibbs updates do.

    Parameters
    ----------
    known
        ``(n, ...)``: the music to keep (anything where ``keep`` is False: ignored).
    keep
        Boolean, broadcastable to ``known``: True where ``known`` is kept.
    steps
        ``None``: every one of the ``T`` steps; a number: that many evenly spaced ones.
    resample
        Tries per step (1: replacement; more: RePaint).
    return_path
        Also return ``x_t`` after every step (the last try), ``(steps + 1, *known.shape)``.
    """
    if not (isinstance(resample, (int, np.integer)) and resample >= 1):
        raise MusegenError(f"resample must be a whole number of tries, at least 1, got {resample!r}")
    known = np.asarray(known, dtype=np.float64)
    keep = np.broadcast_to(np.asarray(keep, dtype=bool), known.shape)
    rng = np.random.default_rng(seed)
    times = np.arange(schedule.steps, 0, -1) if steps is None else sampling_steps(schedule, steps)
    x = rng.standard_normal(known.shape)
    path = [x] if return_path else None
    for t, t_prev in zip(times, [*times[1:], 0]):
        t, t_prev = int(t), int(t_prev)
        for attempt in range(resample):
            x_prev = ddim_step(x, t, t_prev, predict_noise(x, t), schedule, eta=1.0, rng=rng)
            kept = (
                known if t_prev == 0 else add_noise(known, t_prev, rng.standard_normal(known.shape), schedule)
            )
            x_prev = np.where(keep, kept, x_prev)
            if attempt < resample - 1 and t_prev > 0:
                ratio = schedule.alpha_bar(t) / schedule.alpha_bar(t_prev)
                x = np.sqrt(ratio) * x_prev + np.sqrt(1 - ratio) * rng.standard_normal(known.shape)
            else:
                break
        x = x_prev
        if return_path:
            path.append(x)
    return (x, np.stack(path)) if return_path else x


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    """A mixture of isotropic Gaussians: data whose every noised version is again such a mixture.

    Taught in chapter 08, section 1 (the toy) and section 5 (the optimal denoiser).

    Because ``x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) noise``, component ``k`` with mean ``m_k`` and
    standard deviation ``s_k`` becomes a Gaussian with mean ``sqrt(alpha_bar) m_k`` and variance
    ``alpha_bar s_k² + 1 - alpha_bar``: the noised density, its score and the best possible denoiser
    ``E[x_0 | x_t]`` are exact.

    Parameters
    ----------
    weights
        Shape ``(K,)``, summing to 1.
    means
        Shape ``(K, D)``.
    stds
        Shape ``(K,)``: each component's standard deviation, the same in every direction.
    """

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray

    def __post_init__(self):
        for name in ("weights", "means", "stds"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        if self.means.ndim != 2 or self.weights.shape != self.stds.shape != (len(self.means),):
            raise MusegenError("a mixture needs weights (K,), means (K, D) and stds (K,)")
        if not np.isclose(self.weights.sum(), 1.0) or np.any(self.weights < 0) or np.any(self.stds <= 0):
            raise MusegenError("a mixture's weights must be >= 0 and sum to 1, its stds > 0")

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` draws, shape ``(n, D)``."""
        rng = np.random.default_rng(seed)
        k = rng.choice(len(self.weights), size=n, p=self.weights)
        return self.means[k] + self.stds[k, None] * rng.standard_normal((n, self.means.shape[1]))

    def noised(self, alpha_bar: float) -> GaussianMixture:
        """The distribution of ``x_t`` when ``x_0`` is drawn from this mixture: ``q_t``."""
        return GaussianMixture(
            self.weights,
            np.sqrt(alpha_bar) * self.means,
            np.sqrt(alpha_bar * self.stds**2 + 1 - alpha_bar),
        )

    def _log_joint(self, x: np.ndarray) -> np.ndarray:
        """``log w_k + log N(x; m_k, s_k² I)``, shape ``(n, K)``."""
        dims = self.means.shape[1]
        squared = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        return (
            np.log(self.weights)
            - dims * np.log(self.stds)
            - 0.5 * dims * np.log(2 * np.pi)
            - squared / (2 * self.stds**2)
        )

    def responsibilities(self, x: np.ndarray) -> np.ndarray:
        """``P(component k | x)``, shape ``(n, K)``."""
        log_joint = self._log_joint(x)
        log_joint -= log_joint.max(axis=1, keepdims=True)
        joint = np.exp(log_joint)
        return joint / joint.sum(axis=1, keepdims=True)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """``log p(x)``, shape ``(n,)``."""
        log_joint = self._log_joint(x)
        top = log_joint.max(axis=1)
        return top + np.log(np.exp(log_joint - top[:, None]).sum(axis=1))

    def score(self, x: np.ndarray) -> np.ndarray:
        """``grad_x log p(x)``, shape ``(n, D)``: the responsibilities' mix of ``(m_k - x) / s_k²``."""
        pulls = (self.means[None] - x[:, None, :]) / self.stds[None, :, None] ** 2
        return (self.responsibilities(x)[:, :, None] * pulls).sum(axis=1)

    def coverage(
        self, points: np.ndarray, *, radius: float = 0.3, min_share: float = 0.02
    ) -> tuple[int, float]:
        """How many components ``points`` cover, and the share of points near any component's mean.

        Taught in chapter 03, section 4 (mode collapse) and chapter 08, section 8. A point is *near* a
        component when it lies within ``radius`` of its mean; a component is *covered* when at least
        ``min_share`` of all points are near it (and nearer to it than to any other).

        >>> ring = ring_of_gaussians()
        >>> ring.coverage(ring.sample(2000))
        (8, 1.0)
        >>> ring.coverage(np.repeat(ring.means[:1], 100, axis=0))
        (1, 1.0)
        """
        distance = np.linalg.norm(points[:, None, :] - self.means[None], axis=-1)
        near = distance.min(axis=1) < radius
        counts = np.bincount(distance.argmin(axis=1)[near], minlength=len(self.means))
        return int((counts >= min_share * len(points)).sum()), float(near.mean())

    def optimal_noise(self, schedule: NoiseSchedule) -> NoisePredictor:
        """The best noise predictor in squared error, ``E[noise | x_t]``, as a ``predict_noise(x_t, t)``.

        By Tweedie's formula it is ``-sqrt(1 - alpha_bar_t)`` times the score of the noised mixture.
        """

        def predict_noise(x_t: np.ndarray, t: int) -> np.ndarray:
            alpha_bar = schedule.alpha_bar(t)
            return -np.sqrt(1 - alpha_bar) * self.noised(alpha_bar).score(x_t)

        return predict_noise


def ring_of_gaussians(modes: int = 8, *, radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    """Chapter 03's mode-collapse toy: ``modes`` equal, tight Gaussians evenly spaced on a circle.

    Taught in chapter 03, section 4 (mode collapse) and chapter 08, section 1 (the toy).

    >>> ring = ring_of_gaussians()
    >>> ring.means.shape, np.round(ring.means[2], 6).tolist()
    ((8, 2), [0.0, 2.0])
    """
    angles = 2 * np.pi * np.arange(modes) / modes
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GaussianMixture(np.full(modes, 1 / modes), means, np.full(modes, std))
