"""nasa_lib: multiplication-reduced (hybrid) networks, their search, and the accelerators that
run them (NASA, ICCAD'22; DANCE, DAC'21).  Layers, imports pointing down: ``io``, ``layerspec``,
``opkinds``, ``artifacts``; ``ops``, ``hw``, ``data``; ``space``; ``nas``, ``dance``; ``report``;
``stages`` on top (``tests/test_layering.py`` holds the rules)."""
import os as _os
import sys as _sys

if _os.environ.get("NASA_LIB_DIE_WITH_PARENT") and _sys.platform.startswith("linux"):
    # a stage's kernel (and its DDP children) end with the process that started them, so a killed
    # stage leaves no training process behind that could write outputs later (PR_SET_PDEATHSIG)
    import ctypes as _ctypes
    import signal as _signal
    _ctypes.CDLL(None, use_errno=True).prctl(1, int(_signal.SIGKILL), 0, 0, 0)
    if "ipykernel" in _sys.modules:     # the stage's kernel itself (not a DDP child): skip the teardown
        from ._kernel_exit import install as _install_exit
        _install_exit()

if _os.environ.get("NASA_LIB_TRACE_FILE"):      # the dependency test's file trace (off by default)
    from ._trace import install as _install
    _install(_os.environ["NASA_LIB_TRACE_FILE"])
