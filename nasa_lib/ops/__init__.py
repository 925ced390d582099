"""Hybrid operators: quantised convolution, DeepShift shift, AdderNet adder; blocks; registry."""
from .adder import Adder2d, adder2d
from .base import SliceableConv2d
from .blocks import HW_BITS, MBConvBlock, SkipBlock, conv_out_size
from .layers import AdderConv2d, ShiftAddConv2d, make_conv
from .quant import QConv2d, RunningRangeQuantizer, fake_quant_weight_per_channel
from .registry import OP_KINDS, OPS, OpConfig, build_block, get_op, op_layer_specs
from .shift import Shift2d, fixed_point, round_power_of_two

__all__ = [
    "Adder2d", "adder2d", "SliceableConv2d", "HW_BITS", "MBConvBlock", "SkipBlock", "conv_out_size",
    "AdderConv2d", "ShiftAddConv2d", "make_conv", "QConv2d", "RunningRangeQuantizer",
    "fake_quant_weight_per_channel", "OP_KINDS", "OPS", "OpConfig", "build_block", "get_op",
    "op_layer_specs", "Shift2d", "fixed_point", "round_power_of_two",
]
