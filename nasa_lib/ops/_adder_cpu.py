"""The fast CPU path of the adder convolution: a small C library built with gcc, called by ctypes.

Why C and not ``torch.utils.cpp_extension``: the kernels need no PyTorch headers (they take raw
pointers), so gcc builds them in about a second instead of a minute, on any machine with gcc and
without Python development headers.  The library is cached under
``$NASA_LIB_CACHE_DIR`` (default ``~/.cache/nasa_lib``) keyed by the source, the flags, the
compiler version and the CPU's model and flags (it is built with ``-march=native``).  If gcc is
missing or the build fails, :func:`available` returns False and the caller falls back to the
pure-torch path (``_adder_torch``); set ``NASA_LIB_ADDER_CPU=torch`` to force that fallback.

Threads: built with ``-fopenmp`` where the compiler can, so the kernels run on PyTorch's own
OpenMP threads (the library's ``libgomp.so.1`` resolves to the copy PyTorch loaded).  A Python
thread pool is the fallback; on a 2-core machine it ran all-adder training 1.5x slower, because
PyTorch's OpenMP workers spin on the second core after each of its ops.

Work layout, per image (one image is the unit of work of one thread, so no locking is needed):

* ``im2col`` writes the receptive fields into a *packed* column buffer ``[LB][J_total][PW]``:
  output positions in blocks of ``PW`` (16 floats / 8 doubles, two AVX2 vectors), so a block of
  one row ``j`` is one contiguous, aligned run and a block of all rows fits in L1/L2.
* forward:  ``y[k, l] = -sum_j |cols[j, l] - w[k, j]|`` with a 4 (k) x PW (l) register tile;
  one load of a column row serves four filters.
* input gradient: ``dcols[j, l] = sum_k clamp(w[k, j] - cols[j, l], -1, 1) * g[k, l]`` with a
  4 (j) x PW (l) register tile, then ``col2im`` adds the columns back into ``dx``.

Depthwise layers (one input channel per filter) skip im2col, which would cost as much as their
arithmetic: each plane is copied into a zero-bordered buffer and the taps run over output rows;
the weight gradient ``sum (x - w) * g`` is computed here too (oneDNN's depthwise weight gradient
is slow).  Dense weight gradients come from ``adder.py``: the convolution weight-gradient
(oneDNN) minus ``w * sum(g)``.

Extra memory: per thread one packed column buffer (and for the backward a packed gradient block
and a second column buffer), i.e. a few times ``R*S`` one image, independent of the batch size;
depthwise layers need two padded planes per thread.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import torch

_C_SOURCE = r"""
#include <stddef.h>
#include <string.h>

/* Clamp without NaN-preserving branches so gcc emits vminps/vmaxps. */
#define CLAMP1(t) ((t) < -1 ? -1 : ((t) > 1 ? 1 : (t)))

#define DEFINE_ADDER_KERNELS(T, PW, SFX, ABS)                                                    \
                                                                                                 \
/* cols[lb][j][ll] = x_pad[c, p*st + r, q*st + s] for l = lb*PW + ll = p*Q + q < L, else 0. */    \
static void im2col_##SFX(const T *x, T *cols, long C, long H, long W, long R, long S,           \
                         long st, long pad, long P, long Q, long LB) {                           \
    const long J = C * R * S, L = P * Q;                                                         \
    for (long c = 0; c < C; c++)                                                                 \
    for (long r = 0; r < R; r++)                                                                 \
    for (long s = 0; s < S; s++) {                                                               \
        const long j = (c * R + r) * S + s;                                                      \
        const T *xc = x + c * H * W;                                                             \
        long l = 0;                                                                              \
        for (long p = 0; p < P; p++) {                                                           \
            const long h = p * st + r - pad;                                                     \
            const int row_ok = h >= 0 && h < H;                                                  \
            for (long q = 0; q < Q; q++, l++) {                                                  \
                const long w = q * st + s - pad;                                                 \
                cols[((l / PW) * J + j) * PW + l % PW] =                                         \
                    (row_ok && w >= 0 && w < W) ? xc[h * W + w] : (T)0;                          \
            }                                                                                    \
        }                                                                                        \
        for (; l < LB * PW; l++) cols[((l / PW) * J + j) * PW + l % PW] = (T)0;                  \
    }                                                                                            \
}                                                                                                \
                                                                                                 \
/* dx[c, h, w] += dcols[j, l] for every (j, l) whose tap lands inside the image. */              \
static void col2im_add_##SFX(const T *dcols, T *dx, long C, long H, long W, long R, long S,     \
                             long st, long pad, long P, long Q) {                                \
    const long J = C * R * S;                                                                    \
    for (long c = 0; c < C; c++)                                                                 \
    for (long r = 0; r < R; r++)                                                                 \
    for (long s = 0; s < S; s++) {                                                               \
        const long j = (c * R + r) * S + s;                                                      \
        T *dxc = dx + c * H * W;                                                                 \
        for (long p = 0; p < P; p++) {                                                           \
            const long h = p * st + r - pad;                                                     \
            if (h < 0 || h >= H) continue;                                                       \
            for (long q = 0; q < Q; q++) {                                                       \
                const long w = q * st + s - pad, l = p * Q + q;                                  \
                if (w >= 0 && w < W) dxc[h * W + w] += dcols[((l / PW) * J + j) * PW + l % PW];  \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
}                                                                                                \
                                                                                                 \
/* One group of one image: y[k0 + k, l] = -sum_j |cols[j0 + j, l] - wt[j, k]|.                   \
   wt is this group's weight transposed to [J][Kg]; y points at the image's output [K][L]. */    \
static void fwd_group_##SFX(const T *cols, const T *wt, T *y, long Jt, long j0, long J,         \
                            long Kg, long k0, long L, long LB) {                                 \
    for (long lb = 0; lb < LB; lb++) {                                                           \
        const T *xb = cols + (lb * Jt + j0) * PW;                                                \
        const long n_valid = (L - lb * PW) < PW ? (L - lb * PW) : PW;                            \
        long k = 0;                                                                              \
        for (; k + 4 <= Kg; k += 4) {                                                            \
            T acc[4][PW];                                                                        \
            memset(acc, 0, sizeof(acc));                                                         \
            for (long j = 0; j < J; j++) {                                                       \
                const T *xr = xb + j * PW, *wr = wt + j * Kg + k;                                \
                _Pragma("GCC unroll 4")                                                          \
                for (int kk = 0; kk < 4; kk++) {                                                 \
                    const T wv = wr[kk];                                                         \
                    _Pragma("GCC unroll 16")                                                     \
                    for (int ll = 0; ll < PW; ll++) acc[kk][ll] += ABS(xr[ll] - wv);             \
                }                                                                                \
            }                                                                                    \
            for (int kk = 0; kk < 4; kk++) {                                                     \
                T *yr = y + (k0 + k + kk) * L + lb * PW;                                         \
                for (long ll = 0; ll < n_valid; ll++) yr[ll] = -acc[kk][ll];                     \
            }                                                                                    \
        }                                                                                        \
        for (; k < Kg; k++) {                                                                    \
            T acc[PW];                                                                           \
            memset(acc, 0, sizeof(acc));                                                         \
            for (long j = 0; j < J; j++) {                                                       \
                const T *xr = xb + j * PW;                                                       \
                const T wv = wt[j * Kg + k];                                                     \
                _Pragma("GCC unroll 16")                                                         \
                for (int ll = 0; ll < PW; ll++) acc[ll] += ABS(xr[ll] - wv);                     \
            }                                                                                    \
            T *yr = y + (k0 + k) * L + lb * PW;                                                  \
            for (long ll = 0; ll < n_valid; ll++) yr[ll] = -acc[ll];                             \
        }                                                                                        \
    }                                                                                            \
}                                                                                                \
                                                                                                 \
/* One group of one image: dcols[j0 + j, l] = sum_k clamp(w[k, j] - cols[j0 + j, l]) * g[k0+k, l]. \
   w is this group's weight rows [Kg][J]; gp is the image's packed gradient [LB][K][PW]. */      \
static void dx_group_##SFX(const T *cols, const T *w, const T *gp, T *dcols, long Jt, long j0,  \
                           long J, long K, long Kg, long k0, long LB) {                          \
    for (long lb = 0; lb < LB; lb++) {                                                           \
        const T *gb = gp + (lb * K + k0) * PW;                                                   \
        long j = 0;                                                                              \
        for (; j + 4 <= J; j += 4) {                                                             \
            const T *xb = cols + (lb * Jt + j0 + j) * PW;                                        \
            T xv[4][PW], acc[4][PW];                                                             \
            memcpy(xv, xb, sizeof(xv));                                                          \
            memset(acc, 0, sizeof(acc));                                                         \
            for (long k = 0; k < Kg; k++) {                                                      \
                const T *gr = gb + k * PW, *wr = w + k * J + j;                                  \
                _Pragma("GCC unroll 4")                                                          \
                for (int jj = 0; jj < 4; jj++) {                                                 \
                    const T wv = wr[jj];                                                         \
                    _Pragma("GCC unroll 16")                                                     \
                    for (int ll = 0; ll < PW; ll++) {                                            \
                        const T t = wv - xv[jj][ll];                                             \
                        acc[jj][ll] += CLAMP1(t) * gr[ll];                                       \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
            memcpy(dcols + (lb * Jt + j0 + j) * PW, acc, sizeof(acc));                           \
        }                                                                                        \
        for (; j < J; j++) {                                                                     \
            const T *xr = cols + (lb * Jt + j0 + j) * PW;                                        \
            T acc[PW];                                                                           \
            memset(acc, 0, sizeof(acc));                                                         \
            for (long k = 0; k < Kg; k++) {                                                      \
                const T *gr = gb + k * PW;                                                       \
                const T wv = w[k * J + j];                                                       \
                _Pragma("GCC unroll 16")                                                         \
                for (int ll = 0; ll < PW; ll++) {                                                \
                    const T t = wv - xr[ll];                                                     \
                    acc[ll] += CLAMP1(t) * gr[ll];                                               \
                }                                                                                \
            }                                                                                    \
            memcpy(dcols + (lb * Jt + j0 + j) * PW, acc, sizeof(acc));                           \
        }                                                                                        \
    }                                                                                            \
}                                                                                                \
                                                                                                 \
/* Forward of images [n0, n1).  x [N][C][H][W], wt [G][J][Kg], y [N][K][P*Q];                   \
   cols: scratch of LB*C*R*S*PW elements owned by the calling thread. */                         \
void adder_forward_##SFX(const T *x, const T *wt, T *y, long n0, long n1, long C, long H,       \
                         long W, long K, long R, long S, long st, long pad, long G, long P,      \
                         long Q, T *cols) {                                                      \
    const long L = P * Q, LB = (L + PW - 1) / PW, Jt = C * R * S, J = Jt / G, Kg = K / G;         \
    for (long n = n0; n < n1; n++) {                                                             \
        im2col_##SFX(x + n * C * H * W, cols, C, H, W, R, S, st, pad, P, Q, LB);                 \
        for (long g = 0; g < G; g++)                                                             \
            fwd_group_##SFX(cols, wt + g * J * Kg, y + n * K * L, Jt, g * J, J, Kg, g * Kg, L,   \
                            LB);                                                                 \
    }                                                                                            \
}                                                                                                \
                                                                                                 \
/* Input gradient of images [n0, n1).  w [K][J] (the weight as stored), gy [N][K][P*Q],          \
   dx [N][C][H][W] (overwritten); cols, dcols: LB*C*R*S*PW, gp: LB*K*PW scratch elements. */    \
void adder_grad_input_##SFX(const T *x, const T *w, const T *gy, T *dx, long n0, long n1,       \
                            long C, long H, long W, long K, long R, long S, long st, long pad,   \
                            long G, long P, long Q, T *cols, T *dcols, T *gp) {                  \
    const long L = P * Q, LB = (L + PW - 1) / PW, Jt = C * R * S, J = Jt / G, Kg = K / G;         \
    for (long n = n0; n < n1; n++) {                                                             \
        im2col_##SFX(x + n * C * H * W, cols, C, H, W, R, S, st, pad, P, Q, LB);                 \
        const T *g = gy + n * K * L;                                                             \
        for (long lb = 0; lb < LB; lb++)                                                         \
            for (long k = 0; k < K; k++)                                                         \
                for (long ll = 0; ll < PW; ll++) {                                               \
                    const long l = lb * PW + ll;                                                 \
                    gp[(lb * K + k) * PW + ll] = l < L ? g[k * L + l] : (T)0;                    \
                }                                                                                \
        for (long gi = 0; gi < G; gi++)                                                          \
            dx_group_##SFX(cols, w + gi * Kg * J, gp, dcols, Jt, gi * J, J, K, Kg, gi * Kg, LB);  \
        T *dxn = dx + n * C * H * W;                                                             \
        memset(dxn, 0, sizeof(T) * C * H * W);                                                   \
        col2im_add_##SFX(dcols, dxn, C, H, W, R, S, st, pad, P, Q);                              \
    }                                                                                            \
}

/* Depthwise layers (one input channel per filter, K = C * M): no im2col, which would cost as
   much as the arithmetic.  Each plane is copied into a zero-bordered buffer xp of
   (H + 2 pad) x (W + 2 pad), so the tap loops need no bounds checks; rows of outputs are the
   vectorised inner loops. */
#define DEFINE_DEPTHWISE_KERNELS(T, SFX, ABS)                                                    \
static void pad_plane_##SFX(const T *src, T *xp, long H, long W, long pad) {                    \
    const long Wp = W + 2 * pad;                                                                 \
    for (long h = 0; h < H; h++) memcpy(xp + (h + pad) * Wp + pad, src + h * W, sizeof(T) * W);  \
}                                                                                                \
                                                                                                 \
void adder_dw_forward_##SFX(const T *restrict x, const T *restrict w, T *restrict y, long n0,   \
                            long n1, long C, long H, long W, long K, long R, long S, long st,    \
                            long pad, long P, long Q, T *restrict xp) {                          \
    const long M = K / C, Wp = W + 2 * pad;                                                      \
    memset(xp, 0, sizeof(T) * (H + 2 * pad) * Wp);  /* borders stay zero for every plane */     \
    for (long n = n0; n < n1; n++)                                                               \
    for (long c = 0; c < C; c++) {                                                               \
        pad_plane_##SFX(x + (n * C + c) * H * W, xp, H, W, pad);                                 \
        for (long m = 0; m < M; m++) {                                                           \
            const long k = c * M + m;                                                            \
            const T *wk = w + k * R * S;                                                         \
            T *yk = y + (n * K + k) * P * Q;                                                     \
            for (long p = 0; p < P; p++) {                                                       \
                T *restrict yr = yk + p * Q;                                                     \
                for (long q = 0; q < Q; q++) yr[q] = 0;                                          \
                for (long r = 0; r < R; r++)                                                     \
                for (long s = 0; s < S; s++) {                                                   \
                    const T wv = wk[r * S + s];                                                  \
                    const T *restrict xr = xp + (p * st + r) * Wp + s;                           \
                    if (st == 1) for (long q = 0; q < Q; q++) yr[q] -= ABS(xr[q] - wv);          \
                    else for (long q = 0; q < Q; q++) yr[q] -= ABS(xr[q * st] - wv);             \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
}                                                                                                \
                                                                                                 \
/* dx of a plane = sum over its M filters and taps of clamp(w - x) * g, scattered into the      \
   padded buffer dxp (one thread per image range: no races), then cropped into dx. */          \
void adder_dw_grad_input_##SFX(const T *restrict x, const T *restrict w,                        \
                               const T *restrict gy, T *restrict dx, long n0, long n1, long C,  \
                               long H, long W, long K, long R, long S, long st, long pad,        \
                               long P, long Q, T *restrict xp, T *restrict dxp) {                \
    const long M = K / C, Hp = H + 2 * pad, Wp = W + 2 * pad;                                    \
    memset(xp, 0, sizeof(T) * Hp * Wp);                                                          \
    for (long n = n0; n < n1; n++)                                                               \
    for (long c = 0; c < C; c++) {                                                               \
        pad_plane_##SFX(x + (n * C + c) * H * W, xp, H, W, pad);                                 \
        memset(dxp, 0, sizeof(T) * Hp * Wp);                                                     \
        for (long m = 0; m < M; m++) {                                                           \
            const long k = c * M + m;                                                            \
            const T *wk = w + k * R * S;                                                         \
            const T *gk = gy + (n * K + k) * P * Q;                                              \
            for (long p = 0; p < P; p++) {                                                       \
                const T *restrict gr = gk + p * Q;                                               \
                for (long r = 0; r < R; r++)                                                     \
                for (long s = 0; s < S; s++) {                                                   \
                    const T wv = wk[r * S + s];                                                  \
                    const T *restrict xr = xp + (p * st + r) * Wp + s;                           \
                    T *restrict dr = dxp + (p * st + r) * Wp + s;                                \
                    if (st == 1) {                                                               \
                        for (long q = 0; q < Q; q++) {                                           \
                            const T t = wv - xr[q];                                              \
                            dr[q] += CLAMP1(t) * gr[q];                                          \
                        }                                                                        \
                    } else {                                                                     \
                        for (long q = 0; q < Q; q++) {                                           \
                            const T t = wv - xr[q * st];                                         \
                            dr[q * st] += CLAMP1(t) * gr[q];                                     \
                        }                                                                        \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
        T *dxn = dx + (n * C + c) * H * W;                                                       \
        for (long h = 0; h < H; h++)                                                             \
            memcpy(dxn + h * W, dxp + (h + pad) * Wp + pad, sizeof(T) * W);                      \
    }                                                                                            \
}                                                                                                \
                                                                                                 \
/* part[k, r, s] += sum over images [n0, n1) and positions of (x_pad - w) * g: this thread's    \
   share of the weight gradient (the caller zeroes part and adds the threads' shares). */       \
void adder_dw_grad_weight_##SFX(const T *restrict x, const T *restrict w,                       \
                                const T *restrict gy, T *restrict part, long n0, long n1,       \
                                long C, long H, long W, long K, long R, long S, long st,         \
                                long pad, long P, long Q, T *restrict xp) {                      \
    const long M = K / C, Wp = W + 2 * pad;                                                      \
    memset(xp, 0, sizeof(T) * (H + 2 * pad) * Wp);                                              \
    for (long n = n0; n < n1; n++)                                                               \
    for (long c = 0; c < C; c++) {                                                               \
        pad_plane_##SFX(x + (n * C + c) * H * W, xp, H, W, pad);                                 \
        for (long m = 0; m < M; m++) {                                                           \
            const long k = c * M + m;                                                            \
            const T *gk = gy + (n * K + k) * P * Q;                                              \
            for (long r = 0; r < R; r++)                                                         \
            for (long s = 0; s < S; s++) {                                                       \
                const T wv = w[(k * R + r) * S + s];                                             \
                T acc = 0;                                                                       \
                for (long p = 0; p < P; p++) {                                                   \
                    const T *restrict xr = xp + (p * st + r) * Wp + s;                           \
                    const T *restrict gr = gk + p * Q;                                           \
                    if (st == 1) for (long q = 0; q < Q; q++) acc += (xr[q] - wv) * gr[q];        \
                    else for (long q = 0; q < Q; q++) acc += (xr[q * st] - wv) * gr[q];          \
                }                                                                                \
                part[(k * R + r) * S + s] += acc;                                                \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
}

static inline float abs_f32(float v) { return __builtin_fabsf(v); }
static inline double abs_f64(double v) { return __builtin_fabs(v); }

DEFINE_ADDER_KERNELS(float, 16, f32, abs_f32)
DEFINE_ADDER_KERNELS(double, 8, f64, abs_f64)
DEFINE_DEPTHWISE_KERNELS(float, f32, abs_f32)
DEFINE_DEPTHWISE_KERNELS(double, f64, abs_f64)

/* The images [0, N) split into nthreads contiguous shares: share t is the images
   [N t / nthreads, N (t + 1) / nthreads) with the t-th slice of each scratch buffer (of the given
   element counts).  One call runs shares [t0, t1), each on its own OpenMP thread: the OpenMP path
   passes every share at once, the Python-pool fallback one share per pool thread, so results do
   not depend on which path ran.  Built with -fopenmp, this library resolves libgomp.so.1 to the
   copy PyTorch has already loaded, so its threads are PyTorch's own: a Python pool beside
   PyTorch's spinning OpenMP workers oversubscribes a small machine. */
#ifdef _OPENMP
#define OMP_FOR _Pragma("omp parallel for num_threads(t1 - t0) schedule(static, 1)")
#else
#define OMP_FOR
#endif
#define SPLIT(t) N * (t) / nthreads, N * ((t) + 1) / nthreads

#define DEFINE_PARALLEL(T, SFX)                                                                  \
void adder_forward_split_##SFX(const T *x, const T *wt, T *y, long N, long C, long H, long W,     \
                             long K, long R, long S, long st, long pad, long G, long P, long Q,  \
                             T *cols, long n_cols, long t0, long t1,       \
                             long nthreads) {                              \
    OMP_FOR for (long t = t0; t < t1; t++)                                                  \
        adder_forward_##SFX(x, wt, y, SPLIT(t), C, H, W, K, R, S, st, pad, G, P, Q,             \
                            cols + t * n_cols);                                                  \
}                                                                                                \
void adder_grad_input_split_##SFX(const T *x, const T *w, const T *gy, T *dx, long N, long C,     \
                                long H, long W, long K, long R, long S, long st, long pad,       \
                                long G, long P, long Q, T *cols, long n_cols, T *dcols,          \
                                long n_dcols, T *gp, long n_gp, long t0, long t1, long nthreads) {                 \
    OMP_FOR for (long t = t0; t < t1; t++)                                                  \
        adder_grad_input_##SFX(x, w, gy, dx, SPLIT(t), C, H, W, K, R, S, st, pad, G, P, Q,       \
                               cols + t * n_cols, dcols + t * n_dcols, gp + t * n_gp);           \
}                                                                                                \
void adder_dw_forward_split_##SFX(const T *x, const T *w, T *y, long N, long C, long H, long W,   \
                                long K, long R, long S, long st, long pad, long P, long Q,       \
                                T *xp, long n_xp, long t0, long t1, long nthreads) {             \
    OMP_FOR for (long t = t0; t < t1; t++)                                                  \
        adder_dw_forward_##SFX(x, w, y, SPLIT(t), C, H, W, K, R, S, st, pad, P, Q, xp + t * n_xp); \
}                                                                                                \
void adder_dw_grad_input_split_##SFX(const T *x, const T *w, const T *gy, T *dx, long N, long C,  \
                                   long H, long W, long K, long R, long S, long st, long pad,    \
                                   long P, long Q, T *xp, long n_xp, T *dxp, long n_dxp,         \
                                   long t0, long t1, long nthreads) {                                              \
    OMP_FOR for (long t = t0; t < t1; t++)                                                  \
        adder_dw_grad_input_##SFX(x, w, gy, dx, SPLIT(t), C, H, W, K, R, S, st, pad, P, Q,       \
                                  xp + t * n_xp, dxp + t * n_dxp);                               \
}                                                                                                \
/* part: one zeroed slice of n_part weight-gradient elements per thread, summed by the caller. */ \
void adder_dw_grad_weight_split_##SFX(const T *x, const T *w, const T *gy, T *part, long n_part,  \
                                    long N, long C, long H, long W, long K, long R, long S,      \
                                    long st, long pad, long P, long Q, T *xp, long n_xp,         \
                                    long t0, long t1, long nthreads) {                                             \
    OMP_FOR for (long t = t0; t < t1; t++) {                                                \
        memset(part + t * n_part, 0, sizeof(T) * n_part);                                        \
        adder_dw_grad_weight_##SFX(x, w, gy, part + t * n_part, SPLIT(t), C, H, W, K, R, S, st,  \
                                   pad, P, Q, xp + t * n_xp);                                    \
    }                                                                                            \
}

DEFINE_PARALLEL(float, f32)
DEFINE_PARALLEL(double, f64)

int adder_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* Elements per packed block, so Python sizes the scratch buffers with the same numbers. */
long adder_block_width_f32(void) { return 16; }
long adder_block_width_f64(void) { return 8; }
"""

# -ffinite-math-only / -fno-signed-zeros let gcc turn the clamp into vminps/vmaxps; nothing here
# relies on NaN ordering (a NaN input still gives a NaN forward output through the abs-sum).
_CFLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math",
           "-ffinite-math-only", "-fno-signed-zeros", "-std=gnu11"]

_lock = threading.Lock()
_lib = None
_openmp = False  # the library was built with -fopenmp: one *_split call runs every share on PyTorch's threads
_load_error: str | None = None
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _cpu_fingerprint() -> str:
    """Model name and flags of the CPU: a library built with -march=native runs only there."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() + platform.machine()


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")


def _build() -> ctypes.CDLL:
    cc = _compiler()
    if cc is None:
        raise RuntimeError("no C compiler (gcc/cc) on PATH")
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True).stdout
    global _openmp
    lib = None
    # OpenMP first (threads shared with PyTorch); a compiler without it still gets the kernels
    for flags in (_CFLAGS + ["-fopenmp"], _CFLAGS):
        try:
            lib = _build_with(cc, version, flags)
            break
        except RuntimeError as exc:
            error = exc
    if lib is None:
        raise error
    ptr, lng = ctypes.c_void_p, ctypes.c_long
    # the entry points (*_split): the images' count N, then each scratch pointer followed by its
    # per-share element count, then the shares to run [t0, t1) and the number of shares
    shares = [lng] * 3
    for sfx in ("f32", "f64"):
        getattr(lib, f"adder_block_width_{sfx}").restype = lng
        for name, argtypes in (("forward", [ptr] * 3 + [lng] * 12 + [ptr, lng]),
                               ("grad_input", [ptr] * 4 + [lng] * 12 + [ptr, lng] * 3),
                               ("dw_forward", [ptr] * 3 + [lng] * 11 + [ptr, lng]),
                               ("dw_grad_input", [ptr] * 4 + [lng] * 11 + [ptr, lng] * 2),
                               ("dw_grad_weight", [ptr] * 4 + [lng] * 12 + [ptr, lng])):
            fn = getattr(lib, f"adder_{name}_split_{sfx}")
            fn.argtypes = argtypes + shares
            fn.restype = None
    _openmp = bool(lib.adder_openmp())
    return lib


def _build_with(cc: str, version: str, flags: list[str]) -> ctypes.CDLL:
    key = hashlib.sha256("\0".join([_C_SOURCE, " ".join(flags), version, _cpu_fingerprint()])
                         .encode()).hexdigest()[:20]
    cache = os.environ.get("NASA_LIB_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                                  "nasa_lib")
    os.makedirs(cache, exist_ok=True)
    so_path = os.path.join(cache, f"adder_cpu_{key}.so")
    if not os.path.exists(so_path):
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            src = os.path.join(tmp, "adder_cpu.c")
            with open(src, "w") as f:
                f.write(_C_SOURCE)
            out = os.path.join(tmp, "adder_cpu.so")
            proc = subprocess.run([cc, *flags, src, "-o", out], capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"gcc failed: {proc.stderr.strip()[:2000]}")
            os.replace(out, so_path)  # atomic: concurrent builders never see a partial file
    try:
        return ctypes.CDLL(so_path)
    except OSError as exc:  # e.g. built with -fopenmp but no libgomp to load
        raise RuntimeError(f"cannot load {so_path}: {exc}") from exc


def _get_lib() -> ctypes.CDLL | None:
    global _lib, _load_error
    if _lib is not None or _load_error is not None:
        return _lib
    with _lock:
        if _lib is None and _load_error is None:
            try:
                _lib = _build()
            except Exception as exc:  # any failure means: use the pure-torch path
                _load_error = f"{type(exc).__name__}: {exc}"
                warnings.warn(f"nasa_lib adder: fast CPU kernels unavailable ({_load_error}); "
                              "using the slower pure-torch CPU path", RuntimeWarning, stacklevel=3)
    return _lib


def available() -> bool:
    """True when the C kernels are built (or buildable now) and not disabled by the environment."""
    if os.environ.get("NASA_LIB_ADDER_CPU", "auto").lower() == "torch":
        return False
    return _get_lib() is not None


def _run_split(n_images: int, scratch_elems: list[int], dtype: torch.dtype, run) -> list:
    """Split the images into up to torch.get_num_threads() contiguous shares, each with its own
    slice of every scratch buffer (``scratch_elems`` elements per share), and run them:
    ``run(t0, t1, shares, *scratch)`` runs shares [t0, t1) in one C call (a ``*_split`` kernel).
    With an OpenMP build one call runs every share on PyTorch's OpenMP threads; otherwise a
    Python thread pool makes one call per share (ctypes releases the GIL during the C call).
    The buffers are allocated here, in the calling thread, so allocation trackers that follow one
    thread (torch.profiler) see them; each share's slices are returned for partial results.
    """
    global _pool, _pool_size
    shares = max(1, min(torch.get_num_threads(), n_images))
    scratch = [torch.empty(shares * e, dtype=dtype) for e in scratch_elems]
    if shares == 1 or _openmp:
        run(0, shares, shares, *scratch)
    else:
        if _pool is None or _pool_size < shares:
            _pool, _pool_size = ThreadPoolExecutor(max_workers=shares), shares
        for fut in [_pool.submit(run, t, t + 1, shares, *scratch) for t in range(shares)]:
            fut.result()
    return [[buf[t * e:(t + 1) * e] for buf, e in zip(scratch, scratch_elems)] for t in range(shares)]


def _sizes(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int):
    n, c, h, w = x.shape
    k, _, r, s = weight.shape
    p = (h + 2 * padding - r) // stride + 1
    q = (w + 2 * padding - s) // stride + 1
    return n, c, h, w, k, r, s, p, q


def forward(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int, groups: int) -> torch.Tensor:
    """Adder forward on contiguous float32/float64 CPU tensors (validated by the caller)."""
    lib = _get_lib()
    sfx = "f32" if x.dtype == torch.float32 else "f64"
    n, c, h, w, k, r, s, p, q = _sizes(x, weight, stride, padding)
    if weight.shape[1] == 1:  # depthwise: direct kernel on zero-bordered planes
        y = torch.empty(n, k, p, q, dtype=x.dtype)
        fn = getattr(lib, f"adder_dw_forward_split_{sfx}")
        plane = (h + 2 * padding) * (w + 2 * padding)

        def run_dw(t0: int, t1: int, shares: int, xp: torch.Tensor) -> None:
            fn(x.data_ptr(), weight.data_ptr(), y.data_ptr(), n, c, h, w, k, r, s, stride, padding, p, q,
               xp.data_ptr(), plane, t0, t1, shares)

        _run_split(n, [plane], x.dtype, run_dw)
        return y
    pw = getattr(lib, f"adder_block_width_{sfx}")()
    lb = (p * q + pw - 1) // pw
    j = c // groups * r * s
    # [G][J][Kg]: one contiguous row of Kg filter values per receptive-field element.
    wt = weight.reshape(groups, k // groups, j).transpose(1, 2).contiguous()
    y = torch.empty(n, k, p, q, dtype=x.dtype)
    fn = getattr(lib, f"adder_forward_split_{sfx}")
    n_cols = lb * c * r * s * pw

    def run(t0: int, t1: int, shares: int, cols: torch.Tensor) -> None:
        fn(x.data_ptr(), wt.data_ptr(), y.data_ptr(), n, c, h, w, k, r, s, stride, padding, groups, p, q,
           cols.data_ptr(), n_cols, t0, t1, shares)

    _run_split(n, [n_cols], x.dtype, run)
    return y


def grad_input(x: torch.Tensor, weight: torch.Tensor, grad_y: torch.Tensor, stride: int,
               padding: int, groups: int) -> torch.Tensor:
    """dL/dx = sum HardTanh(w - x) * dL/dy on contiguous CPU tensors."""
    lib = _get_lib()
    sfx = "f32" if x.dtype == torch.float32 else "f64"
    n, c, h, w, k, r, s, p, q = _sizes(x, weight, stride, padding)
    dx = torch.empty_like(x)
    if weight.shape[1] == 1:  # depthwise: direct scatter into zero-bordered planes
        fn = getattr(lib, f"adder_dw_grad_input_split_{sfx}")
        plane = (h + 2 * padding) * (w + 2 * padding)

        def run_dw(t0: int, t1: int, shares: int, xp: torch.Tensor, dxp: torch.Tensor) -> None:
            fn(x.data_ptr(), weight.data_ptr(), grad_y.data_ptr(), dx.data_ptr(), n, c, h, w, k, r, s, stride,
               padding, p, q, xp.data_ptr(), plane, dxp.data_ptr(), plane, t0, t1, shares)

        _run_split(n, [plane, plane], x.dtype, run_dw)
        return dx
    pw = getattr(lib, f"adder_block_width_{sfx}")()
    lb = (p * q + pw - 1) // pw
    fn = getattr(lib, f"adder_grad_input_split_{sfx}")
    n_cols, n_gp = lb * c * r * s * pw, lb * k * pw

    def run(t0: int, t1: int, shares: int, cols: torch.Tensor, dcols: torch.Tensor, gp: torch.Tensor) -> None:
        fn(x.data_ptr(), weight.data_ptr(), grad_y.data_ptr(), dx.data_ptr(), n, c, h, w, k, r, s, stride,
           padding, groups, p, q, cols.data_ptr(), n_cols, dcols.data_ptr(), n_cols, gp.data_ptr(), n_gp,
           t0, t1, shares)

    _run_split(n, [n_cols, n_cols, n_gp], x.dtype, run)
    return dx


def grad_weight(x: torch.Tensor, weight: torch.Tensor, grad_y: torch.Tensor, stride: int,
                padding: int, groups: int) -> torch.Tensor | None:
    """sum (x_pad - w) * dL/dy for depthwise layers, where torch's convolution weight-gradient
    is slow; None for dense layers (``adder.py`` then uses that weight-gradient)."""
    if weight.shape[1] != 1:
        return None
    lib = _get_lib()
    sfx = "f32" if x.dtype == torch.float32 else "f64"
    n, c, h, w, k, r, s, p, q = _sizes(x, weight, stride, padding)
    fn = getattr(lib, f"adder_dw_grad_weight_split_{sfx}")
    plane = (h + 2 * padding) * (w + 2 * padding)

    def run(t0: int, t1: int, shares: int, part: torch.Tensor, xp: torch.Tensor) -> None:
        fn(x.data_ptr(), weight.data_ptr(), grad_y.data_ptr(), part.data_ptr(), k * r * s, n, c, h, w, k, r, s,
           stride, padding, p, q, xp.data_ptr(), plane, t0, t1, shares)

    scratch = _run_split(n, [k * r * s, plane], x.dtype, run)
    # threads' shares summed in a fixed order: deterministic for a given thread count
    return torch.stack([buffers[0] for buffers in scratch]).sum(0).view(k, 1, r, s)
