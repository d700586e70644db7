"""Reference values for test/error-bound.test.ts: the transcendental primitives at exact
arguments, to 40 digits with mpmath (Debian's /usr/bin/python3). Writes
test/fixtures/error-bound-reference.json. Run: /usr/bin/python3 test/python/error_bound_reference.py

Each unary case is the map at the exact real c·x (the test feeds x through scale(c), then
offset(shift) and offset(-shift), which round, so the argument arrives as a ball); each row case
is softmax or layerNorm (epsilon 1e-5, biased variance) of the exact c·x over a row of 5 (fed
through the same shifts).
"""
import json
import os
import random

import mpmath

mpmath.mp.prec = 400
rng = random.Random(20261203)


def f(op, v):
    if op == "exp":
        return mpmath.exp(v)
    if op == "log":
        return mpmath.log(v)
    if op == "tanh":
        return mpmath.tanh(v)
    if op == "sigmoid":
        return 1 / (1 + mpmath.exp(-v))
    if op == "sqrt":
        return mpmath.sqrt(v)
    if op == "reciprocal":
        return 1 / v
    if op == "normcdf":
        return (1 + mpmath.erf(v / mpmath.sqrt(2))) / 2
    if op == "gelu":
        return v * (1 + mpmath.erf(v / mpmath.sqrt(2))) / 2
    raise ValueError(op)


ranges = {
    "exp": (-6, 6),
    "log": (0.01, 20),
    "tanh": (-5, 5),
    "sigmoid": (-12, 12),
    "sqrt": (0.001, 50),
    "reciprocal": (0.05, 20),
    "normcdf": (-7, 7),
    "gelu": (-6, 6),
}
unary = []
for op, (lo, hi) in ranges.items():
    for i in range(24):
        x = rng.uniform(lo, hi)
        if op == "reciprocal" and i % 2 == 1:
            x = -x
        c = rng.choice([1.0, 0.7, 1.3, 3.0, 1 / 3])
        shift = [0.0, 0.0, 1e3, 1e8][i % 4]
        v = mpmath.mpf(c) * mpmath.mpf(x)
        y = f(op, v)
        unary.append(
            {"op": op, "c": c, "x": x, "shift": shift, "exact": float(y), "err": float(abs(y) * 1e-30 + 1e-300)}
        )

rows = []
eps = mpmath.mpf(1e-5)
for i in range(40):
    op = "softmax" if i % 2 == 0 else "layerNorm"
    scale = [1, 10, 0.01, 30][i % 4]
    x = [rng.uniform(-1, 1) * scale for _ in range(5)]
    if i % 8 == 7:
        x = [1e3 + rng.uniform(-1e-4, 1e-4) for _ in range(5)]  # a near-constant row
    c = rng.choice([1.0, 0.7, 1.3])
    v = [mpmath.mpf(c) * mpmath.mpf(t) for t in x]
    if op == "softmax":
        es = [mpmath.exp(t) for t in v]
        s = sum(es)
        ys = [e / s for e in es]
    else:
        mu = sum(v) / len(v)
        var = sum((t - mu) ** 2 for t in v) / len(v)
        ys = [(t - mu) / mpmath.sqrt(var + eps) for t in v]
    rows.append(
        {
            "op": op,
            "c": c,
            "shift": [0.0, 1e3, 1e8][i % 3],
            "x": x,
            "exact": [float(y) for y in ys],
            "err": [float(abs(y) * 1e-30 + 1e-300) for y in ys],
        }
    )

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "fixtures", "error-bound-reference.json")
with open(out, "w") as fh:
    json.dump({"unary": unary, "rows": rows}, fh, indent=0)
print(out, len(unary), len(rows))
