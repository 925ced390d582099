"""Triton kernels of the adder convolution for CUDA tensors (float32 in, float32 out).

All kernels are "implicit GEMM": nothing is unfolded, receptive fields are read straight from
``x`` with masks for the padding, and the weight is read in its own ``[K, C/G, R, S]`` layout, so
there is no memory besides the inputs and outputs (and, for the weight gradient, small
partial-sum buffers).

* forward, dense (``C/G > 1``): a program owns ``BLOCK_K`` filters x ``BLOCK_M`` output
  positions and walks the ``C/G * R * S`` receptive-field elements; each step loads one value per
  position and one per filter and does ``BLOCK_K * BLOCK_M`` ``acc += |w - x|`` (two FP32
  instructions each: the abs folds into the add as an operand modifier).
* forward, depthwise (``C/G == 1``): one program per (image, channel) plane and position block.
* input gradient ``dx = sum_k HardTanh(w - x) * g``.  The clamp would cost two instructions,
  but ``HardTanh(w - x) = 2 * sat(0.5 w + (0.5 - 0.5 x)) - 1`` with ``sat`` the clamp to [0, 1],
  and PTX has a saturating fma (``fma.rn.sat.f32``).  So each output element keeps
  ``b = 0.5 - 0.5 x`` (loaded once), each term is one fma.sat plus one fma
  (``acc += sat(0.5 w + b) * g``) and the result is ``2 * acc - sum(g)``.  At stride > 1 the
  dense kernel's programs each own one stride phase class ``(h mod stride, w mod stride)`` (the
  third grid axis of one launch), so only the taps that reach a position are visited, behind a
  branch that is uniform over the program (the transposed-convolution trick); stride 1 has
  no branch.  The classes with the most taps come first in the grid (kernel time 0.236 ->
  0.198 ms for 128x64x16x16 -> 128 3x3 stride 2 on an H200: adder_cuda_h200_issue19_final.json
  vs ..._final4.json; other tiles at stride 2 were slower: ..._dx_phase_probe.json).
  Pointwise layers (1x1, stride 1, no padding) have their own input-gradient kernel over
  contiguous positions (2-4x the generic kernel there, measured on an H200).
* weight gradient, depthwise with few output positions per plane (``P * Q`` under
  ``CONFIG["dw_conv_wgrad_min_pq"]``): ``sum (x - w) * g`` per tap, reduced over positions in
  registers; dense, and depthwise with more positions: the convolution backward (cuDNN's, or
  PyTorch's depthwise kernel; weight and bias gradient, ``sum x * g`` and ``sum g``).  On the 48
  depthwise shapes of a Hybrid-All search step (CIFAR layout, batch 128; ``P * Q`` of 16, 64, 256
  or 1024) the Triton kernel's GPU time was the shorter on every shape with 4x4 outputs and the
  longer on every other one, up to 2.1x (0.65 vs 0.32 ms at 144 x 32x32 3x3)
  (``benchmarks/adder_probes/probe_soft_shapes.py``,
  ``benchmarks/results/adder_cuda_h200_issue19_soft_shapes_probe.json``).  But the convolution
  backward costs the host more per call, and an 8x8-output layer gains at most a few us of GPU time
  (192 x 8x8 3x3: a whole isolated forward + backward 13 % slower through it; ``..._ab_dw_wgrad_64.json``
  from ``benchmarks/adder_probes/ab_dw_wgrad_route.py``), so the threshold is 256 positions:
  36.3 -> 25.4 ms of kernel time per soft search step (23.5 at 64).
  (An implicit-GEMM Triton weight gradient, ``tl.dot`` in IEEE FP32, took 1.0-2.2x cuDNN's time
  with its best tile on the 1x1 and small 3x3 layers and 7.5x on 256x256x8x8 3x3:
  ..._wgrad_gemm_probe.json, from benchmarks/adder_probes/, which keeps the variant as a patch.)
  Then one finishing program (or a combine and a scale kernel for large weights) adds the
  partial sums, subtracts ``w * sum(g)`` and applies AdderNet's rescale
  (``weight_grad_rescaled``), where PyTorch operators took five launches.
* weights are read by their strides: the supernet's candidates pass views (leading channels,
  centre taps) of a shared weight, which need no copy.
* launches go through ``_triton_launch.launch``, which skips Triton's Python launch path once a kernel is
  compiled (see there): small layers are bound by the host's time per launch.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

# _INTERPRETED: under the interpreter (TRITON_INTERPRET=1, used by the CPU tests), which cannot
# run inline PTX
from ._triton_launch import _INTERPRETED, LAST_COMPILED, grid3 as _grid3, launch as _launch  # noqa: F401 (LAST_COMPILED: benchmarks)
# Shape arguments vary from layer to layer: no per-value specialisation (one compile per
# kernel size / stride / tile, not per shape).
_SHAPE_ARGS = ["N", "C", "H", "W", "K", "P", "Q", "M", "Cg", "Kg", "mult", "stride", "pad", "n_per_chunk",
               "w_sk", "w_sr"]


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


@triton.jit
def _dx_tap(acc, gsum, b, g_k, w_k, h, w, m_ok, c_ok, P, Q, w_sr, r: tl.constexpr, s: tl.constexpr,
            STRIDE: tl.constexpr, PAD: tl.constexpr, USE_SAT_ASM: tl.constexpr):
    """One kernel tap of one filter: acc += sat(0.5 w + b) * g, gsum += g (dense input gradient)."""
    hp = h + PAD - r
    p = hp // STRIDE  # exact where this tap reaches the position (its phase class)
    wp = w + PAD - s
    q = wp // STRIDE
    ok = m_ok & (hp >= 0) & (p < P) & (wp >= 0) & (q < Q)
    gv = tl.load(g_k + p * Q + q, mask=ok, other=0.0)
    wv = tl.load(w_k + (r * w_sr + s), mask=c_ok, other=0.0)
    u = _half_w_plus_b_sat(wv[:, None], b, USE_SAT_ASM)
    return acc + u * gv[None, :], gsum + gv


@triton.jit(do_not_specialize=_SHAPE_ARGS + ["w_sk", "w_sc", "w_sr"])
def _dx_dense_kernel(x_ptr, w_ptr, gy_ptr, dx_ptr, N, C, H, W, K, P, Q, Cg, Kg, w_sk, w_sc, w_sr,
                     STRIDE: tl.constexpr, PAD: tl.constexpr, R: tl.constexpr, S: tl.constexpr,
                     K_UNROLL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr,
                     USE_SAT_ASM: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_c = tl.program_id(1)
    pid_z = tl.program_id(2)  # group * STRIDE^2 + phase class
    g = pid_z // (STRIDE * STRIDE)
    # the phase classes in the order of their tap phases (RPH, SPH): (0, 0) first, whose classes
    # take the most taps (ceil(R / STRIDE) * ceil(S / STRIDE)), so the heaviest programs start first
    RPH = (pid_z % (STRIDE * STRIDE)) // STRIDE  # the taps r with r % STRIDE == RPH reach this class
    SPH = pid_z % STRIDE
    PH = (RPH + STRIDE - PAD % STRIDE) % STRIDE  # (PH + PAD) % STRIDE == RPH
    PW = (SPH + STRIDE - PAD % STRIDE) % STRIDE
    # positions of phase class (PH, PW): h = PH + i*STRIDE, w = PW + j*STRIDE
    Hc = tl.maximum((H - PH + STRIDE - 1) // STRIDE, 1)
    Wc = tl.maximum((W - PW + STRIDE - 1) // STRIDE, 1)
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    mask_m = (offs_m < N * Hc * Wc) & (PH < H) & (PW < W)
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
    w_base = w_ptr + (g * Kg) * w_sk + offs_c * w_sc  # weight [K][Cg][R][S] by its strides
    for k0 in range(0, Kg, K_UNROLL):
        for ku in tl.static_range(K_UNROLL):
            k = k0 + ku
            k_ok = k < Kg
            m_ok = mask_m & k_ok
            c_ok = mask_c & k_ok
            g_k = g_base + k * PQ
            w_k = w_base + k * w_sk
            for r in tl.static_range(R):
                for s in tl.static_range(S):
                    if STRIDE == 1:
                        acc, gsum = _dx_tap(acc, gsum, b, g_k, w_k, h, w, m_ok, c_ok, P, Q, w_sr, r, s,
                                            STRIDE, PAD, USE_SAT_ASM)
                    else:  # one launch for all phase classes: a branch uniform over the program
                        if (r % STRIDE == RPH) & (s % STRIDE == SPH):
                            acc, gsum = _dx_tap(acc, gsum, b, g_k, w_k, h, w, m_ok, c_ok, P, Q, w_sr,
                                                r, s, STRIDE, PAD, USE_SAT_ASM)
    tl.store(dx_ptr + xy_off, 2.0 * acc - gsum[None, :], mask=mask)


@triton.jit(do_not_specialize=["w_sk", "w_sc"])
def _dx_pw_kernel(x_ptr, w_ptr, gy_ptr, dx_ptr, C, K, HW, Cg, Kg, n_blocks, w_sk, w_sc,
                  K_UNROLL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_C: tl.constexpr,
                  USE_SAT_ASM: tl.constexpr):
    """Pointwise input gradient: dx = 2 sum_k sat(0.5 w + b) g - sum_k g, contiguous positions."""
    pid = tl.program_id(0)
    pid_c = tl.program_id(1)
    g = tl.program_id(2)
    n = pid // n_blocks
    offs_m = (pid % n_blocks) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    mask_m = offs_m < HW
    mask_c = offs_c < Cg
    mask = mask_c[:, None] & mask_m[None, :]
    xy_off = (n.to(tl.int64) * C + g * Cg) * HW + (offs_c * HW)[:, None] + offs_m[None, :]
    b = 0.5 - 0.5 * tl.load(x_ptr + xy_off, mask=mask, other=0.0)
    acc = tl.zeros((BLOCK_C, BLOCK_M), dtype=tl.float32)
    gsum = tl.zeros((BLOCK_M,), dtype=tl.float32)
    g_base = gy_ptr + (n.to(tl.int64) * K + g * Kg) * HW + offs_m
    w_base = w_ptr + (g * Kg) * w_sk + offs_c * w_sc
    for k0 in range(0, Kg, K_UNROLL):
        for ku in tl.static_range(K_UNROLL):
            k = k0 + ku
            k_ok = k < Kg
            gv = tl.load(g_base + k * HW, mask=mask_m & k_ok, other=0.0)
            wv = tl.load(w_base + k * w_sk, mask=mask_c & k_ok, other=0.0)
            acc += _half_w_plus_b_sat(wv[:, None], b, USE_SAT_ASM) * gv[None, :]
            gsum += gv
    tl.store(dx_ptr + xy_off, 2.0 * acc - gsum[None, :], mask=mask)


@triton.jit(do_not_specialize=_SHAPE_ARGS)
def _fwd_depthwise_kernel(x_ptr, w_ptr, y_ptr, C, H, W, K, P, Q, mult, stride, pad, w_sk, w_sr,
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
            wv = tl.load(w_ptr + k * w_sk + (r * w_sr + s))
            acc += tl.abs(xv - wv)
    tl.store(y_ptr + plane.to(tl.int64) * P * Q + offs, -acc, mask=mask)


@triton.jit(do_not_specialize=_SHAPE_ARGS)
def _dx_depthwise_kernel(x_ptr, w_ptr, gy_ptr, dx_ptr, C, H, W, K, P, Q, mult, pad, w_sk, w_sr,
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
                wv = tl.load(w_ptr + k * w_sk + (r * w_sr + s))
                acc += _half_w_plus_b_sat(wv, b, USE_SAT_ASM) * gv
                gsum += gv
    tl.store(dx_ptr + x_off, 2.0 * acc - gsum, mask=mask)


@triton.jit(do_not_specialize=_SHAPE_ARGS)
def _dw_depthwise_kernel(x_ptr, w_ptr, gy_ptr, part_ptr, N, C, H, W, K, P, Q, mult, stride,
                         pad, n_per_chunk, w_sk, w_sr, R: tl.constexpr, S: tl.constexpr,
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
    wv = tl.load(w_ptr + k * w_sk + (taps // S) * w_sr + taps % S, mask=tap_ok, other=0.0)
    # padding taps read x = 0, so they contribute (0 - w) * g through the w * sum(g) term
    out = tl.sum(acc, axis=1) - wv * tl.sum(gacc, axis=0)
    tl.store(part_ptr + (chunk * K + k) * (R * S) + taps, out, mask=tap_ok)


@triton.jit
def _combined_block(part_ptr, w_ptr, gb_ptr, offs, m, NUMEL, CHUNKS, J, R, S, w_sk, w_sc, w_sr,
                    HAS_GB: tl.constexpr, BLOCK: tl.constexpr):
    """sum over chunks of the partial weight gradients at ``offs`` [- w * gb[k]] (w read by its strides)."""
    v = tl.zeros((BLOCK,), dtype=tl.float32)
    for ch in range(0, CHUNKS):
        v += tl.load(part_ptr + ch * NUMEL + offs, mask=m, other=0.0)
    if HAS_GB:
        k = offs // J
        j = offs - k * J
        c = j // (R * S)
        rs = j - c * (R * S)
        r = rs // S
        wv = tl.load(w_ptr + k * w_sk + c * w_sc + r * w_sr + (rs - r * S), mask=m, other=0.0)
        v -= wv * tl.load(gb_ptr + k, mask=m, other=0.0)
    return v


@triton.jit(do_not_specialize=["NUMEL", "CHUNKS", "J", "Cg", "R", "S", "w_sk", "w_sc", "w_sr"])
def _dw_finish_kernel(part_ptr, w_ptr, gb_ptr, out_ptr, NUMEL, CHUNKS, J, Cg, R, S, w_sk, w_sc, w_sr,
                      scale, HAS_GB: tl.constexpr, RESCALE: tl.constexpr, BLOCK: tl.constexpr):
    """One program: out = sum_chunks part [- w * gb[k]], then out *= scale / ||out||_2 (RESCALE).

    Replaces the partial-sum reduction, the ``- w * sum(g)`` term and the four launches of the
    rescale (norm, clamp, multiply, divide) by one launch for the small weights of a network."""
    ss = tl.zeros((BLOCK,), dtype=tl.float32)
    for i0 in range(0, NUMEL, BLOCK):
        offs = i0 + tl.arange(0, BLOCK)
        m = offs < NUMEL
        v = _combined_block(part_ptr, w_ptr, gb_ptr, offs, m, NUMEL, CHUNKS, J, R, S, w_sk, w_sc, w_sr, HAS_GB, BLOCK)
        tl.store(out_ptr + offs, v, mask=m)
        ss += v * v
    if RESCALE:
        f = scale / tl.maximum(tl.sqrt(tl.sum(ss, axis=0)), 1e-30)
        tl.debug_barrier()  # the second pass reads what the first wrote (same program)
        for i0 in range(0, NUMEL, BLOCK):
            offs = i0 + tl.arange(0, BLOCK)
            m = offs < NUMEL
            v = tl.load(out_ptr + offs, mask=m, other=0.0)
            tl.store(out_ptr + offs, v * f, mask=m)


@triton.jit(do_not_specialize=["NUMEL", "CHUNKS", "J", "Cg", "R", "S", "w_sk", "w_sc", "w_sr"])
def _dw_combine_kernel(part_ptr, w_ptr, gb_ptr, out_ptr, ss_ptr, NUMEL, CHUNKS, J, Cg, R, S, w_sk, w_sc,
                       w_sr, HAS_GB: tl.constexpr, BLOCK: tl.constexpr):
    """Many programs: out = sum_chunks part [- w * gb[k]]; ss[program] = its sum of squares."""
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    m = offs < NUMEL
    v = _combined_block(part_ptr, w_ptr, gb_ptr, offs, m, NUMEL, CHUNKS, J, R, S, w_sk, w_sc, w_sr, HAS_GB, BLOCK)
    tl.store(out_ptr + offs, v, mask=m)
    tl.store(ss_ptr + pid, tl.sum(v * v, axis=0))


@triton.jit(do_not_specialize=["NUMEL", "NPROG"])
def _dw_scale_kernel(out_ptr, ss_ptr, NUMEL, NPROG, scale, BLOCK: tl.constexpr, PBLOCK: tl.constexpr):
    """out *= scale / ||out||_2, the norm from the combine kernel's per-program sums (every
    program adds them up itself, in the same order: no atomics, deterministic)."""
    acc = tl.zeros((PBLOCK,), dtype=tl.float32)
    for p0 in range(0, NPROG, PBLOCK):
        po = p0 + tl.arange(0, PBLOCK)
        acc += tl.load(ss_ptr + po, mask=po < NPROG, other=0.0)
    f = scale / tl.maximum(tl.sqrt(tl.sum(acc, axis=0)), 1e-30)
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < NUMEL
    tl.store(out_ptr + offs, tl.load(out_ptr + offs, mask=m, other=0.0) * f, mask=m)


# ---- launch heuristics --------------------------------------------------------------------
# (BLOCK_M, cap on BLOCK_K / BLOCK_C, num_warps[, num_stages[, maxnreg]]); benchmarks/adder.py
# --tune times alternatives.  maxnreg caps the registers per thread: the wide tiles (layers of
# >= 128 channels per group) compile to 255 registers, two 4-warp programs per SM, 2.1-2.3
# instructions per cycle (Nsight Compute: adder_ncu_h200_issue19_dense256.json); capped at 128
# they spill some registers to L1 but run more programs per SM: forward 1.38 -> 1.21 ms and input
# gradient 1.45 -> 1.34 ms on 256x256x8x8 3x3 at batch 256 (adder_probes/probe_maxnreg.py,
# adder_cuda_h200_issue19_maxnreg_probe.json; other tiles gained less or lost).
# dw_conv_wgrad_min_pq: depthwise layers with at least this many output positions per plane take
# the convolution weight gradient, fewer the Triton partial-sum kernel (module docstring).
# pw_*: the pointwise kernels; min_programs: the dense kernels halve BLOCK_M (to 32) while a
# launch would have fewer programs than this many per SM.
# Measured on an H200 (benchmarks/results/adder_cuda_h200_issue19_iter1.json, "tune"): the
# narrow forward tile wins except for wide layers with many positions (fwd_wide_min_programs per
# SM with the wide tile); pointwise layers take the generic forward kernel (as fast as a
# specialised one there) and their own input-gradient kernel (2-4x the generic one).
class _Config(dict):
    """The launch heuristics; any change drops the per-layer launch plans built from them."""

    def __setitem__(self, key, value):
        _PLANS.clear()
        super().__setitem__(key, value)

    def update(self, *a, **k):
        _PLANS.clear()
        super().update(*a, **k)

    def clear(self):
        _PLANS.clear()
        super().clear()


# Per-layer launch plans (grid, scalars, constexprs, buffer shapes), keyed by the call's shapes,
# the weight's strides, stride, padding, groups and device: a layer's later calls skip the
# heuristics and the argument classification (host time; see _launch).
_PLANS: dict = {}
_PLANS_MAX = 1 << 13

CONFIG = _Config({"fwd": (128, 32, 4), "fwd_wide": (64, 128, 4, None, 128), "fwd_wide_min_programs": 3.0,
          "dx": (128, 32, 4), "dx_wide": (128, 32, 4, None, 128), "dx_strided": (128, 32, 4),
          "pw_dx": (64, 32, 4), "pw_kernels": True,
          "min_programs": 0.0, "dw_block": 256, "finish_one_program_max": 8192, "finish_max": 1 << 22,
          "dw_conv_wgrad_min_pq": 256})
_use_sat_asm = not _INTERPRETED
ACCEPTS_STRIDED_WEIGHT = True  # adder.py passes weight views as they are (last dim contiguous)

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


def _unit_last_stride(weight: torch.Tensor) -> torch.Tensor:
    """The kernels index the weight by its strides but assume its last dimension contiguous."""
    return weight if weight.stride(3) == 1 or weight.shape[3] == 1 else weight.contiguous()


def _is_pointwise(r, s, stride, padding) -> bool:
    return CONFIG["pw_kernels"] and r == 1 and s == 1 and stride == 1 and padding == 0


def _fill(block_m: int, programs_of, device) -> int:
    """Halve BLOCK_M (down to 32) while the launch has fewer than min_programs per SM."""
    want = CONFIG["min_programs"] * _sm_count(device)
    while block_m > 32 and programs_of(block_m) < want:
        block_m //= 2
    return block_m


def _cached_plan(sig, build, *args):
    """The launch plan of ``sig``: ``build(*args)`` the first time, the stored one after."""
    plan = _PLANS.get(sig)
    if plan is None:
        if len(_PLANS) > _PLANS_MAX:
            _PLANS.clear()
        plan = _PLANS[sig] = build(*args)
    return plan


def _go(launch, tensors) -> None:
    name, kernel, grid, scalars, consts, warps, stages, *maxnreg = launch  # maxnreg: the dense plans
    _launch(name, kernel, grid, tensors, scalars, consts, warps, stages, *maxnreg)


def _tile(entry):
    """(BLOCK_M, cap, num_warps, num_stages or None, maxnreg or None) of a CONFIG entry."""
    block_m, cap, warps, *rest = tuple(entry) + (None, None)
    return block_m, cap, warps, rest[0], rest[1]


def _transposed_weight(weight, groups):
    """[G][Cg*R*S][Kg]: the Kg filter values of one receptive-field element as one contiguous
    row (one copy launch, from any strided view)."""
    k, cg, r, s = weight.shape
    kg = k // groups
    wt = torch.empty(groups, cg, r, s, kg, dtype=weight.dtype, device=weight.device)
    wt.copy_(weight.view(groups, kg, cg, r, s).permute(0, 2, 3, 4, 1))
    return wt


def _forward_plan(x, weight, stride, padding, groups):
    """(y shape, copy the weight contiguous?, groups for the transposed weight or None, launch)."""
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding)
    if cg == 1:  # depthwise (or a single input channel): one filter per plane
        wu = _unit_last_stride(weight)
        block = min(CONFIG["dw_block"], max(32, _next_pow2(p * q)))
        launch = ("fwd_depthwise", _fwd_depthwise_kernel, _grid3(n * k, triton.cdiv(p * q, block)),
                  (c, h, w, k, p, q, k // c, stride, padding, wu.stride(0), wu.stride(2)), (r, s, block), 4, None)
        return (n, k, p, q), wu is not weight, None, launch
    kg = k // groups
    m = n * p * q
    wm, wk = CONFIG["fwd_wide"][:2]
    wide = kg >= wk and (triton.cdiv(m, wm) * triton.cdiv(kg, wk) * groups
                         >= CONFIG["fwd_wide_min_programs"] * _sm_count(x.device))
    block_m, cap_k, warps, stages, maxnreg = _tile(CONFIG["fwd_wide" if wide else "fwd"])
    block_k = min(cap_k, max(16, _next_pow2(kg)))
    block_m = _fill(block_m, lambda bm: triton.cdiv(m, bm) * triton.cdiv(kg, block_k) * groups, x.device)
    launch = ("fwd_dense", _fwd_dense_kernel, _grid3(triton.cdiv(m, block_m), triton.cdiv(kg, block_k), groups),
              (c, h, w, k, p, q, m, cg, kg, stride, padding), (r, s, max(1, 8 // (r * s)), block_m, block_k),
              warps, stages, maxnreg)
    return (n, k, p, q), False, groups, launch


def forward(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int, groups: int) -> torch.Tensor:
    """Adder forward of a contiguous float32 ``x`` and a float32 weight (any strides)."""
    sig = ("fwd", x.shape, weight.shape, weight.stride(), stride, padding, groups, x.device)
    y_shape, contiguous, tgroups, launch = _cached_plan(sig, _forward_plan, x, weight, stride, padding, groups)
    y = torch.empty(y_shape, dtype=torch.float32, device=x.device)
    if tgroups is None:
        _go(launch, (x, weight.contiguous() if contiguous else weight, y))
    else:
        _go(launch, (x, _transposed_weight(weight, tgroups), y))
    return y


def _dx_plan(x, weight, stride, padding, groups, use_asm):
    """(copy the weight contiguous?, launch) of the input gradient."""
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding)
    wu = _unit_last_stride(weight)
    if cg == 1:
        block = min(CONFIG["dw_block"], max(32, _next_pow2(h * w)))
        return wu is not weight, ("dx_depthwise", _dx_depthwise_kernel, _grid3(n * c, triton.cdiv(h * w, block)),
                                  (c, h, w, k, p, q, k // c, padding, wu.stride(0), wu.stride(2)),
                                  (stride, r, s, block, use_asm), 4, None)
    kg = k // groups
    if _is_pointwise(r, s, stride, padding):
        block_m, cap_c, warps, stages, maxnreg = _tile(CONFIG["pw_dx"])
        block_m = min(block_m, max(16, _next_pow2(h * w)))
        block_c = min(cap_c, max(16, _next_pow2(cg)))
        nb = triton.cdiv(h * w, block_m)
        return wu is not weight, ("dx_pw", _dx_pw_kernel, _grid3(n * nb, triton.cdiv(cg, block_c), groups),
                                  (c, k, h * w, cg, kg, nb, wu.stride(0), wu.stride(1)),
                                  (4, block_m, block_c, use_asm), warps, stages, maxnreg)
    block_m, cap_c, warps, stages, maxnreg = _tile(CONFIG["dx_strided" if stride > 1 else "dx_wide" if cg >= 128 else "dx"])
    block_c = min(cap_c, max(16, _next_pow2(cg)))
    taps = triton.cdiv(r, stride) * triton.cdiv(s, stride)  # taps per phase class, at most
    positions = n * triton.cdiv(h, stride) * triton.cdiv(w, stride)  # of the largest phase class
    z = groups * stride * stride
    block_m = _fill(block_m, lambda bm: triton.cdiv(positions, bm) * triton.cdiv(cg, block_c) * z, x.device)
    return wu is not weight, ("dx_dense", _dx_dense_kernel,
                              _grid3(triton.cdiv(positions, block_m), triton.cdiv(cg, block_c), z),
                              (n, c, h, w, k, p, q, cg, kg, wu.stride(0), wu.stride(1), wu.stride(2)),
                              (stride, padding, r, s, max(1, 4 // taps), block_m, block_c, use_asm), warps, stages,
                              maxnreg)


def _launch_dx(x, weight, grad_y, stride, padding, groups, dx, use_asm):
    sig = ("dx", x.shape, weight.shape, weight.stride(), stride, padding, groups, x.device, use_asm)
    contiguous, launch = _cached_plan(sig, _dx_plan, x, weight, stride, padding, groups, use_asm)
    _go(launch, (x, weight.contiguous() if contiguous else weight, grad_y, dx))


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


def _partials_plan(x, weight, stride, padding):
    """(part shape, launch) of the depthwise partial sums; ``weight`` has a unit last stride."""
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding)
    # enough programs to fill the GPU: split the batch into chunks, reduce the partials after
    chunks = max(1, min(n, triton.cdiv(8 * _sm_count(x.device), k)))
    n_per_chunk = triton.cdiv(n, chunks)
    chunks = triton.cdiv(n, n_per_chunk)
    block = min(128, max(16, _next_pow2(p * q)))
    return (chunks, k, r * s), ("dw_depthwise", _dw_depthwise_kernel, _grid3(k, chunks),
                                (n, c, h, w, k, p, q, k // c, stride, padding, n_per_chunk,
                                 weight.stride(0), weight.stride(2)),
                                (r, s, _next_pow2(r * s), block), 4, None)


def _depthwise_partials(x, weight, grad_y, stride, padding):
    """[chunks, K, R*S] partial sums of (x_pad - w) * dL/dy over chunks of the batch."""
    weight = _unit_last_stride(weight)
    sig = ("dwp", x.shape, weight.shape, weight.stride(), stride, padding, x.device)
    plan = _cached_plan(sig, _partials_plan, x, weight, stride, padding)
    part = torch.empty(plan[0], dtype=torch.float32, device=x.device)
    _go(plan[1], (x, weight, grad_y, part))
    return part


def _dw_partials_pay(x, weight, stride, padding) -> bool:
    """Whether the weight gradient takes the Triton partial-sum kernel: depthwise layers with few
    output positions per plane (the convolution weight gradient is faster above; docstring)."""
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding)
    return cg == 1 and p * q < CONFIG["dw_conv_wgrad_min_pq"]


def grad_weight(x: torch.Tensor, weight: torch.Tensor, grad_y: torch.Tensor, stride: int,
                padding: int, groups: int) -> torch.Tensor | None:
    """sum (x_pad - w) * dL/dy for depthwise layers with few output positions (_dw_partials_pay);
    None for the others, whose weight gradient the convolution backward does better
    (``adder.py`` takes that path)."""
    k, cg, r, s = weight.shape
    if not _dw_partials_pay(x, weight, stride, padding):
        return None
    part = _depthwise_partials(x, weight, grad_y, stride, padding)
    return (part[0] if part.shape[0] == 1 else part.sum(0)).view(k, 1, r, s)


def _conv_weight_and_bias_grad(x, weight, grad_y, stride, padding, groups):
    """(sum X * dY, sum dY over n, p, q) in one cuDNN convolution backward, TF32 off (the weight
    gradient must be float32-exact)."""
    tf32 = x.is_cuda and torch.backends.cudnn.allow_tf32
    if tf32:
        torch.backends.cudnn.allow_tf32 = False
    try:
        _, gw, gb = torch.ops.aten.convolution_backward(
            grad_y, x, weight, [weight.shape[0]], [stride, stride], [padding, padding], [1, 1], False,
            [0, 0], groups, [False, True, True])
        return gw, gb
    finally:
        if tf32:
            torch.backends.cudnn.allow_tf32 = True


def _finish_plan(weight, has_gb, chunks, numel, eta):
    """("one", launch) or ("many", programs, combine launch, scale launch or None) of _run_finish."""
    k, cg, r, s = weight.shape
    scale = float(eta * (numel ** 0.5)) if eta is not None else 1.0
    common = (numel, chunks, cg * r * s, cg, r, s, weight.stride(0), weight.stride(1), weight.stride(2))
    if numel <= CONFIG["finish_one_program_max"]:
        return ("one", ("dw_finish", _dw_finish_kernel, _grid3(1), common + (scale,),
                        (has_gb, eta is not None, 1024), 4, None))
    block = 1024
    nprog = triton.cdiv(numel, block)
    scale_launch = (("dw_scale", _dw_scale_kernel, _grid3(nprog), (numel, nprog, scale),
                     (block, min(1024, max(16, _next_pow2(nprog)))), 4, None) if eta is not None else None)
    return ("many", nprog, ("dw_combine", _dw_combine_kernel, _grid3(nprog), common, (has_gb, block), 4, None),
            scale_launch)


def _run_finish(plan, part, weight, gb, out):
    """out = sum over chunks of part [- w * gb[k]], rescaled to norm eta * sqrt(numel) (eta not
    None), as ``plan`` (_finish_plan) says; ``out`` may be ``part`` itself (each element is read and
    written by one thread)."""
    if plan[0] == "one":
        _go(plan[1], (part, weight, part if gb is None else gb, out))
        return out
    _, nprog, combine, scale = plan
    ss = torch.empty(nprog, dtype=torch.float32, device=part.device)
    _go(combine, (part, weight, part if gb is None else gb, out, ss))
    if scale is not None:
        _go(scale, (out, ss))
    return out


def _wg_plan(x, weight, stride, padding, eta):
    """(partials plan or None, finish plan or None) of weight_grad_rescaled; ``weight`` has a
    unit last stride.  A finish plan None: the PyTorch-operator path (weights over finish_max)."""
    numel = weight.numel()
    small = numel <= CONFIG["finish_max"]
    if _dw_partials_pay(x, weight, stride, padding):
        partials = _partials_plan(x, weight, stride, padding)
        return partials, (_finish_plan(weight, False, partials[0][0], numel, eta) if small else None)
    return None, (_finish_plan(weight, True, 1, numel, eta) if small else None)


def weight_grad_rescaled(x: torch.Tensor, weight: torch.Tensor, grad_y: torch.Tensor, stride: int,
                         padding: int, groups: int, eta: float | None) -> torch.Tensor:
    """The AdderNet weight gradient, rescaled to norm eta * sqrt(numel) (eta None: unscaled), in
    few launches: depthwise with few positions, the partial-sum kernel and one finishing program;
    the others, one convolution backward (weight and bias gradients) and one finishing program, or PyTorch
    operators for weights larger than CONFIG["finish_max"].  Weights up to
    CONFIG["finish_one_program_max"] elements are finished by one program (one launch), larger
    ones by a combine and a scale kernel over many programs."""
    sig = ("wg", x.shape, weight.shape, weight.stride(), stride, padding, groups, eta, x.device)
    weight = _unit_last_stride(weight)
    partials, finish = _cached_plan(sig, _wg_plan, x, weight, stride, padding, eta)
    k, cg, r, s = weight.shape
    if partials is not None:  # depthwise, few positions
        part = torch.empty(partials[0], dtype=torch.float32, device=x.device)
        _go(partials[1], (x, weight, grad_y, part))
        if finish is not None:  # a weight-sized output; the partials are freed after
            return _run_finish(finish, part, weight, None, torch.empty(k, 1, r, s, dtype=torch.float32,
                                                                       device=x.device))
        gw = (part[0] if part.shape[0] == 1 else part.sum(0)).view(k, 1, r, s)
    else:
        gw, gb = _conv_weight_and_bias_grad(x, weight, grad_y, stride, padding, groups)
        if finish is not None:  # in place: no second weight-sized buffer
            gw = gw.contiguous()
            return _run_finish(finish, gw, weight, gb.contiguous(), gw)
        gw = gw.addcmul_(weight, gb.view(-1, 1, 1, 1), value=-1)
    if eta is None:
        return gw
    numel = weight.numel()
    return gw.mul_(eta * numel ** 0.5).div_(torch.linalg.vector_norm(gw).clamp_min_(1e-30))
