"""Issue 19 probe: the dense forward and stride-1 input-gradient kernels with the kernel taps as
the outer loops and the channel (forward) / filter (input gradient) loop inside, so that each
tap's padding mask and base address are computed once per program instead of once per channel,
against the kernels in ``nasa_lib/ops/_adder_triton.py``, on the H200:

    OUT=<dir> python3 benchmarks/adder_probes/probe_tap_outer.py   # -> $OUT/probe_tap_outer.json

Kernel-only times (CUDA graph replay, ``benchmarks/adder.py``'s ``_graph_ms``) per shape, tile and
unroll; each variant's output against the current kernel's (relative max error; the summation
order differs, so not bit-equal).
"""
import json
import os
import sys

import torch
import triton
import triton.language as tl

sys.path.insert(0, "benchmarks")
import adder as B  # noqa: E402
from nasa_lib.ops import _adder_triton as T  # noqa: E402


@triton.jit
def _fwd_tap_outer(x_ptr, wt_ptr, y_ptr, C, H, W, K, P, Q, M, Cg, Kg, stride, pad,
                   R: tl.constexpr, S: tl.constexpr, C_UNROLL: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_K: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_k = tl.program_id(1)
    g = tl.program_id(2)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_k = pid_k * BLOCK_K + tl.arange(0, BLOCK_K)
    mask_m = offs_m < M
    mask_k = offs_k < Kg
    PQ = P * Q
    HW = H * W
    n = offs_m // PQ
    pq = offs_m % PQ
    h0 = (pq // Q) * stride - pad
    w0 = (pq % Q) * stride - pad
    x_base = x_ptr + n.to(tl.int64) * C * HW + (g * Cg) * HW + h0 * W + w0
    w_base = wt_ptr + g * (Cg * R * S) * Kg + offs_k
    acc = tl.zeros((BLOCK_K, BLOCK_M), dtype=tl.float32)
    RSK = R * S * Kg
    for r in tl.static_range(R):
        h_ok = mask_m & (h0 + r >= 0) & (h0 + r < H)
        for s in tl.static_range(S):
            ok = h_ok & (w0 + s >= 0) & (w0 + s < W)
            xp = x_base + (r * W + s)
            wp = w_base + (r * S + s) * Kg
            for c0 in range(0, Cg, C_UNROLL):  # Cg % C_UNROLL == 0 (the caller checks)
                for cu in tl.static_range(C_UNROLL):
                    xv = tl.load(xp + (c0 + cu) * HW, mask=ok, other=0.0)
                    wv = tl.load(wp + (c0 + cu) * RSK, mask=mask_k, other=0.0)
                    acc += tl.abs(wv[:, None] - xv[None, :])
    y_ptrs = (y_ptr + (n.to(tl.int64) * K * PQ + pq)[None, :] + ((g * Kg + offs_k) * PQ)[:, None])
    tl.store(y_ptrs, -acc, mask=mask_k[:, None] & mask_m[None, :])


@triton.jit
def _dx_tap_outer(x_ptr, w_ptr, gy_ptr, dx_ptr, N, C, H, W, K, P, Q, Cg, Kg, w_sk, w_sc, w_sr,
                  PAD: tl.constexpr, R: tl.constexpr, S: tl.constexpr, K_UNROLL: tl.constexpr,
                  BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr, USE_SAT_ASM: tl.constexpr):
    """Stride 1 only."""
    pid_m = tl.program_id(0)
    pid_c = tl.program_id(1)
    g = tl.program_id(2)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    HW = H * W
    PQ = P * Q
    mask_m = offs_m < N * HW
    n = offs_m // HW
    rem = offs_m % HW
    h = rem // W
    w = rem % W
    offs_c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    mask_c = offs_c < Cg
    mask = mask_c[:, None] & mask_m[None, :]
    xy_off = (n.to(tl.int64) * C * HW + h * W + w)[None, :] + ((g * Cg + offs_c) * HW)[:, None]
    b = 0.5 - 0.5 * tl.load(x_ptr + xy_off, mask=mask, other=0.0)
    acc = tl.zeros((BLOCK_C, BLOCK_M), dtype=tl.float32)
    gsum = tl.zeros((BLOCK_M,), dtype=tl.float32)
    g_base = gy_ptr + n.to(tl.int64) * K * PQ + (g * Kg) * PQ
    w_base = w_ptr + (g * Kg) * w_sk + offs_c * w_sc
    for r in tl.static_range(R):
        p = h + PAD - r
        r_ok = mask_m & (p >= 0) & (p < P)
        for s in tl.static_range(S):
            q = w + PAD - s
            ok = r_ok & (q >= 0) & (q < Q)
            gp = g_base + p * Q + q
            wp = w_base + (r * w_sr + s)
            for k0 in range(0, Kg, K_UNROLL):  # Kg % K_UNROLL == 0 (the caller checks)
                for ku in tl.static_range(K_UNROLL):
                    gv = tl.load(gp + (k0 + ku) * PQ, mask=ok, other=0.0)
                    wv = tl.load(wp + (k0 + ku) * w_sk, mask=mask_c, other=0.0)
                    u = T._half_w_plus_b_sat(wv[:, None], b, USE_SAT_ASM)
                    acc += u * gv[None, :]
                    gsum += gv
    tl.store(dx_ptr + xy_off, 2.0 * acc - gsum[None, :], mask=mask)


def fwd_variant(x, w, stride, pad, groups, block_m, block_k, warps, unroll):
    n, c, h, ww, k, cg, r, s, p, q = T._geometry(x, w, stride, pad)
    kg = k // groups
    m = n * p * q
    y = torch.empty(n, k, p, q, device=x.device)
    wt = T._transposed_weight(w, groups)
    bk = min(block_k, max(16, T._next_pow2(kg)))
    grid = (triton.cdiv(m, block_m), triton.cdiv(kg, bk), groups)
    _fwd_tap_outer[grid](x, wt, y, c, h, ww, k, p, q, m, cg, kg, stride, pad, r, s, unroll, block_m, bk,
                         num_warps=warps)
    return y


def dx_variant(x, w, gy, pad, groups, block_m, block_c, warps, unroll):
    n, c, h, ww, k, cg, r, s, p, q = T._geometry(x, w, 1, pad)
    kg = k // groups
    dx = torch.empty_like(x)
    bc = min(block_c, max(16, T._next_pow2(cg)))
    grid = (triton.cdiv(n * h * ww, block_m), triton.cdiv(cg, bc), groups)
    _dx_tap_outer[grid](x, w, gy, dx, n, c, h, ww, k, p, q, cg, kg, w.stride(0), w.stride(1), w.stride(2),
                        pad, r, s, unroll, block_m, bc, True, num_warps=warps)
    return dx


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def sweep(into: dict, tiles, loop_len: int, ref, variant) -> None:
    """Time ``variant(*tile, unroll)`` for every tile and every unroll dividing ``loop_len`` (the
    inner loop's length), with its output's error against ``ref``, into ``into``."""
    for tile in tiles:
        for unroll in (1, 2, 4):
            if loop_len % unroll:
                continue
            key = str((*tile, unroll))
            try:
                out = variant(*tile, unroll)
                ms = B._graph_ms(lambda: variant(*tile, unroll))
                into[key] = {"ms": ms, "rel_err": rel(out, ref)}
            except Exception as exc:  # noqa: BLE001
                into[key] = {"error": f"{type(exc).__name__}: {str(exc)[:100]}"}


def main():
    B.fp32_settings()
    dev = torch.device("cuda")
    out = {"rows": []}
    shapes = [(256, 256, 8, 256, 3, 1, 1), (128, 64, 16, 64, 3, 1, 1), (128, 32, 32, 32, 3, 1, 1),
              (128, 64, 16, 128, 3, 2, 1), (128, 96, 32, 24, 1, 1, 1), (128, 64, 16, 64, 1, 1, 2)]
    for shape in shapes:
        x, w, gy, stride, pad, groups = B._make(shape, dev)
        x, w = x.detach(), w.detach()
        cg, kg = shape[1] // groups, shape[3] // groups
        row = {"shape": shape, "fwd_current_ms": B._graph_ms(lambda: T.forward(x, w, stride, pad, groups)),
               "dx_current_ms": B._graph_ms(lambda: T.grad_input(x, w, gy, stride, pad, groups)),
               "fwd": {}, "dx": {}}
        y0 = T.forward(x, w, stride, pad, groups)
        dx0 = T.grad_input(x, w, gy, stride, pad, groups)
        sweep(row["fwd"], [(64, 128, 4), (128, 32, 4), (128, 64, 4), (64, 64, 4), (128, 128, 8)], cg, y0,
              lambda bm, bk, warps, unroll: fwd_variant(x, w, stride, pad, groups, bm, bk, warps, unroll))
        if stride == 1:
            sweep(row["dx"], [(128, 32, 4), (64, 32, 4), (128, 64, 4), (256, 32, 8), (64, 64, 4)], kg, dx0,
                  lambda bm, bc, warps, unroll: dx_variant(x, w, gy, pad, groups, bm, bc, warps, unroll))
        best_f = min((v["ms"], k) for k, v in row["fwd"].items() if "ms" in v)
        best_d = min(((v["ms"], k) for k, v in row["dx"].items() if "ms" in v), default=None)
        print(shape, "fwd cur %.4f best %s" % (row["fwd_current_ms"], best_f), "dx cur %.4f best %s" % (row["dx_current_ms"], best_d),
              "errs", max(v.get("rel_err", 0) for v in list(row["fwd"].values()) + list(row["dx"].values())), flush=True)
        out["rows"].append(row)
    with open(os.path.join(os.environ.get("OUT", "."), "probe_tap_outer.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
