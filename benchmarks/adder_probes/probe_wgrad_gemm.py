"""Issue 19 probe: a Triton implicit-GEMM weight gradient for dense adder layers (rejected), against
cuDNN's convolution weight gradient (the code kept), on the H200.

The variant kernel is not in the library; it is the patch beside this file.  On the GPU machine:

    git apply benchmarks/adder_probes/wgrad_gemm.patch
    OUT=<dir> python3 benchmarks/adder_probes/probe_wgrad_gemm.py   # -> $OUT/probe.json
    git apply -R benchmarks/adder_probes/wgrad_gemm.patch

Result: benchmarks/results/adder_cuda_h200_issue19_wgrad_gemm_probe.json (float64 check on every
shape with the variant on, then per dense shape the fused weight-gradient time, CUDA-graph ms, for
cuDNN and for each tile and program count of the variant).
"""
import sys, json, os, torch
import torch.nn.functional as F
sys.path.insert(0, 'benchmarks')
import adder as B
from nasa_lib.ops import _adder_triton as T
from nasa_lib.ops.adder import _adder2d
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
dev = torch.device('cuda')
out = {}
saved = dict(T.CONFIG)
T.CONFIG['dw_triton'] = 'all'
out['check_all'] = B.check_cuda(B.ISSUE_SHAPES + B.OWN_SHAPES)
print('CHECK all ok:', all(r['ok'] for r in out['check_all']), flush=True)
TILES = [(32, 64, 32, 4), (64, 64, 32, 4), (32, 32, 32, 4), (16, 64, 32, 4), (32, 64, 64, 4), (64, 64, 16, 4), (32, 64, 32, 8)]
rows = []
for shape in B.ISSUE_SHAPES + B.OWN_SHAPES:
    if shape[1] // shape[6] == 1:
        continue
    x, w, gy, stride, pad, groups = B._make(shape, dev)
    xd, wd = x.detach(), w.detach()
    row = {'shape': shape, 'wgrad_graph_ms': {}}
    T.CONFIG.clear(); T.CONFIG.update(saved); T.CONFIG['dw_triton'] = 'none'
    row['wgrad_graph_ms']['cudnn'] = B._graph_ms(lambda: T.weight_grad_rescaled(xd, wd, gy, stride, pad, groups, 0.2))
    T.CONFIG['dw_triton'] = 'all'
    for tile in TILES:
        for progs in (2.0, 4.0, 8.0):
            T.CONFIG['dw_dense'] = tile; T.CONFIG['dw_dense_programs'] = progs
            try:
                row['wgrad_graph_ms'][str((tile, progs))] = B._graph_ms(lambda: T.weight_grad_rescaled(xd, wd, gy, stride, pad, groups, 0.2))
            except Exception as e:
                row['wgrad_graph_ms'][str((tile, progs))] = repr(e)[:200]
    T.CONFIG.clear(); T.CONFIG.update(saved)
    conv = lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups)
    add = lambda a, b: _adder2d(a, b, stride, pad, groups)
    for mode in ('none', 'all'):
        T.CONFIG['dw_triton'] = mode
        row[f'fb_ms_{mode}'] = B.time_ms(lambda: B._fwd_bwd(add, x, w, gy), dev)
        row[f'peak_{mode}'] = B.cuda_peak_mb(lambda: B._fwd_bwd(add, x, w, gy), x, w)
        row[f'host_{mode}'] = B.host_ms(lambda: B._fwd_bwd(add, x, w, gy))
    row['fb_ms_conv'] = B.time_ms(lambda: B._fwd_bwd(conv, x, w, gy), dev)
    row['peak_conv'] = B.cuda_peak_mb(lambda: B._fwd_bwd(conv, x, w, gy), x, w)
    row['host_conv'] = B.host_ms(lambda: B._fwd_bwd(conv, x, w, gy))
    T.CONFIG.clear(); T.CONFIG.update(saved)
    rows.append(row)
    best = min((v, k) for k, v in row['wgrad_graph_ms'].items() if isinstance(v, float))
    print(shape, 'cudnn', round(row['wgrad_graph_ms']['cudnn'], 4), 'best', best, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k not in ('shape', 'wgrad_graph_ms')}, flush=True)
    out['rows'] = rows
    json.dump(out, open(os.environ['OUT'] + '/probe.json', 'w'), indent=1)
