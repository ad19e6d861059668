"""The numerical core of vlmselect.quality: a Bradley-Terry fit with soft wins and a prior
(Hunter's MM algorithm, "MM algorithms for generalized Bradley-Terry models", Ann. Statist. 2004),
standard errors from the Fisher information, and the small weighted ridge regression the prior
is learned with. Pure maths on plain lists: no catalog, no tasks."""

from __future__ import annotations

import math

ITERATIONS = 200


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 40.0), -40.0)))


def fit(ids: list[str], pairs: list, prior: dict[str, float], prior_games: float) -> tuple[dict, dict]:
    """theta and its standard error per id: MM iterations for Bradley-Terry with soft wins
    (pairs: (i, j, weight, share of i's win)), each id also drawing `prior_games` games against
    a fixed opponent at its prior mean."""
    n = len(ids)
    at = {i: k for k, i in enumerate(ids)}
    mu = [prior.get(i, 0.0) for i in ids]
    emu = [math.exp(m) for m in mu]
    wins = [prior_games / 2] * n
    games: list[list] = [[] for _ in ids]
    for i, j, w, s in pairs:
        a, b = at[i], at[j]
        wins[a] += w * s
        wins[b] += w * (1 - s)
        games[a].append((b, w))
        games[b].append((a, w))
    pi = list(emu)
    for _ in range(ITERATIONS):
        delta = 0.0
        for a in range(n):
            pa = pi[a]
            den = prior_games / (pa + emu[a])
            for b, w in games[a]:
                den += w / (pa + pi[b])
            new = wins[a] / den
            delta = max(delta, abs(math.log(new / pa)))
            pi[a] = new
        if delta < 1e-5:
            break
    theta = [math.log(p) for p in pi]
    se = {}
    for a, i in enumerate(ids):
        q = _p(theta[a], mu[a])
        info = prior_games * q * (1 - q)
        for b, w in games[a]:
            q = _p(theta[a], theta[b])
            info += w * q * (1 - q)
        se[i] = 1.0 / math.sqrt(info)
    return dict(zip(ids, theta)), se


def _p(a: float, b: float) -> float:
    return sigmoid(a - b)


def ridge(xs: list[list[float]], ys: list[float], ws: list[float], lam: float = 1.0) -> list[float]:
    """Weighted ridge regression by the normal equations (6 unknowns: Gauss-Jordan is enough)."""
    k = len(xs[0])
    a = [[lam * (r == c and r > 0) for c in range(k)] + [0.0] for r in range(k)]
    for x, y, w in zip(xs, ys, ws):
        for r in range(k):
            for c in range(k):
                a[r][c] += w * x[r] * x[c]
            a[r][k] += w * x[r] * y
    for c in range(k):
        piv = max(range(c, k), key=lambda r: abs(a[r][c]))
        a[c], a[piv] = a[piv], a[c]
        if abs(a[c][c]) < 1e-12:
            continue
        for r in range(k):
            if r != c:
                f = a[r][c] / a[c][c]
                a[r] = [x - f * y for x, y in zip(a[r], a[c])]
    return [a[r][k] / a[r][r] if abs(a[r][r]) > 1e-12 else 0.0 for r in range(k)]
