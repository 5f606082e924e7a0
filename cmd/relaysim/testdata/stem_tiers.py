"""Reads conn/all through stem as a controller of relaysim would.

Usage: stem_tiers.py PORT PAIRS

Authenticates with whatever relaysim offers (its cookie), then asks
conn/all twice in a row PAIRS times, and prints one JSON object: a list
of pairs, each with the wall-clock times before and after and both
values, for the Go test to judge.
"""
import json
import sys
import time

import stem.control


def main():
    port, pairs = int(sys.argv[1]), int(sys.argv[2])
    out = []
    with stem.control.Controller.from_port(address="127.0.0.1", port=port) as c:
        c.authenticate()
        for _ in range(pairs):
            t0 = time.time()
            first = c.get_info("conn/all")
            second = c.get_info("conn/all")
            t1 = time.time()
            out.append({"t0": t0, "t1": t1, "first": first, "second": second})
            time.sleep(0.05)
    json.dump({"stem_version": stem.__version__, "pairs": out}, sys.stdout)


if __name__ == "__main__":
    main()
