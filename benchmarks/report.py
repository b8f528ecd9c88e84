"""Turn a pytest-benchmark JSON file into the ratio tables of docs/performance.md.

    python -m pytest benchmarks/bench_fill.py --benchmark-enable --benchmark-only \
        --benchmark-json=bench.json
    python benchmarks/report.py bench.json

Every ratio compares medians measured in the same run on the same machine.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def load(path: str):
    data = json.load(open(path))
    med = defaultdict(dict)
    for b in data["benchmarks"]:
        med[b["group"]][b["extra_info"].get("impl", b["name"])] = (b["stats"]["median"],
                                                                   b["extra_info"].get("elements"))
    return data["machine_info"], med


def main(path: str) -> None:
    info, med = load(path)
    print(f"machine: {info.get('cpu', {}).get('brand_raw', '?')}, flags {info.get('cpu_flags')}, "
          f"numba {info.get('numba')}, numpy {info.get('numpy')}, threads {info.get('numba_threads')}")
    print()
    print("| group | fastinit M/s | vs numpy | vs torch | vs twin | % of constant fill |")
    print("|---|---:|---:|---:|---:|---:|")
    for group in sorted(g for g in med if not g.startswith(("threads", "propagate"))):
        row = med[group]
        if "fastinit" not in row:
            continue
        t, n = row["fastinit"]

        def ratio(other, row=row, t=t):
            return f"{row[other][0] / t:.2f}x" if other in row else "-"

        fill = f"{100 * row['constant-fill'][0] / t:.0f}%" if "constant-fill" in row else "-"
        print(f"| {group} | {n / t / 1e6:,.0f} | {ratio('numpy')} | {ratio('torch')} | "
              f"{ratio('fastinit-twin')} | {fill} |")
    print()
    print("| size | truncated / normal time (float32) | float64 / float32 time per element (normal) |")
    print("|---|---:|---:|")
    for group in sorted(g for g in med if g.startswith("normal float32")):
        size = group.split()[-1]
        nt = med[group].get("fastinit")
        tt = med.get(f"truncated_normal float32 {size}", {}).get("fastinit")
        dt = med.get(f"normal float64 {size}", {}).get("fastinit")
        print(f"| {size} | {tt[0] / nt[0]:.2f} |" if tt else f"| {size} | - |",
              f" {dt[0] / nt[0]:.2f} |" if dt else " - |")
    threads = sorted(g for g in med if g.startswith("threads"))
    if threads:
        print()
        print("| group | 1 thread M/s | 2 threads M/s | speed-up |")
        print("|---|---:|---:|---:|")
        for group in threads:
            row = med[group]
            if "fastinit-1t" in row and "fastinit-2t" in row:
                (t1, n), (t2, _) = row["fastinit-1t"], row["fastinit-2t"]
                print(f"| {group[8:]} | {n / t1 / 1e6:,.0f} | {n / t2 / 1e6:,.0f} | {t1 / t2:.2f}x |")


if __name__ == "__main__":
    main(sys.argv[1])
