"""The hardware claims under the issue-17 cost model, on the embedded default's real networks.

The embedded default's networks were trained on one GPU (`benchmarks/embedded_on_gpu.sh`, metrics in
`benchmarks/results/embedded_gpu_run/metrics.tgz`).  Their hardware costs depend only on their
architectures, which the retrain metrics record, so this script rebuilds a workspace from those
metrics (each network's layer specs from its arch, in the same layout; op counts checked against
the metrics), runs the `hw_mapping` stage there with this checkout's params.yaml (realistic and
NASA-F-compatible settings, each switch flipped, the paper-size networks), and judges the three
hardware claims with the report's own functions at both scales and under every setting.

    .venv/bin/python benchmarks/hw_claims_embedded_gpu_run.py [/tmp/workspace]
    # writes benchmarks/results/hw_claims_embedded_gpu_run.json (+ the stage's hw_mapping.json, gzipped)
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import tarfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasa_lib.artifacts import DataSummary, HwMappingMetrics, RetrainMetrics  # noqa: E402
from nasa_lib.layerspec import save_specs, total_op_counts  # noqa: E402
from nasa_lib.report.claims import HW_CLAIMS, VerdictRules, hw_sensitivity, judge_hw_claim  # noqa: E402
from nasa_lib.report.inputs import PipelineOutputs, _read  # noqa: E402
from nasa_lib.space import FBNetLayout, arch_layer_specs  # noqa: E402
from nasa_lib.stages import hw_mapping  # noqa: E402

METRICS_TGZ = ROOT / "benchmarks/results/embedded_gpu_run/metrics.tgz"
OUT = ROOT / "benchmarks/results/hw_claims_embedded_gpu_run.json"


def build_workspace(ws: Path) -> dict:
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    with tarfile.open(METRICS_TGZ) as t:
        t.extractall(ws / "reports", filter="data")
    (ws / "reports/metrics/hw_mapping.json").unlink(missing_ok=True)     # the old model's, recomputed below
    shutil.copy(ROOT / "params.yaml", ws / "params.yaml")
    p = yaml.safe_load((ws / "params.yaml").read_text())
    net, data = p["network"], json.loads((ws / "reports/metrics/data.json").read_text())
    layout = FBNetLayout(width_mult=net["width_mult"], depth_mult=net["depth_mult"],
                         header_channels=net["header_channels"], stem_stride=net["stem_stride"],
                         in_channels=data["in_channels"], input_size=data["input_size"], num_classes=data["num_classes"])
    for f in sorted((ws / "reports/metrics/retrain").glob("*/seed*.json")):
        d = json.loads(f.read_text())
        specs = arch_layer_specs(d["arch"], layout)
        counts = total_op_counts(specs)
        if (counts["mult"], counts["add"], counts["shift"]) != (d["mult_ops"], d["add_ops"], d["shift_ops"]):
            raise SystemExit(f"{f}: the rebuilt layer specs do not give the trained network's op counts")
        out = ws / f"artifacts/retrain/{d['run']}/seed{d['seed']}/layer_specs.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        save_specs(specs, out)
    return p


def main() -> None:
    ws = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/hw_claims_ws").resolve()
    p = build_workspace(ws)
    os.chdir(ws)
    t0 = time.perf_counter()
    hw_mapping.run(hw_mapping.load())
    stage_s = time.perf_counter() - t0
    seeds, nets = p["seeds"], sorted({*p["runs"], *p["baselines"]})
    m = Path("reports/metrics")
    out = PipelineOutputs(profile="default", data=_read(DataSummary, m / "data.json"), seeds=seeds)
    out.retrain_seeds = {n: {k: _read(RetrainMetrics, m / "retrain" / n / f"seed{k}.json") for k in seeds} for n in nets}
    out.retrain = {n: v[seeds[0]] for n, v in out.retrain_seeds.items()}
    out.hw = _read(HwMappingMetrics, m / "hw_mapping.json")
    rules = VerdictRules()
    claims = {f"{scale}/{setting}": {c: vars(judge_hw_claim(out, c, rules, setting, scale)) for c in HW_CLAIMS}
              for scale in ("embedded", "paper") for setting in ("realistic", "nasaf_compatible")}
    scale, settings, table = hw_sensitivity(out, rules)
    doc = {"what": __doc__.split("\n\n")[0], "command": "python benchmarks/hw_claims_embedded_gpu_run.py",
           "hw_mapping_stage_seconds": round(stage_s, 1), "workers": os.cpu_count(),
           "claims": claims, "sensitivity": {"scale": scale, "settings": settings,
                                             "verdicts": {c: {s: vars(j) for s, j in row.items()}
                                                          for c, row in table.items()}},
           "nasaf_comparison": out.hw.doc["nasaf_comparison"]}
    OUT.write_text(json.dumps(doc, indent=1))
    with gzip.open(OUT.with_name("hw_mapping_embedded_gpu_run.json.gz"), "wt") as f:
        f.write((m / "hw_mapping.json").read_text())
    for key, row in claims.items():
        for c, j in row.items():
            print(f"{key:28s} {c:38s} {j['verdict']}")
    print(f"wrote {OUT.relative_to(ROOT)} (stage {stage_s:.0f} s)")


if __name__ == "__main__":
    main()
