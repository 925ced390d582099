"""The glue between the DVC pipeline's notebooks and the library: parameter validation and what
each stage runs.  Notebooks call these; all logic is tested here, not in the notebooks."""
from .config import STAGES, config_hash, validate
from .stages import (make_datamodule, make_layout, resolve_arch, run_data, run_pretrain, run_retrain, run_search,
                     without_timing, write_json)

__all__ = ["STAGES", "config_hash", "validate", "make_datamodule", "make_layout", "resolve_arch", "run_data",
           "run_pretrain", "run_retrain", "run_search", "without_timing", "write_json"]
