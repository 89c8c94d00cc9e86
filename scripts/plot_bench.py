#!/usr/bin/env python3
"""Plots an `accord bench --sweep … --json FILE` report: commit latency (p50, p99) and committed TPS against the
offered rate, with the ceiling measured in the same run.

    python scripts/plot_bench.py bench.json docs/bench-sweep.png
"""
import json
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit("matplotlib is missing: pip install matplotlib (scripts/bench-sweep.sh installs it into the venv)")


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    report = json.load(open(sys.argv[1]))
    runs = report.get("runs", [report])
    runs = sorted(runs, key=lambda r: r["offered_tps"])
    offered = [r["offered_tps"] for r in runs]
    fig, (lat, tps) = plt.subplots(2, 1, figsize=(8, 8), sharex=True)
    lat.plot(offered, [r["p50_ms"] for r in runs], "o-", label="p50")
    lat.plot(offered, [r["p99_ms"] for r in runs], "s-", label="p99")
    lat.set_yscale("log")
    lat.set_ylabel("commit latency (ms, log)")
    lat.grid(True, which="both", alpha=0.3)
    lat.legend()
    first = runs[0]
    lat.set_title(
        f"accord bench: {first['workload']} workload, {first['validators']} validators, {first['cores']} cores"
    )
    tps.plot(offered, [r["committed_tps"] for r in runs], "o-", label="committed TPS")
    tps.plot(offered, offered, ":", color="grey", label="offered")
    tps.axhline(first["ceiling_tps"], color="red", linestyle="--", label=f"ceiling {first['ceiling_tps']:.0f} TPS")
    tps.set_xlabel("offered rate (tx/s)")
    tps.set_ylabel("committed TPS (steady window)")
    tps.grid(True, alpha=0.3)
    tps.legend()
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    print(f"wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
