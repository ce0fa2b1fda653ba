#!/usr/bin/env python3
"""Baseline for `rekindle bench replay`: a plain Python loop with orjson over the same JSON-lines
file, folding one record per customer (event count, last time, one pending timer), as the
Performance issue's peers were measured. Prints `python_orjson_fold <events> <seconds>`."""
import sys
import time

import orjson


def main(path):
    start = time.perf_counter()
    customers = {}
    events = 0
    with open(path, "rb") as f:
        for line in f:
            try:
                e = orjson.loads(line)
                cid = e["customer_id"]
                at = e["occurred_at"]
            except Exception:
                continue
            state = customers.get(cid)
            if state is None:
                customers[cid] = [1, at, at]
            else:
                state[0] += 1
                state[1] = at
                state[2] = at  # the "timer": re-armed at every event
            events += 1
    print(f"python_orjson_fold {events} {time.perf_counter() - start:.6f}")


if __name__ == "__main__":
    main(sys.argv[1])
