"""Statement options benchmark (issue 11): `token_issue.py` and `introspection.py` run once per
variant, variants alternating (rotated each round), each figure taken as its ratio to the
baseline the script measures in the same run, then compared with variant (a) of the same round.

(a) plumbing: Tessera's own server-binding cursor preparing the hot paths (`core.db`), and their
    reads compiled once per connection (`tokens.prepared`); Django's OPTIONS unset.
(b) options: Django's supported DATABASES OPTIONS (`server_side_binding`, `prepare_threshold`),
    the reads as plain ORM querysets (TESSERA_BENCH_PLAIN_READS, see `_plain_reads.py`),
    `server_cursor()` being Django's cursor.
(c) neither: no OPTIONS, no prepared statements, plain ORM reads (`server_cursor()` still binds
    on the server, without preparing: the ledger's arrays travel as `%b`).
(d) options + compiled: (b) but keeping `tokens.prepared`'s compiled SQL (prepared by psycopg's
    threshold rather than by hand).

    .venv/bin/python bench/db_options.py --rounds 2 -- tokens --tokens 2000 --procs 2
    .venv/bin/python bench/db_options.py --rounds 2 -- introspection --no-wrk --requests 3000

The arguments after `--` name the script (`tokens` or `introspection`) and are passed to it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

OPTIONS = {"TESSERA_DB_SERVER_SIDE_BINDING": "true"}
VARIANTS = {
    "a plumbing": {"TESSERA_PREPARED_STATEMENTS": "true", "TESSERA_BENCH_PLAIN_READS": "0"},
    "b options": {"TESSERA_BENCH_PLAIN_READS": "1", **OPTIONS},
    "c neither": {"TESSERA_PREPARED_STATEMENTS": "false", "TESSERA_BENCH_PLAIN_READS": "1"},
    "d options+compiled": {"TESSERA_BENCH_PLAIN_READS": "0", **OPTIONS},
}
CLEARED = (
    "TESSERA_DB_SERVER_SIDE_BINDING",
    "TESSERA_DB_PREPARE_THRESHOLD",
    "TESSERA_PREPARED_STATEMENTS",
    "TESSERA_BENCH_PLAIN_READS",
)


def _rate(out: str, label: str) -> float:
    match = re.search(rf"^{re.escape(label)}\S*\s+([\d,]+)\s", out, re.MULTILINE)
    return float(match[1].replace(",", "")) if match else float("nan")


def token_figures(out: str) -> dict[str, float]:
    sign = _rate(out, "ES256 signature only (baseline)")
    commit = _rate(out, "INSERT + COMMIT, 1 process (baseline)")
    one = _rate(out, "token_issue, 1 process")
    many = float(re.search(r"^token_issue, \d+ processes\s+([\d,]+)", out, re.MULTILINE)[1]
                 .replace(",", ""))  # fmt: skip
    unflushed = _rate(out, "token_issue, 1 process, no commit flush (diagnostic)")
    return {
        "1 proc / commit": one / commit,
        "N procs / commit": many / commit,
        "no flush / sign": unflushed / sign,
    }


def introspection_figures(out: str) -> dict[str, float]:
    return {
        "introspect / healthz": float(
            re.search(r"ratio introspection / healthz: ([\d.]+)", out)[1]
        ),
        "p99 ms": float(re.search(r"introspection p99 \(worst run\): ([\d.]+)", out)[1]),
    }


SCRIPTS = {
    "tokens": ("token_issue.py", token_figures),
    "introspection": ("introspection.py", introspection_figures),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threshold", default="5", help="prepare_threshold of (b) and (d)")
    parser.add_argument("--variants", default="abcd", help="letters of the variants to run")
    parser.add_argument("script", choices=SCRIPTS)
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    script, figures = SCRIPTS[args.script]
    chosen = [name for name in VARIANTS if name[0] in args.variants]
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    rows: list[tuple[int, str, dict[str, float]]] = []
    for round_ in range(args.rounds):
        order = chosen[round_ % len(chosen) :] + chosen[: round_ % len(chosen)]
        for name in order:
            env = {**base, **VARIANTS[name]}
            if "TESSERA_DB_SERVER_SIDE_BINDING" in VARIANTS[name]:
                env["TESSERA_DB_PREPARE_THRESHOLD"] = args.threshold
            cmd = [sys.executable, str(HERE / script), *[a for a in args.args if a != "--"]]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode:
                print(done.stdout, done.stderr, file=sys.stderr)
                return done.returncode
            variant_line = re.search(r"^database options: .*$", done.stdout, re.MULTILINE)
            print(f"--- round {round_ + 1}, {name}: {variant_line[0] if variant_line else ''}")
            print(done.stdout, flush=True)
            rows.append((round_ + 1, name, figures(done.stdout)))
    keys = list(rows[0][2])
    print(f"\n{script}, {' '.join(args.args)}; prepare_threshold={args.threshold}")
    header = ["round", "variant", *keys, *[f"{k} vs a" for k in keys]]
    table = []
    for round_, name, figs in rows:
        ref = next(f for r, n, f in rows if r == round_ and n.startswith("a"))
        table.append([round_, name, *[f"{figs[k]:.3f}" for k in keys],
                      *[f"{figs[k] / ref[k]:.2f}" for k in keys]])  # fmt: skip
    for name in chosen:
        mine = [(r, f) for r, n, f in rows if n == name]
        means = [statistics.mean(f[k] for _, f in mine) for k in keys]
        refs = [statistics.mean(f[k] for r, n, f in rows if n.startswith("a")) for k in keys]
        table.append(["mean", name, *[f"{m:.3f}" for m in means],
                      *[f"{m / ref:.2f}" for m, ref in zip(means, refs, strict=True)]])  # fmt: skip
    widths = [max(len(str(c)) for c in col) for col in zip(header, *table, strict=True)]
    for line in [header, *table]:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
