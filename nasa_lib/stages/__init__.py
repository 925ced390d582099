"""The pipeline's stages, at the top of the package: one module per DVC stage (``data``,
``pretrain``, ``search``, ``retrain``, ``hw_mapping``, ``dance_dataset``, ``dance_evaluator``,
``dance_coexplore``, ``report``), each imported by its notebook and by nothing else in the library.

Below them: :mod:`.params` (the parameter schema and its strict loader), :mod:`.paths` (every
file a stage writes or reads), :mod:`.common` (seeding, data module, trainers), :mod:`.notebook`
(the stage runner DVC calls), :mod:`.launch` / :mod:`.run_stage` (GPU DDP from a notebook),
:mod:`.profile` (profile overlays) and :mod:`.workspace` (a fresh copy of the repository).

This package's ``__init__`` imports nothing, so the stage runner starts without PyTorch.
"""
