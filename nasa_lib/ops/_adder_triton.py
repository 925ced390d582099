"""Triton kernels of the adder convolution for CUDA tensors (float32 in, float32 out).

Two pairs of kernels, both "implicit GEMM": nothing is unfolded, the receptive fields are read
straight from ``x`` with masks for the padding, so the only memory besides the inputs and the
output is a transposed copy of the (small) weight.

* dense (``C // groups > 1``): a program owns a tile of ``BLOCK_K`` filters x ``BLOCK_M`` output
  positions and walks the ``C/G * R * S`` receptive-field elements; each step loads one value per
  position and one per filter and does ``BLOCK_K * BLOCK_M`` ``acc += |w - x|`` (two FP32
  instructions each: the abs folds into the add).
* depthwise (``C // groups == 1``): one program per (image, channel) plane and block of
  positions, the ``R*S`` taps unrolled.

Input gradient ``dx = sum_k HardTanh(w - x) * g``.  The clamp costs two instructions, but
``HardTanh(w - x) = 2 * sat(0.5 w + 0.5 - 0.5 x) - 1`` with ``sat`` the clamp to [0, 1], which
PTX does for free on an add (``add.sat.f32``).  So the kernels keep ``w' = 0.5 w + 0.5``
(precomputed) and ``-0.5 x`` (loaded once per output element) and accumulate ``sat(w' - x') * g``
(one add.sat + one fma per term), then finish with ``2 * acc - sum(g)``.  The dense kernel
splits the input positions into ``stride**2`` phase classes so that, at stride 2, only the taps
that actually reach a position are visited (the transposed-convolution trick).
"""
from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

# The interpreter (TRITON_INTERPRET=1, used by the CPU tests) cannot run inline PTX.
_INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") == "1"


def _next_pow2(v: int) -> int:
    return 1 << max(0, (int(v) - 1).bit_length())


@triton.jit
def _sat_add(a, b, USE_SAT_ASM: tl.constexpr):
    """clamp(a + b, 0, 1): one add.sat.f32 on the GPU, min/max under the interpreter."""
    if USE_SAT_ASM:
        return tl.inline_asm_elementwise("add.sat.f32 $0, $1, $2;", "=r,r,r", [a, b],
                                         dtype=tl.float32, is_pure=True, pack=1)
    else:
        return tl.minimum(tl.maximum(a + b, 0.0), 1.0)


@triton.jit
def _fwd_dense_kernel(x_ptr, wt_ptr, y_ptr, C, H, W, K, P, Q, M, Cg, Kg, stride, pad,
                      R: tl.constexpr, S: tl.constexpr,
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
    w_base = wt_ptr + g * (Cg * R * S) * Kg + offs_k  # wt: [G][Cg*R*S][Kg]
    acc = tl.zeros((BLOCK_K, BLOCK_M), dtype=tl.float32)
    for c in range(Cg):
        for r in tl.static_range(R):
            h_ok = mask_m & (h0 + r >= 0) & (h0 + r < H)
            for s in tl.static_range(S):
                ok = h_ok & (w0 + s >= 0) & (w0 + s < W)
                xv = tl.load(x_base + (c * HW + r * W + s), mask=ok, other=0.0)
                wv = tl.load(w_base + ((c * R + r) * S + s) * Kg, mask=mask_k, other=0.0)
                acc += tl.abs(wv[:, None] - xv[None, :])
    y_ptrs = (y_ptr + (n.to(tl.int64) * K * PQ + pq)[None, :]
              + ((g * Kg + offs_k) * PQ)[:, None])
    tl.store(y_ptrs, -acc, mask=mask_k[:, None] & mask_m[None, :])


@triton.jit
def _dx_dense_kernel(x_ptr, wq_ptr, gy_ptr, dx_ptr, N, C, H, W, K, P, Q, Cg, Kg, pad,
                     STRIDE: tl.constexpr, R: tl.constexpr, S: tl.constexpr,
                     BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr, USE_SAT_ASM: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_c = tl.program_id(1)
    pid_z = tl.program_id(2)
    g = pid_z // (STRIDE * STRIDE)
    phase = pid_z % (STRIDE * STRIDE)
    ph = phase // STRIDE
    pw = phase % STRIDE
    # positions of this phase class: h = ph + i*STRIDE, w = pw + j*STRIDE
    Hc = (H - ph + STRIDE - 1) // STRIDE
    Wc = (W - pw + STRIDE - 1) // STRIDE
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    mask_m = offs_m < N * Hc * Wc
    n = offs_m // (Hc * Wc)
    rem = offs_m % (Hc * Wc)
    h = ph + (rem // Wc) * STRIDE
    w = pw + (rem % Wc) * STRIDE
    offs_c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    mask_c = offs_c < Cg
    HW = H * W
    PQ = P * Q
    mask = mask_c[:, None] & mask_m[None, :]
    xy_off = (n.to(tl.int64) * C * HW + h * W + w)[None, :] + ((g * Cg + offs_c) * HW)[:, None]
    neg_half_x = -0.5 * tl.load(x_ptr + xy_off, mask=mask, other=0.0)
    acc = tl.zeros((BLOCK_C, BLOCK_M), dtype=tl.float32)
    gsum = tl.zeros((BLOCK_M,), dtype=tl.float32)
    g_base = gy_ptr + n.to(tl.int64) * K * PQ + (g * Kg) * PQ
    r0 = (ph + pad) % STRIDE
    s0 = (pw + pad) % STRIDE
    for r in range(r0, R, STRIDE):
        p = (h + pad - r) // STRIDE  # exact: r was chosen so that STRIDE divides h + pad - r
        p_ok = mask_m & (h + pad - r >= 0) & (p < P)
        for s in range(s0, S, STRIDE):
            q = (w + pad - s) // STRIDE
            ok = p_ok & (w + pad - s >= 0) & (q < Q)
            g_ptrs = g_base + p * Q + q
            w_ptrs = wq_ptr + ((g * R + r) * S + s) * Kg * Cg + offs_c  # wq: [G][R][S][Kg][Cg]
            for k in range(Kg):
                gv = tl.load(g_ptrs + k * PQ, mask=ok, other=0.0)
                wv = tl.load(w_ptrs + k * Cg, mask=mask_c, other=0.0)
                u = _sat_add(tl.broadcast_to(wv[:, None], (BLOCK_C, BLOCK_M)), neg_half_x,
                             USE_SAT_ASM)
                acc += u * gv[None, :]
                gsum += gv
    tl.store(dx_ptr + xy_off, 2.0 * acc - gsum[None, :], mask=mask)


@triton.jit
def _fwd_depthwise_kernel(x_ptr, w_ptr, y_ptr, C, H, W, K, P, Q, mult, stride, pad,
                          R: tl.constexpr, S: tl.constexpr, BLOCK: tl.constexpr):
    plane = tl.program_id(0)  # n * K + k
    n = plane // K
    k = plane % K
    c = k // mult
    offs = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < P * Q
    h0 = (offs // Q) * stride - pad
    w0 = (offs % Q) * stride - pad
    x_base = x_ptr + (n.to(tl.int64) * C + c) * H * W + h0 * W + w0
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for r in tl.static_range(R):
        h_ok = mask & (h0 + r >= 0) & (h0 + r < H)
        for s in tl.static_range(S):
            ok = h_ok & (w0 + s >= 0) & (w0 + s < W)
            xv = tl.load(x_base + (r * W + s), mask=ok, other=0.0)
            wv = tl.load(w_ptr + k * (R * S) + (r * S + s))
            acc += tl.abs(xv - wv)
    tl.store(y_ptr + plane.to(tl.int64) * P * Q + offs, -acc, mask=mask)


@triton.jit
def _dx_depthwise_kernel(x_ptr, wq_ptr, gy_ptr, dx_ptr, C, H, W, K, P, Q, mult, pad,
                         STRIDE: tl.constexpr, R: tl.constexpr, S: tl.constexpr,
                         BLOCK: tl.constexpr, USE_SAT_ASM: tl.constexpr):
    plane = tl.program_id(0)  # n * C + c
    n = plane // C
    c = plane % C
    offs = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < H * W
    h = offs // W
    w = offs % W
    x_off = plane.to(tl.int64) * H * W + offs
    neg_half_x = -0.5 * tl.load(x_ptr + x_off, mask=mask, other=0.0)
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    gsum = tl.zeros((BLOCK,), dtype=tl.float32)
    for m in range(mult):
        k = c * mult + m
        g_base = gy_ptr + (n.to(tl.int64) * K + k) * P * Q
        for r in tl.static_range(R):
            hp = h + pad - r
            p = hp // STRIDE
            r_ok = mask & (hp >= 0) & (hp % STRIDE == 0) & (p < P)
            for s in tl.static_range(S):
                wp = w + pad - s
                q = wp // STRIDE
                ok = r_ok & (wp >= 0) & (wp % STRIDE == 0) & (q < Q)
                gv = tl.load(g_base + p * Q + q, mask=ok, other=0.0)
                wv = tl.load(wq_ptr + k * (R * S) + (r * S + s))
                acc += _sat_add(tl.zeros((BLOCK,), dtype=tl.float32) + wv, neg_half_x,
                                USE_SAT_ASM) * gv
                gsum += gv
    tl.store(dx_ptr + x_off, 2.0 * acc - gsum, mask=mask)


# ---- launch heuristics --------------------------------------------------------------------
# (BLOCK_M, BLOCK_{K,C} cap, num_warps); overridable for the tuning runs of benchmarks/adder.py.
CONFIG = {"fwd": (128, 64, 4), "dx": (128, 64, 4), "dw_block": 256}
_use_sat_asm = not _INTERPRETED


def _geometry(x, weight, stride, padding):
    n, c, h, w = x.shape
    k, cg, r, s = weight.shape
    return n, c, h, w, k, cg, r, s, (h + 2 * padding - r) // stride + 1, (w + 2 * padding - s) // stride + 1


def forward(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int, groups: int) -> torch.Tensor:
    """Adder forward of contiguous float32 tensors on one device."""
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding)
    y = torch.empty(n, k, p, q, dtype=torch.float32, device=x.device)
    if cg == 1:  # depthwise (or a single input channel): one filter per plane
        block = min(CONFIG["dw_block"], max(32, _next_pow2(p * q)))
        grid = (n * k, triton.cdiv(p * q, block))
        _fwd_depthwise_kernel[grid](x, weight, y, c, h, w, k, p, q, k // c, stride, padding,
                                    R=r, S=s, BLOCK=block, num_warps=4)
        return y
    kg = k // groups
    block_m, cap_k, warps = CONFIG["fwd"]
    block_k = min(cap_k, max(16, _next_pow2(kg)))
    wt = weight.reshape(groups, kg, cg * r * s).transpose(1, 2).contiguous()  # [G][J][Kg]
    m = n * p * q
    grid = (triton.cdiv(m, block_m), triton.cdiv(kg, block_k), groups)
    _fwd_dense_kernel[grid](x, wt, y, c, h, w, k, p, q, m, cg, kg, stride, padding, R=r, S=s,
                            BLOCK_M=block_m, BLOCK_K=block_k, num_warps=warps)
    return y


def _launch_dx(x, weight, grad_y, stride, padding, groups, dx, use_asm):
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding)
    half_w_plus_half = weight * 0.5 + 0.5  # w' of the module docstring
    if cg == 1:
        block = min(CONFIG["dw_block"], max(32, _next_pow2(h * w)))
        grid = (n * c, triton.cdiv(h * w, block))
        _dx_depthwise_kernel[grid](x, half_w_plus_half.contiguous(), grad_y, dx, c, h, w, k, p, q,
                                   k // c, padding, STRIDE=stride, R=r, S=s, BLOCK=block,
                                   USE_SAT_ASM=use_asm, num_warps=4)
        return
    kg = k // groups
    block_m, cap_c, warps = CONFIG["dx"]
    block_c = min(cap_c, max(16, _next_pow2(cg)))
    wq = half_w_plus_half.reshape(groups, kg, cg, r, s).permute(0, 3, 4, 1, 2).contiguous()
    positions = n * triton.cdiv(h, stride) * triton.cdiv(w, stride)  # largest phase class
    grid = (triton.cdiv(positions, block_m), triton.cdiv(cg, block_c), groups * stride * stride)
    _dx_dense_kernel[grid](x, wq, grad_y, dx, n, c, h, w, k, p, q, cg, kg, padding,
                           STRIDE=stride, R=r, S=s, BLOCK_M=block_m, BLOCK_C=block_c,
                           USE_SAT_ASM=use_asm, num_warps=warps)


def grad_input(x: torch.Tensor, weight: torch.Tensor, grad_y: torch.Tensor, stride: int,
               padding: int, groups: int) -> torch.Tensor:
    """dL/dx = sum HardTanh(w - x) * dL/dy; every element of dx is written by one program."""
    global _use_sat_asm
    dx = torch.empty_like(x)
    if _use_sat_asm:
        try:
            _launch_dx(x, weight, grad_y, stride, padding, groups, dx, True)
            return dx
        except Exception:  # a toolchain without add.sat: the min/max clamp computes the same
            _use_sat_asm = False
    _launch_dx(x, weight, grad_y, stride, padding, groups, dx, False)
    return dx
