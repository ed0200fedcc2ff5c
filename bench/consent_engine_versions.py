"""Consent engine 2.0.0 against 1.0.0 (issue 17), on the same generated inputs, in one run.

Loads the 1.0.0 engine from git (`governance/matching.py` at `--base`, default the last commit
before 2.0.0) beside the current one, judges the same random consents and purposes with both,
and prints:
- verdicts per second of each, and the ratio (the new rules' cost);
- how many verdicts differ, by (old -> new) decision and by the rule that made the difference,
  with purposes that tick no sensitive-research flag (1.0.0 had none) and with them: how many
  stored verdicts a committee would see change on re-evaluation.

Pure Python, no database (the Human Disease Ontology is read from the shipped file).

    .venv/bin/python bench/consent_engine_versions.py [--n 20000] [--seed 17] [--base 56146fd]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_old_engine(base: str):
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{base}:governance/matching.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # The old module imports `.rules` relatively: load it as a sibling in the governance package.
    folder = Path(tempfile.mkdtemp())
    path = folder / "matching_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("governance.matching_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["governance.matching_old"] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="consent/purpose pairs")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--base", default="56146fd", help="a git revision with engine 1.0.0")
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings

    from governance import matching as new
    from governance.ontology import closure_of, parse_doid

    old = load_old_engine(args.base)
    print(f"engines: {old.ENGINE_VERSION} ({args.base}) and {new.ENGINE_VERSION} (working tree)")
    terms = parse_doid(settings.TESSERA["ONTOLOGY_DIR"] / "doid" / "HumanDO.tsv")
    closure = {
        c: frozenset(a) for c, a in closure_of({c: t.parents for c, t in terms.items()}).items()
    }
    ancestors = lambda c: closure.get(c, frozenset({c}))  # noqa: E731
    rng = random.Random(args.seed)
    diseases = sorted(closure)
    broad = ["DOID:162", "DOID:0050686", "DOID:1324", "DOID:9256", "DOID:1612", "DOID:114"]
    permissions = sorted(new.PERMISSIONS)
    modifiers = sorted(new.MODIFIERS)
    old_flags = [f for f in old.PURPOSE_FLAGS]
    sensitive = list(new.SENSITIVE_FLAGS)

    def pair(with_sensitive: bool):
        permission = rng.choice(permissions)
        consent = dict(
            permission=permission,
            modifiers=frozenset(rng.sample(modifiers, rng.randint(0, 3))),
            diseases=frozenset(rng.sample(broad, rng.randint(1, 2)))
            if new.PERMISSIONS[permission][0] == "DS"
            else frozenset(),
            region=frozenset(rng.sample(["EU", "EEA", "NL", "US"], rng.randint(0, 2))),
            months=rng.choice([None, 12, 24, 36]),
        )
        purpose = dict(
            diseases=frozenset(rng.sample(diseases, rng.choice([0, 0, 1, 1, 2]))),
            **{f: rng.random() < 0.25 for f in old_flags},
            months=rng.choice([None, 12, 24, 48]),
            country=rng.choice([None, "NL", "US", "NO"]),
        )
        extra = {f: rng.random() < 0.1 for f in sensitive} if with_sensitive else {}
        return consent, purpose, extra

    def run(pairs):
        old_inputs = [(old.ConsentInput(**c), old.Purpose(**p)) for c, p, _ in pairs]
        new_inputs = [(new.ConsentInput(**c), new.Purpose(**p, **x)) for c, p, x in pairs]
        timings = {}
        verdicts = {}
        for name, engine, inputs in (("old", old, old_inputs), ("new", new, new_inputs)):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                out = [engine.evaluate(c, p, ancestors=ancestors) for c, p in inputs]
                best = min(best, time.perf_counter() - start)
            timings[name], verdicts[name] = best, out
        return timings, verdicts

    for label, with_sensitive in (("no sensitive flag", False), ("sensitive flags 10% each", True)):
        pairs = [pair(with_sensitive) for _ in range(args.n)]
        timings, verdicts = run(pairs)
        changed = Counter()
        why = Counter()
        for (c, p, x), a, b in zip(pairs, verdicts["old"], verdicts["new"], strict=True):
            if str(a.decision) != str(b.decision):
                changed[f"{a.decision} -> {b.decision}"] += 1
                short = new.PERMISSIONS[c["permission"]][0]
                if any(x.values()):
                    why["sensitive flag"] += 1
                elif p["methods_development"] and not p["diseases"] and short == "DS":
                    why["DS without NMDS, methods only"] += 1
                else:
                    why["other"] += 1
        rate_old, rate_new = args.n / timings["old"], args.n / timings["new"]
        print(f"\n{label}: {args.n} pairs")
        print(f"  {old.ENGINE_VERSION}: {rate_old:,.0f} verdicts/s")
        print(
            f"  {new.ENGINE_VERSION}: {rate_new:,.0f} verdicts/s  (time ratio new/old {timings['new'] / timings['old']:.2f})"
        )
        total = sum(changed.values())
        print(f"  decisions changed: {total} ({100 * total / args.n:.2f} %)")
        for key, n in changed.most_common():
            print(f"    {key}: {n}")
        for key, n in why.most_common():
            print(f"    because of {key}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
