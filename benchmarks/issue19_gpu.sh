#!/usr/bin/env bash
# Issue 19's GPU runs on the lent H200 (device tool), one stage per call; outputs under $OUT.
#   baseline : benchmarks/adder.py --check --supernet (4 spaces, profiled) with the peer, host overhead
#   final    : the same after the kernel changes
#   final2   : the final figures: check, kernel-only part times, every shape beside cuDNN and the
#              peer (built from .scratch/peer_build), search steps in interleaved rounds, host time
#   final3   : final2 after the dense weight-gradient GEMM and the stride-phase order; the peer
#              only where its sources (.peer/torchshiftadd) are in the working tree
#   final3 final5 : the same stage after the per-layer launch plans (host time per adder call)
#   host5  : where the host time goes: benchmarks/adder_host_split.py (per call) and
#            benchmarks/adder_soft_host.py (per soft search step), then the same-machine A/B of the
#            old and new adder code (benchmarks/adder_ab_old_new.py; needs .scratch/old, see there)
#   floor  : benchmarks/soft_step_floor.py (the search-step ratio with the adders computed as
#            convolutions: the floor the adder kernels cannot go under)
#   check9 : the final code's per-shape figures: benchmarks/adder.py --check --shapes all, then
#            benchmarks/adder_latency.py (conv and adder in interleaved rounds)
# Triton's cache and the peer's build travel back as $OUT/cache.tgz (unpack into .scratch/).
set -uo pipefail
export PYTHONUNBUFFERED=1
export TRITON_CACHE_DIR=$PWD/.scratch/triton_cache
mkdir -p "$TRITON_CACHE_DIR" .scratch/peer_build
stage=${1:-baseline}
tag=${2:-$stage}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv
case $stage in
  baseline|final)
    python3 benchmarks/adder.py --check --supernet --supernet-spaces OnlyConv,Hybrid-Shift,Hybrid-Adder,Hybrid-All \
      --supernet-profile --peer .peer/torchshiftadd --peer-build .scratch/peer_build \
      --out "$OUT/adder_cuda_h200_issue19_$tag.json" 2>&1 | tee "$OUT/adder_$tag.log"
    python3 benchmarks/adder_host_overhead.py --out "$OUT/adder_host_overhead_h200_issue19_$tag.json" 2>&1 | tee "$OUT/host_$tag.log"
    ;;
  final2|final3)
    # final3: as final2, the peer only where its sources are in the working tree (.peer/torchshiftadd)
    peer=(--peer .peer/torchshiftadd --peer-build .scratch/peer_build --peer-skip-verbatim)
    [ "$stage" = final3 ] && [ ! -f .peer/torchshiftadd/adder_cuda_kernel.cu ] && peer=()
    python3 benchmarks/adder.py --check --tune --tune-parts-only --supernet-interleaved \
      --supernet-spaces OnlyConv,Hybrid-Shift,Hybrid-All "${peer[@]}" \
      --out "$OUT/adder_cuda_h200_issue19_$tag.json" 2>&1 | tee "$OUT/adder_$tag.log"
    python3 benchmarks/adder_host_overhead.py --out "$OUT/adder_host_overhead_h200_issue19_$tag.json" 2>&1 | tee "$OUT/host_$tag.log"
    ;;
  iter)
    python3 benchmarks/adder.py --check --tune --supernet --out "$OUT/adder_cuda_h200_issue19_$tag.json" 2>&1 | tee "$OUT/adder_$tag.log"
    python3 benchmarks/adder_host_overhead.py --out "$OUT/adder_host_overhead_h200_issue19_$tag.json" --trace-dir "$OUT" 2>&1 | tee "$OUT/host_$tag.log"
    ;;
  host5)
    python3 benchmarks/adder_host_split.py --out "$OUT/adder_host_split_h200_issue19_$tag.json"
    python3 benchmarks/adder_soft_host.py --out "$OUT/adder_soft_host_h200_issue19_$tag.json"
    [ -f .scratch/old/adder_old.py ] && python3 benchmarks/adder_ab_old_new.py --old-dir .scratch/old \
      --out "$OUT/adder_ab_old_new_h200_issue19_$tag.json"
    ;;
  floor)
    python3 benchmarks/soft_step_floor.py --out "$OUT/soft_step_floor_h200_issue19_$tag.json" 2>&1 | tee "$OUT/floor_$tag.log"
    ;;
  check9)
    python3 benchmarks/adder.py --check --shapes all --out "$OUT/adder_cuda_h200_issue19_$tag.json" 2>&1 | tee "$OUT/adder_$tag.log"
    python3 benchmarks/adder_latency.py --out "$OUT/adder_latency_h200_issue19_$tag.json" 2>&1 | tee "$OUT/latency_$tag.log"
    ;;
  *) python3 "$@" ;;
esac
case $stage in final2|final3|host5|floor|check9) ;; *) tar czf "$OUT/cache.tgz" .scratch/triton_cache .scratch/peer_build 2>/dev/null ;; esac
ls -la "$OUT"
