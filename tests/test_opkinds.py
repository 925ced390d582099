"""The op-kind table: every entry agrees with what the registry builds and the layer specs report,
the PGP phases partition the kinds, the report can name and colour every kind, and the places
that derive from the table keep today's values."""
import re

import pytest

from nasa_lib import opkinds
from nasa_lib.nas.common import FLOPS_COST_UNIT, FLOPS_DISCOUNT, flops_cost
from nasa_lib.nas.pretrain import PHASE_KINDS
from nasa_lib.opkinds import (CONV_TWIN_KIND, OP_KINDS, PGP_PHASES, OpKind, conv_twin, kind_of_op_name,
                              kinds_in_phase, op_kind)
from nasa_lib.ops import HW_BITS, OPS, build_block, get_op, op_layer_specs
from nasa_lib.ops.base import SliceableConv2d
from nasa_lib.ops.layers import CONV_LAYERS, make_conv
from nasa_lib.ops.registry import KIND_PREFIXES
from nasa_lib.report.report_figures import KIND_COLORS, KIND_NAMES
from nasa_lib.space import SPACES, layer_candidates

KINDS = list(OP_KINDS)
# (in, out, stride): the shape kept (residual add, identity skip) and the shape changed (no
# residual, skip's 1x1 projection)
SHAPES = [(8, 8, 1), (8, 16, 2)]


def ops_of(kind: str) -> list[str]:
    return [name for name, cfg in OPS.items() if cfg.kind == kind]


def leaf_layers(block):
    """The block's hardware layers in order: sliceable convolutions (a shift-then-adder
    convolution contributes its two parts)."""
    return [m for m in block.modules() if isinstance(m, SliceableConv2d)]


@pytest.mark.parametrize("kind", KINDS)
def test_registry_ops_build_blocks_whose_layers_report_the_kind(kind):
    entry = op_kind(kind)
    assert ops_of(kind), f"no registered op of kind {kind}"
    for op in ops_of(kind):
        for c_in, c_out, stride in SHAPES:
            block = build_block(op, c_in, c_out, stride)
            assert block.kind == kind
            layers = leaf_layers(block)
            if entry.mbconv:
                # pw1, dw, pw2: each a convolution of this kind, built by this kind's layer class
                for part in ("pw1", "dw", "pw2"):
                    conv = getattr(block, part)
                    assert type(conv) is CONV_LAYERS[kind] and conv.kind == kind
                assert [m.kind for m in layers] == list(entry.layer_ops) * 3
            elif block.is_identity:
                assert layers == []
            else:
                assert [m.kind for m in layers] == list(entry.layer_ops)
            assert all(m.bits_w == m.bits_a == entry.bits for m in layers), [(m.kind, m.bits_w) for m in layers]


@pytest.mark.parametrize("kind", KINDS)
def test_ops_carry_the_kind_prefix(kind):
    entry = op_kind(kind)
    ops = ops_of(kind)
    if entry.mbconv:
        # k3/k5 x {e1, e1_g2, e3, e6}
        assert sorted(ops) == sorted(f"{entry.prefix}k{k}_{e}" for k in (3, 5) for e in ("e1", "e1_g2", "e3", "e6"))
        assert KIND_PREFIXES[entry.prefix] == kind
    else:
        assert ops == [entry.prefix]
    for op in ops:
        assert kind_of_op_name(op) is entry


@pytest.mark.parametrize("kind", KINDS)
def test_flops_discount_and_bits_equal_what_the_layer_specs_report(kind):
    entry = op_kind(kind)
    for op in ops_of(kind):
        for c_in, c_out, stride in SHAPES:
            specs = op_layer_specs(op, c_in, c_out, stride, 8, 8)
            convs = [s for s in specs if s.op != "eltwise"]
            residual = [s for s in specs if s.op == "eltwise"]
            assert all(s.bits_w == s.bits_a == entry.bits for s in specs), [(s.name, s.op, s.bits_w) for s in specs]
            if entry.mbconv:
                assert [s.op for s in convs] == list(entry.layer_ops) * 3
                assert len(residual) == (c_in == c_out and stride == 1)
            elif convs:
                assert [s.op for s in convs] == list(entry.layer_ops)
            assert flops_cost(residual) == 0.0
            if entry.flops_discount is not None:
                assert flops_cost(specs) == pytest.approx(entry.flops_discount * sum(s.macs for s in convs), rel=1e-12)
            else:
                # a kind of several layer ops costs each layer at its own op's kind's discount
                expected = sum(s.macs * op_kind(s.op).flops_discount for s in convs)
                assert flops_cost(specs) == pytest.approx(expected, rel=1e-12)
            if convs:
                assert entry.mult_free == (not any(s.op == "mult" for s in convs))


@pytest.mark.parametrize("kind", KINDS)
def test_conv_twin_is_the_same_block_of_the_conv_kind(kind):
    entry = op_kind(kind)
    for op in ops_of(kind):
        twin = conv_twin(op)
        cfg, twin_cfg = get_op(op), get_op(twin)
        if entry.has_conv_twin:
            assert twin_cfg.kind == CONV_TWIN_KIND
            assert (twin_cfg.kernel, twin_cfg.expansion, twin_cfg.groups) == (cfg.kernel, cfg.expansion, cfg.groups)
        else:
            assert twin == op


@pytest.mark.parametrize("kind", KINDS)
def test_report_names_and_colours_the_kind(kind):
    entry = op_kind(kind)
    assert entry.label and entry.short_label
    assert re.fullmatch(r"#[0-9a-f]{6}", entry.color)
    assert KIND_COLORS[kind] == entry.color and KIND_NAMES[kind] == entry.label


def test_report_colours_and_labels_are_distinct():
    entries = list(OP_KINDS.values())
    assert len({k.color for k in entries}) == len(entries)
    assert len({k.label for k in entries}) == len(entries)
    assert len({k.short_label for k in entries}) == len(entries)


def kinds_with_adder_layers() -> set:
    """Kinds whose blocks' layer specs contain an adder layer (read from the specs, not the table)."""
    return {get_op(op).kind for op in OPS if any(s.op == "adder" for s in op_layer_specs(op, 8, 8, 1, 4, 4))}


def test_pgp_phases_cover_every_non_skip_kind_exactly_once():
    for kind in opkinds.mbconv_kinds():
        assert sum(kind in kinds_in_phase(phase) for phase in PGP_PHASES) == 1, kind
    # SOURCES.md [NASA-code] search.py: the adder phase trains the ops with adder layers, the mult phase the rest
    assert set(kinds_in_phase("adder")) == kinds_with_adder_layers()
    assert set(kinds_in_phase("mult")) == set(OP_KINDS) - kinds_with_adder_layers()
    for phase in PGP_PHASES:
        assert PHASE_KINDS[phase] == kinds_in_phase(phase)


@pytest.mark.parametrize("space", sorted(SPACES))
def test_adder_free_ends_keep_out_exactly_the_kinds_with_adder_layers(space):
    cands = layer_candidates(space, 10, 3)
    end, middle = {get_op(op).kind for op in cands[0]}, {get_op(op).kind for op in cands[5]}
    assert end == middle - kinds_with_adder_layers()


def test_derived_tables_keep_todays_values():
    # the places that derive from the table must still hold what they held when hand-spelled
    assert FLOPS_DISCOUNT == {"mult": 1.0, "shift": 1 / 8, "adder": 1 / 5, "eltwise": 0.0}
    assert list(FLOPS_DISCOUNT) == ["mult", "shift", "adder", "eltwise"]
    assert FLOPS_COST_UNIT == "MACs (shift x1/8, adder x1/5)"
    assert HW_BITS == {"mult": 8, "shift": 6, "adder": 6}
    assert KIND_PREFIXES == {"": "mult", "shift_": "shift", "add_": "adder", "shiftadd_": "shiftadd"}
    assert PHASE_KINDS == {"mult": ("mult", "shift", "skip"), "adder": ("adder", "shiftadd"), "mixed": None}
    assert KINDS == ["mult", "shift", "adder", "shiftadd", "skip"]


def test_a_kind_without_a_layer_class_fails_at_import(monkeypatch):
    import nasa_lib.ops.layers as layers
    monkeypatch.setattr(layers, "mbconv_kinds", lambda: opkinds.mbconv_kinds() + ("ternary",))
    with pytest.raises(RuntimeError, match=r"kinds without a layer class \['ternary'\]"):
        layers._layer_classes_by_kind()


def test_unknown_kinds_and_bad_entries_are_rejected():
    with pytest.raises(ValueError, match=r"op kind 'conv' is not known; valid kinds: mult, shift, adder, shiftadd, skip"):
        op_kind("conv")
    with pytest.raises(ValueError, match=r"kind='skip' is not valid; valid values: mult, shift, adder, shiftadd"):
        make_conv("skip", 8, 8, 3)
    with pytest.raises(ValueError, match="pgp_phase='mixed' is not valid"):
        OpKind("ternary", "t_", True, ("mult",), 2, 1.0, "mixed", False, True, "ternary", "ternary", "#000000")
    with pytest.raises(ValueError, match="flops_discount must be given exactly when"):
        OpKind("ternary", "t_", True, ("shift", "adder"), 2, 0.5, "mult", True, True, "ternary", "ternary", "#000000")
