"""nasa_lib: multiplication-reduced (hybrid) networks, their search, and the accelerators that
run them (NASA, ICCAD'22; DANCE, DAC'21).  Layers, imports pointing down: ``io``, ``layerspec``,
``opkinds``, ``artifacts``; ``ops``, ``hw``, ``data``; ``space``; ``nas``, ``dance``; ``report``;
``stages`` on top (``tests/test_layering.py`` holds the rules)."""
import os as _os

if _os.environ.get("NASA_LIB_TRACE_FILE"):      # the dependency test's file trace (off by default)
    from ._trace import install as _install
    _install(_os.environ["NASA_LIB_TRACE_FILE"])
