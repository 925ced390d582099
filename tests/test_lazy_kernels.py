"""The lazy import of the Triton kernel modules (nasa_lib/ops/_lazy_kernels.py), shared by the
adder and the fused quantisers: a module that cannot be imported gives None and one warning."""
import warnings

import pytest

from nasa_lib.ops import _adder_torch
from nasa_lib.ops._lazy_kernels import LazyKernels


def test_missing_module_warns_once_and_falls_back():
    kernels = LazyKernels("._no_such_kernels", "the fallback path")
    with pytest.warns(RuntimeWarning, match=r"_no_such_kernels: Triton kernels unavailable "
                                            r"\(ModuleNotFoundError: .*\); using the fallback path"):
        assert kernels() is None
    assert kernels.error.startswith("ModuleNotFoundError")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second warning would raise here
        assert kernels() is None


def test_present_module_is_imported_once():
    kernels = LazyKernels("._adder_torch", "unused")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kernels() is _adder_torch
        assert kernels() is _adder_torch
    assert kernels.error is None
