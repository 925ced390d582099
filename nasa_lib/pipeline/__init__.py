"""The glue between the DVC pipeline's notebooks and the library: parameter validation and what
each stage runs.  Notebooks call these; all logic is tested here, not in the notebooks.

The names below load on first use (PEP 562): the stage runner ``python -m
nasa_lib.pipeline.notebook`` lives in this package and must not pay for importing PyTorch and
Lightning once per stage, in a process that never trains."""
from importlib import import_module

_EXPORTS = {"STAGES": "config", "config_hash": "config", "validate": "config",
            **{name: "stages" for name in ("make_datamodule", "make_layout", "resolve_arch", "run_data",
                                            "run_pretrain", "run_retrain", "run_search", "without_timing",
                                            "write_json")}}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
