"""The simulated tasks of bench_posterior: simulators whose posterior is known exactly, and their references.

Each task is a table of (cause, outcome) rows simulated from a known model: causes θ from a prior p(θ), outcomes
x from the likelihood p(x | θ). The inverse question is p(θ | x_o) for an observed outcome x_o, and each task
has a reference for it, in closed form or by an exact computation:

- `LinearGaussian`: θ ~ N(μ0, Σ0) in d = 10 dimensions (μ0 = 0, Σ0 = I), x = θ + ε, ε ~ N(0, σ² I), σ = 0.5.
  The posterior is Gaussian in closed form (Bishop 2006, PRML eq. 2.116–2.117, with A = I):
  Σ_post = (Σ0⁻¹ + Aᵀ Σ_ε⁻¹ A)⁻¹, μ_post = Σ_post (Σ0⁻¹ μ0 + Aᵀ Σ_ε⁻¹ x); here μ_post = x / (1 + σ²) and
  every posterior sd is σ / √(1 + σ²) = 0.447.
- `TwoModes`: θ ~ N(0, I) in 2 dimensions, x_j = |θ_j| + ε_j, ε_j ~ N(0, σ²), σ = 0.25: the sign of every θ_j
  is lost, so each x_o has 2² = 4 posterior modes. Per dimension, p(θ_j | x_j) ∝ φ(θ_j) φ((x_j − |θ_j|) / σ),
  and on θ_j > 0 the product of the two Gaussians is N(θ_j; m, v) with m = x_j / (1 + σ²), v = σ² / (1 + σ²)
  (the same constant on both sides), so the posterior is exactly ½ TN⁺(m, v) + ½ TN⁻(−m, v), a normal
  truncated to θ_j > 0 and its mirror image: mean 0, E[θ_j²] the truncated normal's second moment.
- `Diagnosis` (mixed types): a categorical cause `disease` ∈ {A, B, C} with prior π = (0.5, 0.3, 0.2) and a
  numeric cause `severity` ~ N(0, 1), independent; effects `marker1` = μ_d + severity + σ1 ε (μ = (−1.5, 0,
  1.5), σ1 = 0.5), `marker2` = ν_d + σ2 ε (ν = (0, 2, −1), σ2 = 0.8), a categorical `symptom` ∈ {none, mild,
  severe} with P(symptom | disease) a fixed table, and `test` ∈ {neg, pos} with P(pos | disease) = (0.1,
  0.6, 0.9). Bayes' rule, with severity integrated out in closed form (marker1 | d ~ N(μ_d, 1 + σ1²)):
  P(d | x) ∝ π_d N(m1; μ_d, 1 + σ1²) N(m2; ν_d, σ2²) P(s | d) P(t | d), and severity | d, x ~
  N((m1 − μ_d) / (1 + σ1²), σ1² / (1 + σ1²)): the joint posterior is a 3-component mixture, exactly.
- `Sinusoid` (nonlinear): amplitude A ~ U(0.5, 2) and angular frequency ω ~ U(0.5, 3) (rad per unit time);
  x_k = A sin(ω t_k) + ε_k at t = (1, 2, 3, 4), ε_k ~ N(0, σ²), σ = 0.2. Near ω = π every sin(ω t_k) is
  ≈ 0 and A is not identified: curved, ridge-like posteriors. Reference: sampling-importance-resampling
  (Rubin 1988) with the prior as proposal and the exact Gaussian likelihood as weight, proposals drawn in
  chunks of 2²⁰ until the effective sample size (Σw)²/Σw² is at least `ESS_FACTOR` × the requested samples
  (at most `MAX_PROPOSALS`); posterior moments are the self-normalised importance estimates.

Observations follow sbibm (Lueckmann et al., AISTATS 2021): θ* drawn from the prior, x_o ~ p(x | θ*), with a
fixed seed per task and observation index, so every method and every training seed answers the same x_o.

Shapes: a task's `prior(n, rng)` is a DataFrame (n, causes), `simulate(causes, rng)` a DataFrame (n, outcomes);
`reference(x_o, n, rng)` a DataFrame (n, causes) of posterior samples; `moments(x_o)` the posterior mean and sd
of the numeric causes, (n_numeric,) float64 each; `level_posterior(x_o)` {categorical cause: (n_levels,)
probabilities}. x_o is a pandas Series indexed by the outcome columns. Pure numpy, pandas and scipy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

ESS_FACTOR = 20
MAX_PROPOSALS = 1 << 26
CHUNK = 1 << 20


def gaussian_linear_posterior(x: np.ndarray, A: np.ndarray, noise_cov: np.ndarray, prior_mean: np.ndarray,
                              prior_cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The posterior N(mean, cov) of θ given x for θ ~ N(prior_mean, prior_cov), x = A θ + ε, ε ~ N(0, noise_cov).

    x: (m,), A: (m, d), noise_cov: (m, m), prior_mean: (d,), prior_cov: (d, d). Returns mean (d,), cov (d, d):
    cov = (prior_cov⁻¹ + Aᵀ noise_cov⁻¹ A)⁻¹, mean = cov (prior_cov⁻¹ prior_mean + Aᵀ noise_cov⁻¹ x)
    (Bishop 2006, PRML eq. 2.116–2.117)."""
    prior_prec = np.linalg.inv(prior_cov)
    noise_prec = np.linalg.inv(noise_cov)
    cov = np.linalg.inv(prior_prec + A.T @ noise_prec @ A)
    mean = cov @ (prior_prec @ prior_mean + A.T @ noise_prec @ np.asarray(x, dtype=float))
    return mean, (cov + cov.T) / 2


@dataclass
class Task:
    """One simulated task. causes/outcomes: column names in table order; levels: {categorical column: levels}."""

    name: str
    causes: list[str]
    outcomes: list[str]
    levels: dict[str, list[str]] = field(default_factory=dict)
    summary: str = ""

    @property
    def numeric_causes(self) -> list[str]:
        return [c for c in self.causes if c not in self.levels]

    @property
    def categorical_causes(self) -> list[str]:
        return [c for c in self.causes if c in self.levels]

    def prior(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        raise NotImplementedError

    def simulate(self, causes: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        raise NotImplementedError

    def table(self, n: int, seed: int) -> pd.DataFrame:
        """n simulated rows (causes then outcomes), the training table of seed `seed`."""
        rng = np.random.default_rng([seed, 1000])
        causes = self.prior(n, rng)
        return pd.concat([causes, self.simulate(causes, rng)], axis=1)

    def observations(self, n: int, start: int = 0, kind: int = 0) -> pd.DataFrame:
        """n observations (θ*, x_o): rows start .. start + n − 1 of this task's fixed observation sequence
        (kind 0 for the C2ST observations, 1 for the coverage ones), the same for every method and seed."""
        rows = []
        for i in range(start, start + n):
            rng = np.random.default_rng([20_21, kind, i])
            causes = self.prior(1, rng)
            rows.append(pd.concat([causes, self.simulate(causes, rng)], axis=1))
        return pd.concat(rows, ignore_index=True)

    def reference(self, x_o: pd.Series, n: int, rng: np.random.Generator) -> pd.DataFrame:
        raise NotImplementedError

    def moments(self, x_o: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def level_posterior(self, x_o: pd.Series) -> dict[str, np.ndarray]:
        return {}


class NoisyLink(Task):
    """θ ~ N(0, I_d) (columns theta_j), x = link(θ) + N(0, σ² I_d) (columns x_j), link elementwise."""

    def __init__(self, name: str, d: int, sigma: float, summary: str):
        super().__init__(name, [f"theta_{j}" for j in range(d)], [f"x_{j}" for j in range(d)], summary=summary)
        self.d, self.sigma = d, sigma

    def link(self, theta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def prior(self, n, rng):
        return pd.DataFrame(rng.normal(size=(n, self.d)), columns=self.causes)

    def simulate(self, causes, rng):
        theta = causes[self.causes].to_numpy(dtype=float)
        return pd.DataFrame(self.link(theta) + self.sigma * rng.normal(size=theta.shape), columns=self.outcomes)


class LinearGaussian(NoisyLink):
    """θ ~ N(0, I_d), x = θ + N(0, σ² I_d): the closed-form Gaussian posterior (module docstring)."""

    def __init__(self, d: int = 10, sigma: float = 0.5):
        super().__init__("linear_gaussian", d, sigma,
                         summary=f"θ ~ N(0, I_{d}), x = θ + N(0, {sigma}² I): posterior N(x / (1 + σ²), "
                                 "σ² / (1 + σ²) I), closed form")

    def link(self, theta):
        return theta

    def posterior(self, x_o: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(mean (d,), cov (d, d)) of p(θ | x_o) by gaussian_linear_posterior."""
        eye = np.eye(self.d)
        return gaussian_linear_posterior(x_o[self.outcomes].to_numpy(dtype=float), eye, self.sigma ** 2 * eye,
                                         np.zeros(self.d), eye)

    def reference(self, x_o, n, rng):
        mean, cov = self.posterior(x_o)
        return pd.DataFrame(rng.multivariate_normal(mean, cov, size=n), columns=self.causes)

    def moments(self, x_o):
        mean, cov = self.posterior(x_o)
        return mean, np.sqrt(np.diag(cov))


class TwoModes(NoisyLink):
    """θ ~ N(0, I_d), x_j = |θ_j| + N(0, σ²): per dimension ½ TN⁺(m, v) + ½ its mirror (module docstring)."""

    def __init__(self, d: int = 2, sigma: float = 0.25):
        super().__init__("two_modes", d, sigma,
                         summary=f"θ ~ N(0, I_{d}), x = |θ| + N(0, {sigma}²): 2^{d} modes, per dimension a "
                                 "truncated normal and its mirror image, closed form")

    def link(self, theta):
        return np.abs(theta)

    def half(self, x_o: pd.Series):
        """The positive half's truncated normal per dimension: scipy frozen truncnorm with (d,) parameters."""
        x = x_o[self.outcomes].to_numpy(dtype=float)
        s2 = self.sigma ** 2
        m, sd = x / (1 + s2), np.sqrt(s2 / (1 + s2))
        return stats.truncnorm(a=(0 - m) / sd, b=np.inf, loc=m, scale=sd)

    def reference(self, x_o, n, rng):
        tn = self.half(x_o)
        pos = tn.rvs(size=(n, self.d), random_state=rng)
        sign = rng.choice([-1.0, 1.0], size=(n, self.d))
        return pd.DataFrame(pos * sign, columns=self.causes)

    def moments(self, x_o):
        tn = self.half(x_o)
        second = tn.var() + tn.mean() ** 2  # E[θ²] of the mirror mixture = that of one half
        return np.zeros(self.d), np.sqrt(second)


class Diagnosis(Task):
    """A categorical and a numeric cause, numeric and categorical effects; Bayes' rule exactly (module docstring)."""

    DISEASES = ["A", "B", "C"]
    PRIOR = np.array([0.5, 0.3, 0.2])
    MU = np.array([-1.5, 0.0, 1.5])   # marker1 shift per disease
    NU = np.array([0.0, 2.0, -1.0])   # marker2 mean per disease
    SIGMA1, SIGMA2 = 0.5, 0.8
    SYMPTOMS = ["none", "mild", "severe"]
    P_SYMPTOM = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6]])  # rows: disease
    TESTS = ["neg", "pos"]
    P_POS = np.array([0.1, 0.6, 0.9])

    def __init__(self):
        super().__init__("diagnosis", ["disease", "severity"], ["marker1", "marker2", "symptom", "test"],
                         levels={"disease": self.DISEASES, "symptom": self.SYMPTOMS, "test": self.TESTS},
                         summary="disease ∈ {A,B,C} (0.5/0.3/0.2), severity ~ N(0,1); marker1 = μ_d + severity + "
                                 "N(0,0.5²), marker2 = ν_d + N(0,0.8²), symptom | d and test | d categorical: "
                                 "Bayes' rule, a 3-component mixture, exact")

    def prior(self, n, rng):
        d = rng.choice(3, size=n, p=self.PRIOR)
        return pd.DataFrame({"disease": np.array(self.DISEASES, dtype=object)[d], "severity": rng.normal(size=n)})

    def simulate(self, causes, rng):
        d = pd.Categorical(causes["disease"], categories=self.DISEASES).codes
        n = len(d)
        sev = causes["severity"].to_numpy(dtype=float)
        m1 = self.MU[d] + sev + self.SIGMA1 * rng.normal(size=n)
        m2 = self.NU[d] + self.SIGMA2 * rng.normal(size=n)
        u = rng.random(n)
        s = (u[:, None] > np.cumsum(self.P_SYMPTOM[d], axis=1)).sum(axis=1)
        t = (rng.random(n) < self.P_POS[d]).astype(int)
        return pd.DataFrame({"marker1": m1, "marker2": m2, "symptom": np.array(self.SYMPTOMS, dtype=object)[s],
                             "test": np.array(self.TESTS, dtype=object)[t]})

    def disease_posterior(self, x_o: pd.Series) -> np.ndarray:
        """P(disease | x_o), (3,): π_d N(m1; μ_d, 1 + σ1²) N(m2; ν_d, σ2²) P(s | d) P(t | d), normalised."""
        m1, m2 = float(x_o["marker1"]), float(x_o["marker2"])
        s, t = self.SYMPTOMS.index(x_o["symptom"]), self.TESTS.index(x_o["test"])
        log = (np.log(self.PRIOR) + stats.norm.logpdf(m1, self.MU, np.sqrt(1 + self.SIGMA1 ** 2))
               + stats.norm.logpdf(m2, self.NU, self.SIGMA2) + np.log(self.P_SYMPTOM[:, s])
               + np.log(np.where(t == 1, self.P_POS, 1 - self.P_POS)))
        w = np.exp(log - log.max())
        return w / w.sum()

    def severity_given_disease(self, x_o: pd.Series) -> tuple[np.ndarray, float]:
        """Means (3,) and the common sd of severity | disease, x_o (a Gaussian per disease)."""
        k = 1 + self.SIGMA1 ** 2
        return (float(x_o["marker1"]) - self.MU) / k, float(np.sqrt(self.SIGMA1 ** 2 / k))

    def reference(self, x_o, n, rng):
        p = self.disease_posterior(x_o)
        d = rng.choice(3, size=n, p=p)
        means, sd = self.severity_given_disease(x_o)
        return pd.DataFrame({"disease": np.array(self.DISEASES, dtype=object)[d],
                             "severity": means[d] + sd * rng.normal(size=n)})

    def moments(self, x_o):
        p = self.disease_posterior(x_o)
        means, sd = self.severity_given_disease(x_o)
        mean = float(p @ means)
        var = float(p @ (sd ** 2 + means ** 2)) - mean ** 2
        return np.array([mean]), np.array([np.sqrt(var)])

    def level_posterior(self, x_o):
        return {"disease": self.disease_posterior(x_o)}


class Sinusoid(Task):
    """A ~ U(0.5, 2), ω ~ U(0.5, 3), x_k = A sin(ω t_k) + N(0, σ²): the reference by SIR (module docstring)."""

    LOW = np.array([0.5, 0.5])
    HIGH = np.array([2.0, 3.0])

    def __init__(self, times: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0), sigma: float = 0.2):
        super().__init__("sinusoid", ["amplitude", "frequency"], [f"x_t{int(t)}" for t in times],
                         summary="A ~ U(0.5,2), ω ~ U(0.5,3), x_k = A sin(ω t_k) + N(0, 0.2²), t = 1..4: "
                                 "reference by importance resampling on the exact likelihood")
        self.times, self.sigma = np.asarray(times, dtype=float), sigma
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._stats: dict[tuple, tuple[float, int]] = {}  # (ESS, proposals drawn) per cached reference
        self.ess, self.proposals = float("nan"), 0  # of the last reference asked for

    def prior(self, n, rng):
        return pd.DataFrame(self.LOW + (self.HIGH - self.LOW) * rng.random((n, 2)), columns=self.causes)

    def mean_outcome(self, theta: np.ndarray) -> np.ndarray:
        """A sin(ω t_k): theta (n, 2) → (n, n_times)."""
        return theta[:, :1] * np.sin(theta[:, 1:2] * self.times[None, :])

    def simulate(self, causes, rng):
        theta = causes[self.causes].to_numpy(dtype=float)
        mu = self.mean_outcome(theta)
        return pd.DataFrame(mu + self.sigma * rng.normal(size=mu.shape), columns=self.outcomes)

    def log_likelihood(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        """log p(x | θ) up to a constant, theta (n, 2), x (n_times,) → (n,)."""
        r = self.mean_outcome(theta) - x[None, :]
        return -0.5 * (r ** 2).sum(axis=1) / self.sigma ** 2

    def weighted(self, x_o: pd.Series, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Prior proposals θ (k, 2) and normalised weights w (k,) with ESS ≥ ESS_FACTOR · n (or MAX_PROPOSALS
        drawn), weights below e⁻³⁰ of the largest dropped. Deterministic per x_o (cached)."""
        x = x_o[self.outcomes].to_numpy(dtype=float)
        key = (tuple(np.round(x, 12)), n)
        if key in self._cache:
            self.ess, self.proposals = self._stats[key]
            return self._cache[key]
        rng = np.random.default_rng([7, *np.frombuffer(x.tobytes(), dtype=np.uint32).tolist()])
        thetas, logs, drawn = [], [], 0
        while True:
            th = self.prior(CHUNK, rng).to_numpy()
            lw = self.log_likelihood(th, x)
            drawn += CHUNK
            thetas.append(th)
            logs.append(lw)
            top = max(v.max() for v in logs)
            keep = [lw_i > top - 30 for lw_i in logs]
            thetas = [t[k] for t, k in zip(thetas, keep, strict=True)]
            logs = [lw_i[k] for lw_i, k in zip(logs, keep, strict=True)]
            w = np.exp(np.concatenate(logs) - top)
            ess = w.sum() ** 2 / (w ** 2).sum()
            if ess >= ESS_FACTOR * n or drawn >= MAX_PROPOSALS:
                break
        out = (np.concatenate(thetas), w / w.sum())
        self.ess, self.proposals = float(ess), drawn
        self._cache[key], self._stats[key] = out, (self.ess, drawn)
        return out

    def reference(self, x_o, n, rng):
        theta, w = self.weighted(x_o, max(n, 1000))
        idx = rng.choice(len(w), size=n, p=w)
        return pd.DataFrame(theta[idx], columns=self.causes)

    def moments(self, x_o):
        theta, w = self.weighted(x_o, 1000)
        mean = w @ theta
        return mean, np.sqrt(w @ (theta - mean) ** 2)


TASKS = {t.name: t for t in (LinearGaussian(), TwoModes(), Diagnosis(), Sinusoid())}


def get_task(name: str) -> Task:
    """The task called `name` (one of TASKS). Errors: KeyError listing the names."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}")
    return TASKS[name]
