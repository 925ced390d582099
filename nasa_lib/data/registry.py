"""``build_datamodule(name, **params)``: the one entry point the notebooks and params.yaml use."""
from __future__ import annotations

import inspect

from .base import ImageDataModule
from .cifar import Cifar10DataModule, Cifar100DataModule
from .embedded import DigitsDataModule, Mnist5kDataModule
from .synthetic import SyntheticDataModule

DATAMODULES: dict[str, type[ImageDataModule]] = {
    "mnist5k": Mnist5kDataModule,
    "digits": DigitsDataModule,
    "synthetic": SyntheticDataModule,
    "cifar10": Cifar10DataModule,
    "cifar100": Cifar100DataModule,
}
DATASET_NAMES = tuple(DATAMODULES)


def datamodule_params(name: str) -> tuple[str, ...]:
    """The keyword parameters that ``build_datamodule(name, ...)`` accepts, sorted."""
    cls = _lookup(name)
    params = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.split(".")[0] not in ("nasa_lib",):
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                params.add(p.name)
    return tuple(sorted(params))


def _lookup(name: str) -> type[ImageDataModule]:
    if name not in DATAMODULES:
        raise ValueError(f"data set name {name!r} is unknown; valid names: "
                         f"{', '.join(DATASET_NAMES)}")
    return DATAMODULES[name]


def build_datamodule(name: str, **params) -> ImageDataModule:
    """The DataModule of data set ``name`` (one of :data:`DATASET_NAMES`) with ``params``."""
    cls = _lookup(name)
    valid = datamodule_params(name)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"{name}: unknown parameter(s) {', '.join(unknown)}; valid parameters: "
                         f"{', '.join(valid)}")
    return cls(**params)
