"""Issue 19 probe: Nsight Compute on the one layer that misses 2.5x (256x256 channels, 8x8, 3x3,
batch 256): cuDNN's convolution forward and input gradient beside the adder's forward and
input-gradient kernels, inside an NVTX range ``prof`` so that ncu profiles only those:

    ncu --nvtx --nvtx-include "prof/" --section SpeedOfLight --section ComputeWorkloadAnalysis \\
        --section WarpStateStats --section Occupancy --section LaunchStats --csv --page details \\
        python3 benchmarks/adder_probes/ncu_dense.py > $OUT/ncu_dense.csv

Result: benchmarks/results/adder_ncu_h200_issue19_dense256.json (the CSV's main rows).
"""
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, "benchmarks")
import adder as B  # noqa: E402
from nasa_lib.ops import _adder_triton as T  # noqa: E402

B.fp32_settings()
x, w, gy, stride, pad, groups = B._make((256, 256, 8, 256, 3, 1, 1), torch.device("cuda"))
x, w = x.detach(), w.detach()


def layer_calls():
    """cuDNN's forward and input gradient, then the adder's forward and input gradient."""
    F.conv2d(x, w, None, stride, pad)
    torch.ops.aten.convolution_backward(gy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1,
                                        [True, False, False])
    T.forward(x, w, stride, pad, groups)
    T.grad_input(x, w, gy, stride, pad, groups)


for _ in range(3):  # compile, pick cuDNN's algorithms
    layer_calls()
torch.cuda.synchronize()
torch.cuda.nvtx.range_push("prof")
layer_calls()
torch.cuda.synchronize()
torch.cuda.nvtx.range_pop()
print("done")
