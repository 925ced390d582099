"""Kernel modules imported at first use, with one fallback warning where they cannot be.

The Triton kernels (``_adder_triton``, ``_quant_triton``) import ``triton`` at their top; a
CPU-only install has none, and a broken one may fail in other ways.  Both callers then use their
PyTorch path and say so once."""
from __future__ import annotations

import importlib
import warnings


class LazyKernels:
    """``kernels()`` is the module ``name`` (relative to this package), or None after one
    RuntimeWarning naming ``fallback`` when importing it fails; ``kernels.error`` says why."""

    def __init__(self, name: str, fallback: str):
        self.name, self.fallback = name, fallback
        self.module = None
        self.error: str | None = None

    def __call__(self, stacklevel: int = 2):
        if self.module is None and self.error is None:
            try:
                self.module = importlib.import_module(self.name, __package__)
            except Exception as exc:  # no triton, or a broken install: the caller's fallback
                self.error = f"{type(exc).__name__}: {exc}"
                warnings.warn(f"nasa_lib {self.name.lstrip('.')}: Triton kernels unavailable "
                              f"({self.error}); using {self.fallback}", RuntimeWarning,
                              stacklevel=stacklevel + 1)
        return self.module
