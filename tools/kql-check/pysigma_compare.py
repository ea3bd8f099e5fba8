#!/usr/bin/env python3
"""Converts rules with pySigma's Kusto backend, for the comparison in docs/kql.md.

Usage: python pysigma_compare.py PIPELINE OUT_DIR RULE_DIR...
  PIPELINE is `asim` (sentinel_asim_pipeline) or `defender_xdr` (microsoft_xdr_pipeline).
Writes one .kql file per converted rule under OUT_DIR (mirroring each RULE_DIR) and prints the
counts: rules read, converted, refused (a pySigma error) and crashed (any other exception).
Run it in a virtual environment outside the repository with `pip install
pysigma-backend-kusto`, then check OUT_DIR with `node check.js --tables DIR OUT_DIR`.
"""
import sys
from collections import Counter
from pathlib import Path

from sigma.backends.kusto import KustoBackend
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.pipelines.microsoftxdr import microsoft_xdr_pipeline
from sigma.pipelines.sentinelasim import sentinel_asim_pipeline

PIPELINES = {"asim": sentinel_asim_pipeline, "defender_xdr": microsoft_xdr_pipeline}


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in PIPELINES:
        sys.exit(__doc__)
    pipeline, out = PIPELINES[sys.argv[1]], Path(sys.argv[2])
    counts = Counter()
    for root in map(Path, sys.argv[3:]):
        for path in sorted(root.rglob("*.yml")):
            text = path.read_text(encoding="utf-8")
            if "\ncorrelation:" in text or "\nfilter:" in text and "\nrules:" in text:
                continue
            counts["rules"] += 1
            try:
                backend = KustoBackend(processing_pipeline=pipeline())
                queries = backend.convert(SigmaCollection.from_yaml(text))
            except SigmaError:
                counts["refused"] += 1
                continue
            except Exception:  # pySigma crashing on a rule is what is being measured
                counts["crashed"] += 1
                continue
            if not queries:
                counts["refused"] += 1
                continue
            counts["converted"] += 1
            target = out / root.name / path.relative_to(root).with_suffix(".kql")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(queries) + "\n", encoding="utf-8")
    print(" ".join(f"{k}={counts[k]}" for k in ("rules", "converted", "refused", "crashed")))


if __name__ == "__main__":
    main()
