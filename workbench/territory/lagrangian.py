"""Lagrangian lower bound of the balanced p-median over nearby pairs, with a real dual ascent.

Relax the assignment rows ``sum_j x_ij = 1`` (multipliers ``lambda_i``, free) and the balance
rows ``L_m y_j <= sum_i a_im x_ij <= U_m y_j`` (multipliers ``nu_mj, mu_mj >= 0``; measures in
shares of their mean, so every multiplier is in weighted km) of the LP relaxation of the
balanced p-median (``x_ij <= y_j``, ``x_jj = y_j``, ``sum_j y_j = k``, ``0 <= x, y <= 1``)::

    L(lambda, mu, nu) = sum_i lambda_i + (sum of the k smallest s_j)
    s_j  = -lambda_j + sum_m [(a_jm - U_m) mu_mj + (L_m - a_jm) nu_mj] + sum_{i != j} min(0, g_ij)
    g_ij = c_ij - lambda_i + sum_m a_im (mu_mj - nu_mj)          (c_ij = w_i d_ij)

Weak duality makes ``L`` a lower bound on every plan that meets the bands, whatever the
multipliers (contiguity, locks and budget are relaxed: still valid). At the LP's own duals it
equals the LP optimum.

**Nearby pairs, still exact.** Each unit keeps its ``K`` nearest other units as candidate
centres, and its multiplier is held at ``lambda_i <= cap_i = w_i d(i, K-th nearest)``. For every
pair outside the list ``c_ij >= cap_i >= lambda_i`` and ``a, mu >= 0``, so ``g_ij >= 0`` and
the pair adds nothing to ``s_j``: ``L`` evaluated on the lists equals ``L`` over all ``n^2``
pairs. Restricting where the multipliers may go only restricts the dual; every value is a
valid bound. With ``K = n - 1`` (all pairs) the cap is lifted and the lower-band prices
``nu`` are used too; with shorter lists ``nu = 0`` (a floor price could make a far pair
attractive).

**Ascent.** Projected subgradient steps ``x += t D g``, ``t = theta (target - L) / g'Dg``
(Polyak, in scaled multipliers), with ``theta`` halved after ``patience`` steps without a new
best, from a warm start (the LP's duals, or the plan's own unit costs). The multipliers live on
different scales - ``lambda_i`` is about ``w_i`` times a territory's radius, a band price about
a territory's worth of units (``n / k``) times that - so the diagonal ``D`` is ``w_i / mean(w)``
for ``lambda`` and ``(n / k)^2`` for ``mu`` and ``nu``. Unscaled steps plateaued 15 % below
the LP on the demo's 570 blocks (27.3 km; the LP on 150 candidates per unit is 32.7 km); scaled
ones reach 32.0 km in the same 300 steps (of ``D_lambda`` = 1, ``w``, ``w^2`` and band scales
``(n / k)^2`` x 1/4, 1, 4, this one was the best or near it). The number of steps is fixed:
the bound does not depend on the clock. The best value seen is returned, with its multipliers
(for reduced-cost fixing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from ..geo import nearest_km
from .problem import TerritoryProblem

__all__ = ["AscentResult", "NearLagrangian"]


@dataclasses.dataclass
class AscentResult:
    value: float  # best L seen (weighted km): a valid lower bound
    lam: np.ndarray  # (n,) multipliers at the best value
    mu: np.ndarray  # (M, n) upper-band prices
    nu: np.ndarray  # (M, n) lower-band prices
    steps: int


class NearLagrangian:
    """The function ``L`` above on each unit's ``K`` nearest candidate centres."""

    def __init__(self, problem: TerritoryProblem, neighbours: int):
        n = problem.n
        self.problem = problem
        self.n, self.k = n, problem.k
        kk = int(min(max(neighbours, 1), n - 1))
        idx, km = nearest_km(problem.lat, problem.lon, min(kk + 1, n))
        # drop each unit itself (coincident units may come first in either order)
        not_self = idx != np.arange(n)[:, None]
        first_k = np.cumsum(not_self, axis=1) <= kk
        keep = not_self & first_k
        self.nbr = idx[keep].reshape(n, kk)
        km = km[keep].reshape(n, kk)
        self.cost = problem.weight[:, None] * km
        self.full = kk >= n - 1
        self.cap = np.full(n, np.inf) if self.full else self.cost[:, -1].copy()
        safe = np.where(problem.mean > 0, problem.mean, 1.0)
        self.a = problem.values / safe  # (n, M) in shares of the mean
        # free centres serve no named territory: the loosest band holds for every one
        self.upper = problem.loosest_upper / safe  # (M,)
        self.lower = problem.loosest_lower / safe
        self.neighbours = kk
        # all pairs: L is evaluated on the dense n x n matrix (about 12x faster than the lists;
        # 8 MB at 1,000 units), the diagonal at +inf (a unit's own pair is its centre's)
        self.dense = None
        if self.full:
            self.dense = np.full((n, n), np.inf)
            self.dense[np.arange(n)[:, None], self.nbr] = self.cost
        # step scales (see Ascent above)
        mean_w = float(problem.weight.mean())
        self.step_lam = problem.weight / mean_w if mean_w > 0 else np.ones(n)
        self.step_band = (n / self.k) ** 2

    @property
    def pairs(self) -> int:
        return int(self.nbr.size)

    def project(self, lam, mu, nu):
        nu = np.maximum(nu, 0.0) if self.full else np.zeros_like(nu)
        return np.minimum(lam, self.cap), np.maximum(mu, 0.0), nu

    def reduced(self, lam, mu, nu) -> np.ndarray:
        """``g_ij`` on the lists, (n, K)."""
        g = self.cost - lam[:, None]
        beta = mu - nu
        for m in range(self.a.shape[1]):
            g += self.a[:, m, None] * beta[m][self.nbr]
        return g

    def evaluate(self, lam: np.ndarray, mu: np.ndarray, nu: np.ndarray | None = None):
        """``L``, its subgradient ``(d lambda, d mu, d nu)``, ``s``, the chosen centres."""
        nu = np.zeros_like(mu) if nu is None else nu
        if self.dense is not None:
            return self._evaluate_dense(lam, mu, nu)
        n, k = self.n, self.k
        g = self.reduced(lam, mu, nu)
        neg = np.minimum(g, 0.0)
        s = self._own(lam, mu, nu)
        s += np.bincount(self.nbr.ravel(), weights=neg.ravel(), minlength=n)
        chosen = np.argsort(s, kind="stable")[:k]
        value = float(lam.sum() + s[chosen].sum())
        in_c = np.zeros(n, dtype=bool)
        in_c[chosen] = True
        x = (g < 0) & in_c[self.nbr]
        grad_lam = 1.0 - x.sum(axis=1) - in_c
        rows = np.nonzero(x)
        cols = self.nbr[rows]
        grad_mu = np.zeros_like(mu)
        grad_nu = np.zeros_like(mu)
        for m in range(self.a.shape[1]):
            load = np.bincount(cols, weights=self.a[rows[0], m], minlength=n) + self.a[:, m]
            grad_mu[m] = np.where(in_c, load - self.upper[m], 0.0)
            grad_nu[m] = np.where(in_c, self.lower[m] - load, 0.0) if self.full else 0.0
        return value, (grad_lam, grad_mu, grad_nu), s, chosen

    def _own(self, lam, mu, nu) -> np.ndarray:
        """Each centre's own part of ``s_j`` (its multiplier and its bands' prices)."""
        s = -lam + ((self.a - self.upper) * mu.T).sum(axis=1)
        s += ((self.lower - self.a) * nu.T).sum(axis=1)
        return s

    def _evaluate_dense(self, lam, mu, nu):
        """:meth:`evaluate` on all pairs at once (no BLAS: sums in numpy's fixed order)."""
        assert self.dense is not None
        n, k, a = self.n, self.k, self.a
        beta = mu - nu
        g = self.dense - lam[:, None]
        for m in range(a.shape[1]):
            g += a[:, m, None] * beta[m][None, :]
        s = self._own(lam, mu, nu)
        s += np.minimum(g, 0.0).sum(axis=0)
        chosen = np.argsort(s, kind="stable")[:k]
        value = float(lam.sum() + s[chosen].sum())
        in_c = np.zeros(n, dtype=bool)
        in_c[chosen] = True
        x = g[:, chosen] < 0  # (n, k): who joins each chosen centre
        grad_lam = 1.0 - x.sum(axis=1) - in_c
        grad_mu = np.zeros_like(mu)
        grad_nu = np.zeros_like(mu)
        for m in range(a.shape[1]):
            load = (a[:, m, None] * x).sum(axis=0) + a[chosen, m]
            grad_mu[m, chosen] = load - self.upper[m]
            grad_nu[m, chosen] = self.lower[m] - load
        return value, (grad_lam, grad_mu, grad_nu), s, chosen

    def ascend(
        self,
        lam: np.ndarray,
        mu: np.ndarray,
        nu: np.ndarray | None = None,
        *,
        steps: int,
        target: float | None = None,
        patience: int = 8,
        theta: float = 1.0,
        alpha: float = 1.0,
        stop: Callable[[], bool] | None = None,
    ) -> AscentResult:
        """Projected subgradient ascent for exactly ``steps`` evaluations (fewer only when the
        subgradient vanishes - the multipliers are then optimal - or ``stop()``, the safety
        stop, says so)."""
        nu = np.zeros_like(mu) if nu is None else nu
        x = self.project(*(np.asarray(v, float).copy() for v in (lam, mu, nu)))
        best = None
        stall = 0
        done = 0
        direction = None
        for done in range(1, steps + 1):
            value, grads, _, _ = self.evaluate(*x)
            if best is None or value > best.value + 1e-12 * max(abs(best.value), 1.0):
                # x is always (lam, mu, nu): mypy cannot count a starred generator
                best = AscentResult(value, *(v.copy() for v in x), done)  # type: ignore[call-arg]
                stall = 0
            else:
                stall += 1
                if stall >= patience:
                    theta, stall = theta / 2.0, 0
            if direction is not None and alpha < 1.0:  # deflected subgradient
                grads = tuple(
                    alpha * g + (1 - alpha) * d for g, d in zip(grads, direction, strict=True)
                )
            # the step must respect the projection: drop components that push into a bound
            g_lam, g_mu, g_nu = grads
            g_lam = np.where((x[0] >= self.cap) & (g_lam > 0), 0.0, g_lam)
            g_mu = np.where((x[1] <= 0) & (g_mu < 0), 0.0, g_mu)
            g_nu = np.where((x[2] <= 0) & (g_nu < 0), 0.0, g_nu)  # 0 without all pairs
            direction = (g_lam, g_mu, g_nu)
            scaled = (self.step_lam * g_lam, self.step_band * g_mu, self.step_band * g_nu)
            norm = float(sum((g * d).sum() for g, d in zip(direction, scaled, strict=True)))
            if norm <= 0 or theta < 1e-6 or (stop is not None and stop()):
                break
            scale = max(abs(best.value), abs(target) if target is not None else 0.0, 1e-9)
            goal = target if target is not None and target > best.value else None
            if goal is None:  # moving target: a little above the best value so far
                goal = best.value + 0.02 * scale
            t = theta * (goal - value) / norm
            x = self.project(*(v + t * d for v, d in zip(x, scaled, strict=True)))
        assert best is not None  # steps >= 1: the first evaluation always sets it
        best.steps = done
        return best
