"""Launching Triton kernels with little host time: the adder's kernels (``_adder_triton``) and
the fused quantisers' (``_quant_triton``) go through :func:`launch`."""
from __future__ import annotations

import os

import torch
import triton

# The interpreter (TRITON_INTERPRET=1, used by the CPU tests) runs kernels on CPU tensors: no
# compiled launcher to call.
_INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") == "1"

# Triton's own launch path (argument binding, specialisation key, cache lookup, hooks) costs
# ~30-45 us of host time per launch, measured on an H200 (benchmarks/adder_host_overhead.py),
# several times a PyTorch operator's; small layers and the soft-mode search step are
# host-bound, so that is their time.  The fast path keeps each compiled kernel under a key that
# is at least as fine as Triton's specialisation (constexpr values, each tensor's dtype and
# 16-byte alignment, each integer's ==1 / %16 / 32-bit range) and calls its launcher directly,
# exactly as Triton's run() does.  NASA_LIB_ADDER_FAST_LAUNCH=0 turns it off; it is never
# used under the interpreter or while Triton launch hooks are set.
_fast_launch = not _INTERPRETED and os.environ.get("NASA_LIB_ADDER_FAST_LAUNCH", "1") != "0"
_FAST: dict = {}
_FAST_MAX = 1 << 14
LAST_COMPILED: dict = {}  # kernel name -> last compiled kernel (register / spill report)


def _knows_maxnreg() -> bool:
    """Whether this Triton compiles with a register cap (``maxnreg``; Triton >= 3.0 on NVIDIA).
    Older ones run the kernels uncapped (slower on the wide tiles, the same values)."""
    try:
        from triton.backends.nvidia.compiler import CUDAOptions
    except Exception:  # noqa: BLE001  (another layout of Triton, or no NVIDIA backend)
        return False
    return "maxnreg" in getattr(CUDAOptions, "__dataclass_fields__", {})


_MAXNREG = _knows_maxnreg()


def _hook_active(hook) -> bool:
    # Triton 3.6 keeps hooks in a HookChain (empty: no hook); older ones use None
    return hook is not None and bool(getattr(hook, "calls", True))


def _hooks_set() -> bool:
    rt = getattr(getattr(triton, "knobs", None), "runtime", None)
    return rt is None or _hook_active(rt.launch_enter_hook) or _hook_active(rt.launch_exit_hook)


def launch(name, kernel, grid, tensors, scalars, consts, num_warps, num_stages=None, maxnreg=None):
    """``kernel[grid](*tensors, *scalars, *consts, num_warps=num_warps)`` (every kernel here takes
    its pointers first, then its run-time scalars, then every constexpr, in signature order;
    ``num_stages`` and ``maxnreg``, the cap on registers per thread, are passed where not None),
    through the fast path once that key has compiled.  ``grid`` is a 3-tuple of ints >= 1 (see
    ``grid3``); ``scalars`` and ``consts`` are tuples.  The fast path's key holds the scalars'
    values themselves (finer than Triton's ==1 / %16 / 32-bit specialisation, and a tuple hash
    instead of a per-argument classification: the call sites' plans give the same tuple object
    for a layer every call) and each pointer's dtype and 16-byte alignment."""
    global _fast_launch
    key = None
    if _fast_launch:
        dev = torch.cuda.current_device()
        key = (name, dev, num_warps, num_stages, maxnreg, consts, scalars,
               tuple([(t.dtype, not t.data_ptr() & 15) for t in tensors]))
        ck = _FAST.get(key)
        if ck is not None and not _hooks_set():
            try:
                ck.run(grid[0], grid[1], grid[2], torch._C._cuda_getCurrentRawStream(dev), ck.function,
                       ck.packed_metadata, None, None, None, *tensors, *scalars, *consts)
                return
            except (AttributeError, TypeError):  # another Triton's launcher: the normal path
                _fast_launch = False
    opts = {"num_warps": num_warps}
    if num_stages is not None:
        opts["num_stages"] = num_stages
    if maxnreg is not None and _MAXNREG:
        opts["maxnreg"] = maxnreg
    ck = kernel[grid](*tensors, *scalars, *consts, **opts)
    LAST_COMPILED[name] = ck
    if key is not None and _fast_launch:
        if len(_FAST) > _FAST_MAX:  # many shapes (each key holds its scalars): start over
            _FAST.clear()
        _FAST[key] = ck


def grid3(*grid) -> tuple:
    return tuple(max(1, int(v)) for v in grid) + (1,) * (3 - len(grid))
