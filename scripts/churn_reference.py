#!/usr/bin/env python3
"""Reference values for the BG/NBD math (spec 3.9), computed independently with mpmath at
50 significant digits from the paper's own formulas (Fader, Hardie & Lee 2005, equations 6
and 10, and the note on P(alive)), for Tests/RekindleCoreTests/ChurnMathTests.swift.

Usage: python3 scripts/churn_reference.py > Tests/Fixtures/churn-reference.json

The cases are drawn from a fixed seed over the parameter ranges a fit meets (r, a, b from 0.05
to 20, alpha from 0.2 to 500 weeks, up to 300 repeat days over ten years, horizons from a day to
a year), plus the corners: x = 0, T = 0 (the first purchase day), a = 1 (where equation 10 is
0/0: its limit), a + b + x - 1 near 0, and z = h / (alpha + T + h) near 1. Rekindle evaluates
2F1 through Euler's and Pfaff's transformations and its own series; mpmath's hyp2f1 is the
untransformed function.
"""
import json
import random

import mpmath as mp

mp.mp.dps = 50


def ll(r, alpha, a, b, x, tx, T):
    A1 = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha)
    A2 = mp.loggamma(a + b) + mp.loggamma(b + x) - mp.loggamma(b) - mp.loggamma(a + b + x)
    first = (alpha + T) ** (-(r + x))
    second = a / (b + x - 1) * (alpha + tx) ** (-(r + x)) if x > 0 else 0
    return A1 + A2 + mp.log(first + second)


def odds(r, alpha, a, b, x, tx, T):
    return a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x) if x > 0 else mp.mpf(0)


def p_alive(*p):
    return 1 / (1 + odds(*p))


def churn_risk(r, alpha, a, b, x, tx, T, h):
    return 1 - p_alive(r, alpha, a, b, x, tx, T) * (1 - ((alpha + T) / (alpha + T + h)) ** (r + x))


def expected(r, alpha, a, b, x, tx, T, h):
    def eq10(a):
        z = h / (alpha + T + h)
        hyp = mp.hyp2f1(r + x, b + x, a + b + x - 1, z)
        num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + h)) ** (r + x) * hyp)
        return num / (1 + odds(r, alpha, a, b, x, tx, T))
    if a == 1:
        # The removable singularity: the mean of the two sides, each 1e-30 away (the error is
        # of order 1e-60, far below a double's precision).
        d = mp.mpf(10) ** -30
        return (eq10(a - d) + eq10(a + d)) / 2
    return eq10(a)


def number(v):
    return float(v)


def main():
    rng = random.Random(20260314)

    def logu(lo, hi):
        return float(mp.e ** mp.mpf(rng.uniform(float(mp.log(lo)), float(mp.log(hi)))))

    cases = []
    for k in range(400):
        r, alpha, a, b = logu(0.05, 20), logu(0.2, 500), logu(0.05, 20), logu(0.05, 20)
        Tdays = rng.choice([0, 1, 6, 30, 200, 900, 3650, rng.randint(0, 3650)])
        x = 0 if Tdays == 0 or rng.random() < 0.25 else rng.choice([1, 2, 3, 7, 20, 60, 300, rng.randint(1, 40)])
        x = min(x, Tdays)
        txdays = 0 if x == 0 else rng.randint(x, Tdays)
        hdays = rng.choice([1, 7, 30, 90, 90, 365])
        cases.append((r, alpha, a, b, x, txdays / 7, Tdays / 7, hdays / 7))
    corners = [
        (0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86, 39.0),  # the paper's customer: E = 1.226
        (0.243, 4.414, 0.793, 2.426, 0, 0.0, 0.0, 90 / 7),
        (0.243, 4.414, 1.0, 2.426, 0, 0.0, 0.0, 90 / 7),  # a = 1
        (0.243, 4.414, 1.0, 2.426, 5, 20.0, 30.0, 90 / 7),
        (1.5, 0.2, 4.0, 0.3, 0, 0.0, 0.0, 52.0),  # z = 0.996
        (0.4, 0.2, 0.3, 0.7, 0, 0.0, 0.0, 52.0),  # a + b + x - 1 = 0: equation 10's 2F1 has c = 0
        (0.4, 3.0, 0.3, 0.69, 0, 0.0, 2.0, 90 / 7),  # c = -0.01
        (0.05, 500.0, 20.0, 0.05, 300, 500.0, 521.0, 1 / 7),
        (20.0, 0.2, 0.05, 20.0, 1, 1 / 7, 3650 / 7, 52.0),
    ]
    cases += corners
    rows = []
    for (r, alpha, a, b, x, tx, T, h) in cases:
        p = [mp.mpf(v) for v in (r, alpha, a, b)] + [x, mp.mpf(tx), mp.mpf(T)]
        if x == 0 and a + b - 1 == 0:
            # mpmath cannot evaluate equation 10 at c = 0: its limit in a.
            d = mp.mpf(10) ** -30
            e = (expected(p[0], p[1], p[2] - d, p[3], *p[4:], mp.mpf(h))
                 + expected(p[0], p[1], p[2] + d, p[3], *p[4:], mp.mpf(h))) / 2
        else:
            e = expected(*p, mp.mpf(h))
        rows.append([r, alpha, a, b, x, tx, T, h,
                     number(ll(*p)), number(p_alive(*p)), number(churn_risk(*p, mp.mpf(h))), number(e)])

    hyp = []
    for k in range(300):
        # 2F1(r + x, b + x; a + b + x - 1; z) as equation 10 meets it, and negative z (Pfaff).
        r, a, b = logu(0.05, 20), logu(0.05, 20), logu(0.05, 20)
        x = rng.choice([0, 0, 1, 3, 20, 150])
        c = a + b + x - 1
        if abs(c - round(c)) < 1e-3 and c <= 0:
            continue
        z = rng.choice([0.01, 0.3, 0.5, 0.75, 0.9, 0.97, 0.995, -0.5, -3.0, rng.uniform(0, 0.99)])
        v = number(mp.hyp2f1(mp.mpf(r + x), mp.mpf(b + x), mp.mpf(c), mp.mpf(z)))
        if abs(v) > 1e300:  # beyond a double (equation 10 multiplies it by (1 - z)^(r + x))
            continue
        hyp.append([r + x, b + x, c, z, v])

    json.dump({"generated_by": "scripts/churn_reference.py (mpmath %s, 50 digits)" % mp.__version__,
               "columns_bgnbd": ["r", "alpha", "a", "b", "x", "t_x", "T", "h",
                                 "log_likelihood", "p_alive", "churn_risk", "expected_purchases"],
               "bgnbd": rows,
               "columns_f21": ["a", "b", "c", "z", "value"],
               "f21": hyp}, fp=__import__("sys").stdout, indent=None)
    print()


if __name__ == "__main__":
    main()
