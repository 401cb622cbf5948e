#!/usr/bin/env python3
"""Reference values for Driftline's drift metrics, computed once with numpy/scipy.

Regenerate with:  python3 scripts/golden/drift_metrics.py > Tests/DriftlineDriftTests/Golden/drift_metrics.json
Inputs are small enough (< 200 values) that Driftline's sketches hold them exactly, so its metrics
must match these within floating-point tolerance. Definitions mirror Sources/DriftlineDrift/Metrics.
"""
import json
import numpy as np
from scipy import stats
from scipy.spatial import distance

EPS = 1e-4  # BucketDistance.smoothing
BINS = 10


def smoothed(p):
    return (np.asarray(p) + EPS) / (1 + len(p) * EPS)


def psi(p, q):
    p, q = smoothed(p), smoothed(q)
    return float(np.sum((q - p) * np.log(q / p)))


def js(p, q):
    return float(distance.jensenshannon(p, q, base=2))


def numeric(ref, cur):
    ref, cur = np.asarray(ref, float), np.asarray(cur, float)
    edges = np.unique(np.quantile(ref, [i / BINS for i in range(1, BINS)], method="inverted_cdf"))
    def binned(x):
        cdf = [np.mean(x <= e) for e in edges]
        return np.diff([0.0] + cdf + [1.0])
    pr, pc = binned(ref), binned(cur)
    d = stats.ks_2samp(ref, cur).statistic
    en = len(ref) * len(cur) / (len(ref) + len(cur))
    vr, vc = np.var(ref, ddof=1), np.var(cur, ddof=1)
    z_mean = (cur.mean() - ref.mean()) / np.sqrt(vr / len(ref) + vc / len(cur))
    z_var = np.log(vc / vr) / np.sqrt(2 / (len(ref) - 1) + 2 / (len(cur) - 1))
    return {
        "psi": psi(pr, pc),
        "jensenShannon": js(pr, pc),
        "ks": float(d),
        "ksPValue": float(stats.kstwobign.sf(np.sqrt(en) * d)),
        "wasserstein": float(stats.wasserstein_distance(ref, cur) / np.std(ref, ddof=1)),
        "meanShift": float(z_mean),
        "meanShiftPValue": float(2 * stats.norm.sf(abs(z_mean))),
        "varianceShift": float(z_var),
        "varianceShiftPValue": float(2 * stats.norm.sf(abs(z_var))),
    }


def categorical(ref_counts, cur_counts):
    cats = sorted(set(ref_counts) | set(cur_counts))
    r = np.array([ref_counts.get(c, 0) for c in cats], float)
    c = np.array([cur_counts.get(k, 0) for k in cats], float)
    chi2, p, dof, _ = stats.chi2_contingency(np.array([r, c]), correction=False)
    return {"psi": psi(r / r.sum(), c / c.sum()), "jensenShannon": js(r / r.sum(), c / c.sum()),
            "chiSquare": float(chi2), "chiSquarePValue": float(p)}


def two_proportion(x1, n1, x2, n2):
    p1, p2, pooled = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    z = (p2 - p1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return {"z": float(z), "pValue": float(2 * stats.norm.sf(abs(z)))}


rng = np.random.default_rng(20261125)
cases = []
for name, ref, cur in [
    ("normal mean shift", rng.normal(0, 1, 150), rng.normal(0.5, 1, 120)),
    ("variance doubling", rng.normal(10, 2, 180), rng.normal(10, 4, 160)),
    ("discrete with ties", rng.integers(0, 5, 100), rng.integers(0, 7, 100)),
    ("heavy tail", rng.pareto(1.5, 190) + 1, rng.pareto(1.2, 170) + 1),
    ("identical", np.arange(50.0), np.arange(50.0)),
]:
    ref = [round(float(v), 6) for v in ref]
    cur = [round(float(v), 6) for v in cur]
    cases.append({"kind": "numeric", "name": name, "reference": ref, "current": cur, "expected": numeric(ref, cur)})

for name, r, c in [
    ("category mix shift", {"a": 50, "b": 30, "c": 20}, {"a": 20, "b": 30, "c": 40, "d": 10}),
    ("stable categories", {"x": 40, "y": 60}, {"x": 41, "y": 59}),
]:
    cases.append({"kind": "categorical", "name": name, "reference": r, "current": c, "expected": categorical(r, c)})

cases.append({"kind": "proportion", "name": "missing 0% -> 5%", "reference": [0, 1000], "current": [50, 1000],
              "expected": two_proportion(0, 1000, 50, 1000)})
cases.append({"kind": "proportion", "name": "nulls 10% -> 12%", "reference": [100, 1000], "current": [120, 1000],
              "expected": two_proportion(100, 1000, 120, 1000)})

print(json.dumps({"generator": "scripts/golden/drift_metrics.py", "cases": cases}, indent=1))
