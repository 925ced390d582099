"""The layer spec: the one interface between the network side and the hardware side.

A network exports a list of :class:`LayerSpec`; the hardware model (``nasa_lib.hw``) reads only
these.  Neither side imports the other's internals.  The loop names follow the Eyeriss /
Timeloop convention:

    N  batch            K  output channels     C  input channels
    P, Q  output rows / columns                R, S  kernel rows / columns

For a grouped convolution each of the ``groups`` groups maps ``C // groups`` input channels to
``K // groups`` output channels (a depthwise layer has ``groups == C == K``).  A fully connected
layer is a 1x1 convolution with ``P == Q == 1``.  An element-wise residual addition is the op
``"eltwise"`` with ``C == K`` and ``R == S == 1``.

Counting convention (per layer, all images of the batch), used everywhere in the suite:

* ``mult``  (multiplication-based conv / FC):   ``macs`` multiplications and ``macs`` additions
  (each product is accumulated into a partial sum that starts at zero).
* ``shift`` (DeepShift conv):                   ``macs`` shifts and ``macs`` additions.
* ``adder`` (AdderNet conv, ``-sum |x - w|``):   ``2 * macs`` additions (one subtraction and one
  accumulation per weight; the absolute value is a sign-bit operation and is not counted).
* ``eltwise`` (residual add):                    ``N * K * P * Q`` additions.

Batch norm and ReLU are folded into the preceding layer at inference time and are not counted.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Iterable

OP_TYPES = ("mult", "shift", "adder", "eltwise")


@dataclass(frozen=True)
class LayerSpec:
    """One layer as the hardware model sees it.  All sizes are element counts."""

    name: str
    op: str
    N: int
    K: int
    C: int
    P: int
    Q: int
    R: int = 1
    S: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bits_w: int = 8
    bits_a: int = 8
    H_in: int = 0     # input rows (unpadded); 0: the smallest size that gives P (see ``H``)
    W_in: int = 0     # input columns (unpadded); 0: likewise from Q
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.op not in OP_TYPES:
            raise ValueError(f"LayerSpec.op={self.op!r} is not valid; valid values: {', '.join(OP_TYPES)}")
        for dim in ("N", "K", "C", "P", "Q", "R", "S", "stride", "groups", "bits_w", "bits_a"):
            value = getattr(self, dim)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"LayerSpec.{dim}={value!r} must be a positive integer (layer {self.name!r})")
        if self.padding < 0:
            raise ValueError(f"LayerSpec.padding={self.padding!r} must be >= 0 (layer {self.name!r})")
        for dim, out, k in (("H_in", self.P, self.R), ("W_in", self.Q, self.S)):
            size = getattr(self, dim)
            if not isinstance(size, int) or size < 0:
                raise ValueError(f"LayerSpec.{dim}={size!r} must be an integer >= 0 (layer {self.name!r})")
            if size and (size + 2 * self.padding - k) // self.stride + 1 != out:
                raise ValueError(f"LayerSpec.{dim}={size} does not give {out} outputs with kernel {k}, stride "
                                 f"{self.stride} and padding {self.padding} (layer {self.name!r})")
        if self.C % self.groups or self.K % self.groups:
            raise ValueError(
                f"LayerSpec.groups={self.groups} must divide C={self.C} and K={self.K} (layer {self.name!r})"
            )

    # ---- derived sizes -------------------------------------------------------------------
    @property
    def H(self) -> int:
        """Input rows (unpadded): ``H_in`` when given; else the smallest size that gives ``P`` outputs,
        ``(P - 1) * stride + R - 2 * padding``, which is one row short for a stride-2 layer on an
        even input (31 for 32): exporters of real networks give ``H_in``."""
        return self.H_in or (self.P - 1) * self.stride + self.R - 2 * self.padding

    @property
    def W(self) -> int:
        return self.W_in or (self.Q - 1) * self.stride + self.S - 2 * self.padding

    @property
    def is_depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.C == self.K

    @property
    def macs(self) -> int:
        """Multiply-accumulate positions (one weight applied to one input), batch included."""
        if self.op == "eltwise":
            return self.N * self.K * self.P * self.Q
        return self.N * self.K * self.P * self.Q * (self.C // self.groups) * self.R * self.S

    @property
    def weight_elems(self) -> int:
        if self.op == "eltwise":
            return 0
        return self.K * (self.C // self.groups) * self.R * self.S

    @property
    def input_elems(self) -> int:
        n_inputs = 2 if self.op == "eltwise" else 1
        return n_inputs * self.N * self.C * self.H * self.W

    @property
    def output_elems(self) -> int:
        return self.N * self.K * self.P * self.Q

    def op_counts(self) -> dict:
        """Exact counts of multiplications, additions and shifts (see the module docstring)."""
        m = self.macs
        if self.op == "mult":
            return {"mult": m, "add": m, "shift": 0}
        if self.op == "shift":
            return {"mult": 0, "add": m, "shift": m}
        if self.op == "adder":
            return {"mult": 0, "add": 2 * m, "shift": 0}
        return {"mult": 0, "add": m, "shift": 0}

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LayerSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"LayerSpec: unknown field(s) {sorted(unknown)}; valid fields: {sorted(names)}")
        return cls(**d)


def total_op_counts(specs: Iterable[LayerSpec]) -> dict:
    """Sum of :meth:`LayerSpec.op_counts` over a network."""
    total = {"mult": 0, "add": 0, "shift": 0}
    for spec in specs:
        for key, value in spec.op_counts().items():
            total[key] += value
    return total


def save_specs(specs: Iterable[LayerSpec], path) -> None:
    with open(path, "w") as fh:
        json.dump([s.to_dict() for s in specs], fh, indent=1)


def load_specs(path) -> list[LayerSpec]:
    with open(path) as fh:
        return [LayerSpec.from_dict(d) for d in json.load(fh)]
