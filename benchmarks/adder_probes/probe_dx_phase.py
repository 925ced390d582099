"""Issue 19 probe: tiles for the stride-2 input-gradient kernel (``CONFIG["dx_strided"]``), and
forward + backward time and peak memory with and without the Triton dense weight gradient
(the second part needs ``benchmarks/adder_probes/wgrad_gemm.patch`` applied; see
probe_wgrad_gemm.py), on the H200:

    OUT=<dir> python3 benchmarks/adder_probes/probe_dx_phase.py   # -> $OUT/probe2.json

Result: benchmarks/results/adder_cuda_h200_issue19_dx_phase_probe.json.
"""
import sys, json, os, torch
import torch.nn.functional as F
sys.path.insert(0, 'benchmarks')
import adder as B
from nasa_lib.ops import _adder_triton as T
from nasa_lib.ops.adder import _adder2d
torch.backends.cudnn.allow_tf32 = False
dev = torch.device('cuda')
out = {}
saved = dict(T.CONFIG)
out['check'] = B.check_cuda(B.ISSUE_SHAPES + B.OWN_SHAPES)
print('CHECK ok:', all(r['ok'] for r in out['check']), flush=True)
DX = [(128, 32, 4), (64, 32, 4), (32, 32, 4), (64, 16, 4), (128, 16, 4), (64, 64, 4), (128, 32, 8), (64, 32, 4, 1), (32, 64, 4)]
out['dx'] = {}
for shape in [(128, 64, 16, 128, 3, 2, 1), (3, 6, 7, 8, 3, 2, 1)]:
    x, w, gy, stride, pad, groups = B._make(shape, dev)
    xd, wd = x.detach(), w.detach()
    r = {}
    for v in DX:
        T.CONFIG['dx_strided'] = v
        r[str(v)] = B._graph_ms(lambda: T.grad_input(xd, wd, gy, stride, pad, groups))
    T.CONFIG.clear(); T.CONFIG.update(saved)
    r['fwd'] = B._graph_ms(lambda: T.forward(xd, wd, stride, pad, groups))
    out['dx'][str(shape)] = r
    print('dx', shape, {k: round(v, 4) for k, v in r.items()}, flush=True)
rows = []
for shape in [(128, 64, 16, 64, 3, 1, 1), (128, 32, 32, 32, 3, 1, 1), (256, 256, 8, 256, 3, 1, 1), (128, 64, 16, 128, 3, 2, 1)]:
    x, w, gy, stride, pad, groups = B._make(shape, dev)
    conv = lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups)
    add = lambda a, b: _adder2d(a, b, stride, pad, groups)
    row = {'shape': shape}
    for rep in range(2):
        for mode in ('none', 'small'):
            T.CONFIG['dw_triton'] = mode
            row[f'fb_{mode}_{rep}'] = B.time_ms(lambda: B._fwd_bwd(add, x, w, gy), dev)
            row[f'peak_{mode}_{rep}'] = B.cuda_peak_mb(lambda: B._fwd_bwd(add, x, w, gy), x, w)
        row[f'fb_conv_{rep}'] = B.time_ms(lambda: B._fwd_bwd(conv, x, w, gy), dev)
        row[f'peak_conv_{rep}'] = B.cuda_peak_mb(lambda: B._fwd_bwd(conv, x, w, gy), x, w)
    T.CONFIG.clear(); T.CONFIG.update(saved)
    rows.append(row)
    print(shape, {k: round(v, 4) for k, v in row.items() if k != 'shape'}, flush=True)
out['rows'] = rows
json.dump(out, open(os.environ['OUT'] + '/probe2.json', 'w'), indent=1)
