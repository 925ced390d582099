"""Triton kernels of the adder convolution for CUDA tensors (float32 in, float32 out).

All kernels are "implicit GEMM": nothing is unfolded, receptive fields are read straight from
``x`` with masks for the padding, and the weight is read in its own ``[K, C/G, R, S]`` layout, so
there is no memory besides the inputs and outputs (and, for the depthwise weight gradient, one
small partial-sum buffer).

* forward, dense (``C/G > 1``): a program owns ``BLOCK_K`` filters x ``BLOCK_M`` output
  positions and walks the ``C/G * R * S`` receptive-field elements; each step loads one value per
  position and one per filter and does ``BLOCK_K * BLOCK_M`` ``acc += |w - x|`` (two FP32
  instructions each: the abs folds into the add as an operand modifier).
* forward, depthwise (``C/G == 1``): one program per (image, channel) plane and position block.
* input gradient ``dx = sum_k HardTanh(w - x) * g``.  The clamp would cost two instructions,
  but ``HardTanh(w - x) = 2 * sat(0.5 w + (0.5 - 0.5 x)) - 1`` with ``sat`` the clamp to [0, 1],
  and PTX has a saturating fma (``fma.rn.sat.f32``).  So each output element keeps
  ``b = 0.5 - 0.5 x`` (loaded once), each term is one fma.sat plus one fma
  (``acc += sat(0.5 w + b) * g``) and the result is ``2 * acc - sum(g)``.  The dense kernel is
  launched once per stride phase class ``(h mod stride, w mod stride)`` with the phase as a
  compile-time constant, so at stride 2 only the taps that reach a position are visited and
  the inner loop has no branches (the transposed-convolution trick).
* weight gradient, depthwise: ``sum (x - w) * g`` per tap, reduced over positions in registers;
  dense weight gradients come from cuDNN (``adder.py``).
"""
from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

# The interpreter (TRITON_INTERPRET=1, used by the CPU tests) cannot run inline PTX.
_INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") == "1"
# Shape arguments vary from layer to layer: no per-value specialisation (one compile per
# kernel size / stride / tile, not per shape).
_SHAPE_ARGS = ["N", "C", "H", "W", "K", "P", "Q", "M", "Cg", "Kg", "mult", "stride", "pad", "n_per_chunk"]


def _next_pow2(v: int) -> int:
    return 1 << max(0, (int(v) - 1).bit_length())


@triton.jit
def _half_w_plus_b_sat(w, b, USE_SAT_ASM: tl.constexpr):
    """clamp(0.5 * w + b, 0, 1): one fma.rn.sat.f32 on the GPU, min/max in the interpreter."""
    if USE_SAT_ASM:
        return tl.inline_asm_elementwise("fma.rn.sat.f32 $0, $1, 0f3F000000, $2;", "=r,r,r",
                                         [w, b], dtype=tl.float32, is_pure=True, pack=1)
    else:
        return tl.minimum(tl.maximum(w * 0.5 + b, 0.0), 1.0)


# Specialised on the shape arguments (divisibility by 16): without it ptxas spilled registers
# massively on H100 (measured: 255 registers + 316 spills, 4x slower, for 128x64x16x16 3x3).
@triton.jit
def _fwd_dense_kernel(x_ptr, wt_ptr, y_ptr, C, H, W, K, P, Q, M, Cg, Kg, stride, pad,
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
    w_base = wt_ptr + g * (Cg * R * S) * Kg + offs_k  # wt: [G][Cg*R*S][Kg], one row per step
    acc = tl.zeros((BLOCK_K, BLOCK_M), dtype=tl.float32)
    # C_UNROLL channels x R x S independent load pairs per iteration keep loads in flight, also
    # for 1x1 kernels
    for c0 in range(0, Cg, C_UNROLL):
        for cu in tl.static_range(C_UNROLL):
            c = c0 + cu
            c_ok = c < Cg
            for r in tl.static_range(R):
                h_ok = mask_m & (h0 + r >= 0) & (h0 + r < H) & c_ok
                for s in tl.static_range(S):
                    ok = h_ok & (w0 + s >= 0) & (w0 + s < W)
                    xv = tl.load(x_base + (c * HW + r * W + s), mask=ok, other=0.0)
                    wv = tl.load(w_base + ((c * R + r) * S + s) * Kg, mask=mask_k & c_ok,
                                 other=0.0)
                    acc += tl.abs(wv[:, None] - xv[None, :])
    y_ptrs = (y_ptr + (n.to(tl.int64) * K * PQ + pq)[None, :]
              + ((g * Kg + offs_k) * PQ)[:, None])
    tl.store(y_ptrs, -acc, mask=mask_k[:, None] & mask_m[None, :])


@triton.jit(do_not_specialize=_SHAPE_ARGS)
def _dx_dense_kernel(x_ptr, w_ptr, gy_ptr, dx_ptr, N, C, H, W, K, P, Q, Cg, Kg,
                     STRIDE: tl.constexpr, PAD: tl.constexpr, PH: tl.constexpr, PW: tl.constexpr,
                     R: tl.constexpr, S: tl.constexpr, K_UNROLL: tl.constexpr,
                     BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr, USE_SAT_ASM: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_c = tl.program_id(1)
    g = tl.program_id(2)
    # positions of phase class (PH, PW): h = PH + i*STRIDE, w = PW + j*STRIDE
    Hc = (H - PH + STRIDE - 1) // STRIDE
    Wc = (W - PW + STRIDE - 1) // STRIDE
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    mask_m = offs_m < N * Hc * Wc
    n = offs_m // (Hc * Wc)
    rem = offs_m % (Hc * Wc)
    h = PH + (rem // Wc) * STRIDE
    w = PW + (rem % Wc) * STRIDE
    offs_c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    mask_c = offs_c < Cg
    HW = H * W
    PQ = P * Q
    mask = mask_c[:, None] & mask_m[None, :]
    xy_off = (n.to(tl.int64) * C * HW + h * W + w)[None, :] + ((g * Cg + offs_c) * HW)[:, None]
    b = 0.5 - 0.5 * tl.load(x_ptr + xy_off, mask=mask, other=0.0)
    acc = tl.zeros((BLOCK_C, BLOCK_M), dtype=tl.float32)
    gsum = tl.zeros((BLOCK_M,), dtype=tl.float32)
    g_base = gy_ptr + n.to(tl.int64) * K * PQ + (g * Kg) * PQ
    w_base = w_ptr + (g * Kg * Cg + offs_c) * (R * S)  # weight [K][Cg][R][S], filter k adds k*Cg*R*S
    for k0 in range(0, Kg, K_UNROLL):
        for ku in tl.static_range(K_UNROLL):
            k = k0 + ku
            k_ok = k < Kg
            for r in tl.static_range(R):
                if r % STRIDE == (PH + PAD) % STRIDE:  # compile time: taps reaching this phase
                    hp = h + PAD - r
                    p = hp // STRIDE  # exact: STRIDE divides hp in this phase class
                    p_ok = mask_m & (hp >= 0) & (p < P) & k_ok
                    for s in tl.static_range(S):
                        if s % STRIDE == (PW + PAD) % STRIDE:
                            wp = w + PAD - s
                            q = wp // STRIDE
                            ok = p_ok & (wp >= 0) & (q < Q)
                            gv = tl.load(g_base + (k * PQ + p * Q + q), mask=ok, other=0.0)
                            wv = tl.load(w_base + (k * (Cg * R * S) + r * S + s),
                                         mask=mask_c & k_ok, other=0.0)
                            u = _half_w_plus_b_sat(wv[:, None], b, USE_SAT_ASM)
                            acc += u * gv[None, :]
                            gsum += gv
    tl.store(dx_ptr + xy_off, 2.0 * acc - gsum[None, :], mask=mask)


@triton.jit(do_not_specialize=_SHAPE_ARGS)
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


@triton.jit(do_not_specialize=_SHAPE_ARGS)
def _dx_depthwise_kernel(x_ptr, w_ptr, gy_ptr, dx_ptr, C, H, W, K, P, Q, mult, pad,
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
    b = 0.5 - 0.5 * tl.load(x_ptr + x_off, mask=mask, other=0.0)
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
                wv = tl.load(w_ptr + k * (R * S) + (r * S + s))
                acc += _half_w_plus_b_sat(wv, b, USE_SAT_ASM) * gv
                gsum += gv
    tl.store(dx_ptr + x_off, 2.0 * acc - gsum, mask=mask)


@triton.jit(do_not_specialize=_SHAPE_ARGS)
def _dw_depthwise_kernel(x_ptr, w_ptr, gy_ptr, part_ptr, N, C, H, W, K, P, Q, mult, stride,
                         pad, n_per_chunk, R: tl.constexpr, S: tl.constexpr,
                         TAPS: tl.constexpr, BLOCK: tl.constexpr):
    """part[chunk, k, tap] = sum over this chunk's images and all positions of (x - w) * g."""
    k = tl.program_id(0)
    chunk = tl.program_id(1)
    c = k // mult
    taps = tl.arange(0, TAPS)
    tap_ok = taps < R * S
    tr = (taps // S)[:, None]
    ts = (taps % S)[:, None]
    PQ = P * Q
    acc = tl.zeros((TAPS, BLOCK), dtype=tl.float32)
    gacc = tl.zeros((BLOCK,), dtype=tl.float32)
    n0 = chunk * n_per_chunk
    for n in range(n0, tl.minimum(n0 + n_per_chunk, N)):
        x_plane = x_ptr + (n * C + c).to(tl.int64) * H * W
        g_plane = gy_ptr + (n * K + k).to(tl.int64) * PQ
        for b0 in range(0, PQ, BLOCK):
            offs = b0 + tl.arange(0, BLOCK)
            m = offs < PQ
            gv = tl.load(g_plane + offs, mask=m, other=0.0)
            hh = ((offs // Q) * stride - pad)[None, :] + tr
            ww = ((offs % Q) * stride - pad)[None, :] + ts
            ok = tap_ok[:, None] & m[None, :] & (hh >= 0) & (hh < H) & (ww >= 0) & (ww < W)
            xv = tl.load(x_plane + hh * W + ww, mask=ok, other=0.0)
            acc += xv * gv[None, :]
            gacc += gv
    wv = tl.load(w_ptr + k * (R * S) + taps, mask=tap_ok, other=0.0)
    # padding taps read x = 0, so they contribute (0 - w) * g through the w * sum(g) term
    out = tl.sum(acc, axis=1) - wv * tl.sum(gacc, axis=0)
    tl.store(part_ptr + (chunk * K + k) * (R * S) + taps, out, mask=tap_ok)


# ---- launch heuristics --------------------------------------------------------------------
# (BLOCK_M, cap on BLOCK_K / BLOCK_C, num_warps); benchmarks/adder.py --tune times alternatives.
CONFIG = {"fwd": (128, 64, 4), "fwd_wide": (64, 128, 4), "dx": (128, 32, 4), "dx_wide": (128, 32, 4),
          "dw_block": 256}
_use_sat_asm = not _INTERPRETED
LAST_COMPILED: dict = {}  # kernel name -> last compiled kernel (register / spill report)


_SM_COUNT: dict = {}


def _sm_count(device: torch.device) -> int:
    if device.type != "cuda":
        return 4  # the interpreter
    if device.index not in _SM_COUNT:
        _SM_COUNT[device.index] = torch.cuda.get_device_properties(device).multi_processor_count
    return _SM_COUNT[device.index]


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
        LAST_COMPILED["fwd_depthwise"] = _fwd_depthwise_kernel[grid](
            x, weight, y, c, h, w, k, p, q, k // c, stride, padding, R=r, S=s, BLOCK=block,
            num_warps=4)
        return y
    kg = k // groups
    block_m, cap_k, warps = CONFIG["fwd_wide" if kg >= 128 else "fwd"]
    block_k = min(cap_k, max(16, _next_pow2(kg)))
    m = n * p * q
    # [G][J][Kg]: the Kg filter values of one receptive-field element are one contiguous row
    wt = weight.reshape(groups, kg, cg * r * s).transpose(1, 2).contiguous()
    grid = (triton.cdiv(m, block_m), triton.cdiv(kg, block_k), groups)
    LAST_COMPILED["fwd_dense"] = _fwd_dense_kernel[grid](
        x, wt, y, c, h, w, k, p, q, m, cg, kg, stride, padding, R=r, S=s,
        C_UNROLL=max(1, 8 // (r * s)), BLOCK_M=block_m, BLOCK_K=block_k, num_warps=warps)
    return y


def _launch_dx(x, weight, grad_y, stride, padding, groups, dx, use_asm):
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding)
    if cg == 1:
        block = min(CONFIG["dw_block"], max(32, _next_pow2(h * w)))
        grid = (n * c, triton.cdiv(h * w, block))
        LAST_COMPILED["dx_depthwise"] = _dx_depthwise_kernel[grid](
            x, weight, grad_y, dx, c, h, w, k, p, q, k // c, padding, STRIDE=stride, R=r, S=s,
            BLOCK=block, USE_SAT_ASM=use_asm, num_warps=4)
        return
    kg = k // groups
    block_m, cap_c, warps = CONFIG["dx_wide" if cg >= 128 else "dx"]
    block_c = min(cap_c, max(16, _next_pow2(cg)))
    taps = triton.cdiv(r, stride) * triton.cdiv(s, stride)  # taps per phase class, at most
    for ph in range(stride):
        for pw in range(stride):
            positions = n * triton.cdiv(h - ph, stride) * triton.cdiv(w - pw, stride)
            if positions <= 0:
                continue
            grid = (triton.cdiv(positions, block_m), triton.cdiv(cg, block_c), groups)
            LAST_COMPILED["dx_dense"] = _dx_dense_kernel[grid](
                x, weight, grad_y, dx, n, c, h, w, k, p, q, cg, kg, STRIDE=stride, PAD=padding,
                PH=ph, PW=pw, R=r, S=s, K_UNROLL=max(1, 4 // taps), BLOCK_M=block_m,
                BLOCK_C=block_c, USE_SAT_ASM=use_asm, num_warps=warps)


def grad_input(x: torch.Tensor, weight: torch.Tensor, grad_y: torch.Tensor, stride: int,
               padding: int, groups: int) -> torch.Tensor:
    """dL/dx = sum HardTanh(w - x) * dL/dy; every element of dx is written by one program."""
    global _use_sat_asm
    dx = torch.empty_like(x)
    if _use_sat_asm:
        try:
            _launch_dx(x, weight, grad_y, stride, padding, groups, dx, True)
            return dx
        except Exception:  # a toolchain without fma.sat: min/max computes the same (a real
            # error raises again below)
            _use_sat_asm = False
    _launch_dx(x, weight, grad_y, stride, padding, groups, dx, False)
    return dx


def grad_weight(x: torch.Tensor, weight: torch.Tensor, grad_y: torch.Tensor, stride: int,
                padding: int, groups: int) -> torch.Tensor | None:
    """sum (x_pad - w) * dL/dy for one-input-channel filters (depthwise); None for dense layers,
    whose weight gradient cuDNN does well (``adder.py`` takes that path)."""
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding)
    if cg != 1:
        return None
    # enough programs to fill the GPU: split the batch into chunks, reduce the partials after
    chunks = max(1, min(n, triton.cdiv(8 * _sm_count(x.device), k)))
    n_per_chunk = triton.cdiv(n, chunks)
    chunks = triton.cdiv(n, n_per_chunk)
    part = torch.empty(chunks, k, r * s, dtype=torch.float32, device=x.device)
    block = min(128, max(16, _next_pow2(p * q)))
    LAST_COMPILED["dw_depthwise"] = _dw_depthwise_kernel[(k, chunks)](
        x, weight, grad_y, part, n, c, h, w, k, p, q, k // c, stride, padding, n_per_chunk, R=r,
        S=s, TAPS=_next_pow2(r * s), BLOCK=block, num_warps=4)
    return (part[0] if chunks == 1 else part.sum(0)).view(k, 1, r, s)
