"""The FBNet macro layout with width / depth multipliers (SOURCES.md [FBNet], [NASA-code] config_search.py).

CIFAR defaults: 22 searchable layers in stages of [1, 4, 4, 4, 4, 4, 1]; stage channels
[16, 24, 32, 64, 112, 184, 352]; stage strides [1, 1, 2, 2, 1, 2, 1] (on a stage's first layer
only); stem 3x3 conv 3 -> 16 (stride 1) + BN + ReLU; header 1x1 conv 352 -> 1504 + BN + ReLU;
global average pooling; linear classifier.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ..ops.blocks import conv_out_size


def round_channels(channels: float, divisor: int = 8, minimum: int = 8) -> int:
    """Round to a multiple of ``divisor`` (at least ``minimum``), never below 90% of the target."""
    rounded = max(minimum, int(channels + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * channels:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class LayerSlot:
    """One searchable layer position: its index, channels, stride and input size."""
    index: int
    in_channels: int
    out_channels: int
    stride: int
    in_size: int

    @property
    def out_size(self) -> int:
        # every candidate pads 'same' (k // 2), so the output size does not depend on the kernel
        return conv_out_size(self.in_size, 3, self.stride, 1)


@dataclass(frozen=True)
class FBNetLayout:
    stage_layers: tuple = (1, 4, 4, 4, 4, 4, 1)
    stage_channels: tuple = (16, 24, 32, 64, 112, 184, 352)
    stage_strides: tuple = (1, 1, 2, 2, 1, 2, 1)
    stem_channels: int = 16
    stem_stride: int = 1
    header_channels: int = 1504
    width_mult: float = 1.0
    depth_mult: float = 1.0
    in_channels: int = 3
    input_size: int = 32
    num_classes: int = 10
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = len(self.stage_layers)
        if not (len(self.stage_channels) == len(self.stage_strides) == n):
            raise ValueError("layout: stage_layers, stage_channels and stage_strides need the same length")
        if self.width_mult <= 0 or self.depth_mult <= 0:
            raise ValueError(f"layout: width_mult={self.width_mult} and depth_mult={self.depth_mult} must be > 0")
        for name in ("in_channels", "input_size", "num_classes", "stem_channels", "header_channels"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"layout: {name}={getattr(self, name)!r} must be a positive integer")
        if any(s not in (1, 2) for s in self.stage_strides) or self.stem_stride not in (1, 2):
            raise ValueError("layout: strides must be 1 or 2")

    @classmethod
    def cifar(cls, num_classes: int = 10, **overrides) -> "FBNetLayout":
        return cls(num_classes=num_classes, **overrides)

    @classmethod
    def from_dict(cls, d: dict) -> "FBNetLayout":
        d = dict(d)
        for key in ("stage_layers", "stage_channels", "stage_strides"):
            if key in d:
                d[key] = tuple(d[key])
        valid = set(cls.__dataclass_fields__)
        unknown = set(d) - valid
        if unknown:
            raise ValueError(f"layout: unknown field(s) {sorted(unknown)}; valid fields: {sorted(valid)}")
        return cls(**d)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    # ---- derived sizes -----------------------------------------------------------------
    def channels(self, c: int) -> int:
        return round_channels(c * self.width_mult)

    @property
    def stem_out(self) -> int:
        return self.channels(self.stem_channels)

    @property
    def header_out(self) -> int:
        return self.channels(self.header_channels)

    @property
    def stem_out_size(self) -> int:
        return conv_out_size(self.input_size, 3, self.stem_stride, 1)

    def depths(self) -> list[int]:
        return [max(1, math.ceil(n * self.depth_mult)) for n in self.stage_layers]

    def slots(self) -> list[LayerSlot]:
        slots, c_in, size = [], self.stem_out, self.stem_out_size
        for depth, c, s in zip(self.depths(), self.stage_channels, self.stage_strides):
            c_out = self.channels(c)
            for i in range(depth):
                stride = s if i == 0 else 1
                slot = LayerSlot(len(slots), c_in, c_out, stride, size)
                slots.append(slot)
                c_in, size = c_out, slot.out_size
        return slots

    @property
    def num_layers(self) -> int:
        return sum(self.depths())

    @property
    def final_size(self) -> int:
        return self.slots()[-1].out_size
