"""Are two pipeline runs' outputs byte-identical?  The metrics files, every artifact and the report
(REPORT.md, REPORT.html, REPORT_claims.json) of two workspaces, by SHA-256.

    python benchmarks/compare_outputs.py RUN_A RUN_B [--out result.json]

Executed notebooks, figures and wall times are left out: they carry run times and are not
expected to match.  Exit status 1 when anything differs or exists on one side only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path


def output_hashes(root: Path) -> dict[str, str]:
    files = [*(root / "reports/metrics").rglob("*.json"), *(root / "artifacts").rglob("*"),
             *(root / "reports" / name for name in ("REPORT.md", "REPORT.html", "REPORT_claims.json"))]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(files) if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--label", default=None, help="the key under which --out stores this comparison")
    parser.add_argument("--out", default=None, help="a JSON file to add the comparison to")
    args = parser.parse_args()
    a, b = output_hashes(Path(args.a)), output_hashes(Path(args.b))
    only = sorted(set(a) ^ set(b))
    differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    result = {"a": args.a, "b": args.b, "files": len(set(a) | set(b)), "only_in_one": only, "differ": differ,
              "identical": not only and not differ, "sha256": {k: a[k] for k in sorted(a) if k in b and a[k] == b[k]}}
    print(f"{result['files']} files; identical: {result['identical']}; differ: {differ}; only in one: {only}")
    if args.out:
        out = Path(args.out)
        doc = json.loads(out.read_text()) if out.exists() else {}
        doc[args.label or f"{args.a} vs {args.b}"] = result
        out.write_text(json.dumps(doc, indent=1) + "\n")
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
