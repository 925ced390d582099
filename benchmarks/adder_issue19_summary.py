"""Issue 19's figures against its targets, from the recorded H200 runs (no GPU needed).

    python benchmarks/adder_issue19_summary.py     # writes benchmarks/results/adder_cuda_h200_issue19_summary.json

Inputs (benchmarks/results/, each written by ``bash benchmarks/issue19_gpu.sh STAGE TAG`` on the
lent H200): ``adder_cuda_h200_issue19_baseline.json`` (the code before issue 19, with the peer
built and the search steps profiled), ``..._iter1.json`` / ``..._iter2.json`` (intermediate
versions and kernel tuning), ``..._final.json`` (the first submitted code, with the peer),
``..._final4.json`` (the current code: the strided input gradient's phase classes heaviest first;
stage ``final3``, no peer sources in that working tree), ``..._prevcode_rerun.json`` (the code of
``final`` again, on the same lent machine as ``..._final3b.json``; ``final3`` / ``final3b`` ran an
intermediate version whose small-3x3 weight gradient was a Triton GEMM, slower than cuDNN, since
removed: ``..._wgrad_gemm_probe.json``), the matching ``adder_host_overhead_h200_issue19_*.json``,
and ``..._graph_fb.json`` (``benchmarks/adder_graph_fb.py``: every shape's forward + backward in a
CUDA graph, the host taken out, with the current code).
"""
from __future__ import annotations

import json
import os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGET_FB, TARGET_SOFT, TARGET_HARD = 2.5, 2.5, 1.5


def _load(tag):
    with open(os.path.join(RESULTS, f"adder_cuda_h200_issue19_{tag}.json")) as f:
        return json.load(f)


def _key(rec):
    s = rec["shape"]
    return [s["N"], s["C"], s["H"], s["K"], s["R"], s["stride"], s["groups"]]


def main():
    runs = {tag: _load(tag) for tag in ("baseline", "iter1", "iter2", "final", "prevcode_rerun", "final3b",
                                        "final4")}
    final = runs["final4"]
    peer_run = runs["final"]  # the last run with the peer built (its sources were not in final4's tree)
    rows = []
    for i, rec in enumerate(final["shapes"]):
        r = rec["ratios"]
        fb = rec["forward_backward_ms"]
        row = {
            "shape_N_C_H_K_k_s_g": _key(rec),
            "conv_fb_ms": fb["conv"], "adder_fb_ms": fb["adder"],
            "adder_over_conv_fb": r["adder_over_conv_forward_backward"],
            "adder_over_conv_fb_by_run": {t: runs[t]["shapes"][i]["ratios"]["adder_over_conv_forward_backward"]
                                          for t in runs},
            "fb_target_met": r["adder_over_conv_forward_backward"] <= TARGET_FB,
            "peak_MB_adder_conv": [rec["peak_MB"]["adder"], rec["peak_MB"]["conv"]],
            "peak_target_met": rec["peak_MB"]["adder"] <= rec["peak_MB"]["conv"],
            "host_ms_fb_adder_conv": [rec["host_ms_per_forward_backward"]["adder"],
                                      rec["host_ms_per_forward_backward"]["conv"]],
        }
        prec = peer_run["shapes"][i]
        if "peer" in prec["forward_backward_ms"]:
            row["peer_fb_ms_from_final"] = prec["forward_backward_ms"]["peer"]
            row["peer_over_adder_fb"] = prec["ratios"]["peer_over_adder_forward_backward"]
        rows.append(row)
    parts = {str(t["shape"]): t["default_ms"] | {"conv_forward": t["conv_forward_ms"]}
             for t in final.get("tune", [])}
    parts_before = {str(t["shape"]): t["default_ms"] for t in runs["final"].get("tune", [])}
    inter = {rec["mode"]: rec for rec in final.get("supernet_interleaved", [])}
    soft = inter["soft"]["ratio_to_OnlyConv"]["Hybrid-All"]
    hard = inter["hard"]["ratio_to_OnlyConv"]["Hybrid-All"]
    base_steps = runs["baseline"]["supernet"]["steps"]
    checks = final["check"]
    out = {
        "device": final["versions"]["device"], "versions": final["versions"],
        "targets": {"forward_backward_over_cudnn": TARGET_FB, "peak_memory": "<= convolution",
                    "soft_search_step_over_onlyconv": TARGET_SOFT, "hard_search_step_over_onlyconv": TARGET_HARD},
        "shapes": rows,
        "shapes_meeting_fb_target": sum(r["fb_target_met"] for r in rows),
        "shapes_meeting_peak_target": sum(r["peak_target_met"] for r in rows),
        "kernel_only_ms_final (CUDA graph replays)": parts,
        "kernel_only_ms_before (adder_cuda_h200_issue19_final.json)": parts_before,
        "search_step_by_run": {t: {m["mode"]: m["ratio_to_OnlyConv"]["Hybrid-All"]
                                   for m in runs[t].get("supernet_interleaved", [])}
                               for t in ("final", "prevcode_rerun", "final3b", "final4")},
        "search_step_final_interleaved": {
            "hard_ms_median": inter["hard"]["ms_per_step_median"], "hard_ratio": hard,
            "hard_target_met": hard <= TARGET_HARD,
            "soft_ms_median": inter["soft"]["ms_per_step_median"], "soft_ratio": soft,
            "soft_target_met": soft <= TARGET_SOFT,
        },
        "search_step_baseline": {
            f"{s['mode']}/{s['space']}": {"ms_per_step": s["ms_per_step"],
                                          **({"wall_ms_profiled": s["profile"]["wall_ms_profiled"],
                                              "kernel_ms": s["profile"]["kernel_ms"],
                                              "kernel_launches": s["profile"]["kernel_launches"],
                                              "kernel_ms_by_category": s["profile"]["kernel_ms_by_category"]}
                                             if "profile" in s else {})}
            for s in base_steps},
        "float64_check_final": {"cases": len(checks), "all_ok": all(c["ok"] for c in checks),
                                "max_rel_err": max(max(c["rel_err_y_dx_dw"] + c["rel_err_y_dx_dw_second_call"])
                                                   for c in checks)},
        "peer": {
            "build_verbatim": runs["baseline"]["peer_build"].get("error", "")[-700:],
            "build_with_one_line_fix": runs["baseline"]["peer_build"].get("patched_retry", {}).get("built"),
            "float64_check (adder_cuda_h200_issue19_final.json)": [
                {"shape": c["shape"], "ok": c.get("peer_ok"), "rel_err_y_dx_dw": c.get("peer_rel_err_y_dx_dw"),
                 "note": c.get("peer_note")} for c in peer_run["check"]],
        },
        "notes": [
            "Ratios are forward+backward medians of CUDA-event-timed single calls (benchmarks/adder.py), "
            "as in the issue; most listed shapes are host-bound there (kernel-only sums are far lower), so "
            "they move between machines and runs: the same code gave 2.57x, 2.93x for the small depthwise "
            "shape on two H200 machines, and cuDNN's own time for 128x64x16 3x3 was 0.364 and 0.588 ms.",
            "iter1 ran with the fast launch path inactive (Triton 3.6's empty HookChain was taken for a set "
            "hook); iter2 and final have it active.",
            "Same machine, same session: the code of 'final' (prevcode_rerun) and an intermediate of the "
            "current code (final3b) differ per shape by up to 1.4x in fb ratio on shapes whose kernels did "
            "not change (e.g. 128x64x16x16 g2 1x1: 2.46x vs 3.54x): the fb ratios of the host-bound shapes "
            "are within run-to-run noise; the kernel-only times (CUDA graphs) are the stable figure.",
            "peak_MB_adder_conv lists the adder first: the adder's peak was at most the convolution's on "
            "every shape in 'final' already (128x64x16 3x3: 44.7 vs 102.0 MB; 256x256x8 3x3: 100.25 vs 116.25).",
            "The search steps in 'final' alternate the spaces in rounds (benchmarks/adder.py "
            "--supernet-interleaved) because host-bound steps follow the lent machine's CPU speed.",
        ],
    }
    graph_file = os.path.join(RESULTS, "adder_cuda_h200_issue19_graph_fb.json")
    if os.path.exists(graph_file):     # benchmarks/adder_graph_fb.py: the host taken out
        with open(graph_file) as f:
            graph = json.load(f)
        out["forward_backward_cuda_graph (adder_cuda_h200_issue19_graph_fb.json)"] = {
            "method": graph["method"],
            "shapes": [{"shape": g["shape"], "graph_ms": g["graph_ms"], "event_ms": g["event_ms"],
                        "adder_over_conv_graph": g["adder_over_conv_graph"],
                        "adder_over_conv_event": g["adder_over_conv_event"]} for g in graph["shapes"]],
            "shapes_within_target_graph": sum(g["adder_over_conv_graph"] is not None
                                              and g["adder_over_conv_graph"] <= TARGET_FB for g in graph["shapes"]),
            "note": "cuDNN's grouped (g2 1x1) and depthwise stride-2 convolutions ran slower inside a graph than "
                    "eagerly on that machine (0.78 vs 0.59 ms), so their graph ratios (0.11, 0.92) flatter the adder; "
                    "the event ratios of the same run differ from final4's by up to 0.6 (host-bound shapes)."}
        for g in graph["shapes"]:
            print(g["shape"], "graph (host out) %.2fx, events %.2fx" % (g["adder_over_conv_graph"],
                                                                       g["adder_over_conv_event"]))
    path = os.path.join(RESULTS, "adder_cuda_h200_issue19_summary.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    for r in rows:
        print(r["shape_N_C_H_K_k_s_g"], "fb %.2fx (%s)" % (r["adder_over_conv_fb"], "met" if r["fb_target_met"] else "MISSED"),
              "baseline %.2fx" % r["adder_over_conv_fb_by_run"]["baseline"],
              "peak %.1f/%.1f MB" % tuple(r["peak_MB_adder_conv"]),
              "peer/adder %.2f (final)" % r["peer_over_adder_fb"] if "peer_over_adder_fb" in r else "peer: -")
    print("search step: hard %.2fx, soft %.2fx" % (hard, soft))
    print("wrote", path)


if __name__ == "__main__":
    main()
