#!/usr/bin/env python3
"""Check a back-test page as a browser drew it against the JSON report of the same run.

Usage:
  python3 Tests/backtest/check_page.py DOM.html REPORT.json --charts triggers,conversions,...

DOM.html is the page's DOM after its scripts ran (chromium --headless --dump-dom). Checks:
- the page rendered (`data-rendered="true"` on <html>) and recorded no script error
  (`data-errors="0"`, `#errors` empty): the page's own window.onerror writes errors there;
- every chart (`figure[data-chart]`) drew (`data-drawn="true"`, `data-marks` > 0), and every
  chart named with --charts is on the page;
- every number on the page (an element with `data-path`) equals the JSON report's value at that
  path, to the precision shown (`data-format`: int exactly; money, dec2 to 0.005; dec3 to 0.0005;
  pct to 0.05 percentage points); a null shows as an en dash.
Prints the problems, then `page: N numbers match, M charts drawn`; exits 1 on any problem.
"""

import argparse
import json
import sys
from html.parser import HTMLParser

TOLERANCE = {"int": 0.0, "money": 0.005, "dec2": 0.005, "dec3": 0.0005, "pct": 0.05}


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = {}
        self.charts = []
        self.cells = []  # [path, format, text]
        self.errors_text = ""
        self._stack = []  # open elements: (tag, cell index or None, is_errors)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        if tag == "figure" and "data-chart" in a:
            self.charts.append(a)
        cell = None
        if "data-path" in a:
            self.cells.append([a["data-path"], a.get("data-format"), ""])
            cell = len(self.cells) - 1
        if tag in ("br", "meta", "link", "img", "input", "hr", "col", "area", "base", "source", "wbr", "embed", "param", "track"):
            return
        self._stack.append((tag, cell, a.get("id") == "errors"))

    def handle_endtag(self, tag):
        while self._stack:
            t, _, _ = self._stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        for _, cell, is_errors in self._stack:
            if cell is not None:
                self.cells[cell][2] += data
            if is_errors:
                self.errors_text += data


def resolve(report, path):
    v = report
    for part in path.split("."):
        if isinstance(v, list):
            v = v[int(part)]
        elif isinstance(v, dict):
            v = v[part]
        else:
            raise KeyError(path)
    return v


def shown_number(text, fmt):
    t = text.strip().replace(",", "").replace("+", "")
    if fmt == "pct":
        if not t.endswith("%"):
            raise ValueError(f"expected a percentage, got {text!r}")
        t = t[:-1]
    return float(t)


def main(argv):
    ap = argparse.ArgumentParser(prog="check_page.py")
    ap.add_argument("dom")
    ap.add_argument("report")
    ap.add_argument("--charts", default="", help="comma-separated chart names that must be on the page")
    args = ap.parse_args(argv)
    with open(args.dom, encoding="utf-8") as f:
        page = Page()
        page.feed(f.read())
    with open(args.report, encoding="utf-8") as f:
        report = json.load(f)

    problems = []
    if page.root.get("data-rendered") != "true":
        problems.append("the page's script did not finish (no data-rendered on <html>)")
    if page.root.get("data-errors") != "0" or page.errors_text.strip():
        problems.append(f"script errors on the page ({page.root.get('data-errors')}): {page.errors_text.strip()}")
    names = [c["data-chart"] for c in page.charts]
    for want in [n for n in args.charts.split(",") if n]:
        if want not in names:
            problems.append(f"chart {want} is not on the page (charts: {', '.join(names)})")
    drawn = 0
    for c in page.charts:
        if c.get("data-drawn") != "true" or int(c.get("data-marks", "0")) <= 0:
            problems.append(f"chart {c['data-chart']} did not draw")
        else:
            drawn += 1
    matched = 0
    for path, fmt, text in page.cells:
        try:
            want = resolve(report, path)
        except (KeyError, IndexError, ValueError):
            problems.append(f"{path}: not in the JSON report")
            continue
        if want is None:
            if text.strip() != "\u2013":
                problems.append(f"{path}: the report has null, the page shows {text!r}")
            else:
                matched += 1
            continue
        if fmt not in TOLERANCE:
            problems.append(f"{path}: unknown format {fmt!r}")
            continue
        try:
            got = shown_number(text, fmt)
        except ValueError as e:
            problems.append(f"{path}: {e} ({text!r})")
            continue
        expected = want * 100 if fmt == "pct" else want
        if abs(got - expected) > TOLERANCE[fmt] + 1e-9 * max(1.0, abs(expected)):
            problems.append(f"{path}: the page shows {text!r}, the report has {want!r}")
        else:
            matched += 1
    for p in problems:
        print(p)
    print(f"page: {matched} numbers match, {drawn} charts drawn")
    if matched == 0:
        print("check_page.py: no number on the page was checked", file=sys.stderr)
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
