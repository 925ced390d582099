"""Search spaces, the weight-sharing supernet, child networks, baselines and layer specs."""
import json

import pytest
import torch

from nasa_lib.layerspec import total_op_counts
from nasa_lib.ops import get_op
from nasa_lib.space.supernet import WEIGHT_SHARING
from nasa_lib.space import (SPACES, ChildNet, FBNetLayout, Supernet, arch_layer_specs, baseline_arch,
                            candidate_layer_specs, get_space, layer_candidates, load_arch, save_arch)

TINY = FBNetLayout(width_mult=0.25, depth_mult=0.25, in_channels=1, input_size=12, num_classes=5)
ALL_SPACES = sorted(SPACES)


def test_cifar_layout_matches_the_paper():
    layout = FBNetLayout.cifar()
    slots = layout.slots()
    assert len(slots) == 22
    assert [s.out_channels for s in slots] == [16] + [24] * 4 + [32] * 4 + [64] * 4 + [112] * 4 + [184] * 4 + [352]
    assert [s.stride for s in slots if s.stride == 2] == [2, 2, 2]
    assert [slots[i].in_size for i in (0, 5, 9, 17, 21)] == [32, 32, 16, 8, 4]
    specs = arch_layer_specs(baseline_arch("all-conv", layout), layout)
    assert specs[0].name == "stem" and specs[-1].name == "classifier" and specs[-2].K == 1504
    assert sum(s.name.endswith(("pw1", "dw", "pw2")) for s in specs) == 66  # 22 blocks x 3 layers


@pytest.mark.parametrize("space,size", [("OnlyConv", 9), ("Hybrid-Shift", 13), ("Hybrid-Adder", 13),
                                        ("Hybrid-All", 19), ("Hybrid-ShiftAdd", 13), ("MultFree", 17),
                                        ("MultFree-ShiftAdd", 9)])
def test_space_sizes(space, size):
    assert len(get_space(space)) == size


@pytest.mark.parametrize("alias,name", [("AddShift", "Hybrid-Shift"), ("AddAdd", "Hybrid-Adder"),
                                        ("AddAll", "Hybrid-All"), ("NoConv", "MultFree"), ("addall", "Hybrid-All")])
def test_nasa_code_names_are_aliases(alias, name):
    assert get_space(alias) == get_space(name)


def test_unknown_space_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"search space 'Hybrid-Foo' is not known; valid spaces: OnlyConv, .*Hybrid-All"):
        get_space("Hybrid-Foo")


def test_no_adders_in_first_and_last_three_layers():
    cands = layer_candidates("Hybrid-All", 22)
    for i, allowed in enumerate(cands):
        has_adder = any(get_op(o).kind in ("adder", "shiftadd") for o in allowed)
        assert has_adder == (3 <= i < 19)
    assert all(len(c) == 19 for c in layer_candidates("Hybrid-All", 22, adder_free_ends=0))


@pytest.mark.parametrize("space", ALL_SPACES)
def test_supernet_modes_run_and_child_copies_supernet_path(space):
    torch.manual_seed(0)
    net = Supernet(space, TINY)
    x = torch.randn(3, 1, 12, 12)
    # soft: every candidate mixed by weights; gradients reach the weights
    weights = [torch.softmax(torch.randn(len(c)), 0).requires_grad_() for c in net.candidates]
    out = net(x, weights=weights)
    assert out.shape == (3, 5)
    out.square().sum().backward()
    assert all(w.grad is not None and torch.isfinite(w.grad).all() for w in weights)
    # full width (PGP's first half) runs too
    assert net(x, active=net.sample_active(n_paths=2), full_width=True).shape == (3, 5)
    # a child built from a sampled path reproduces the supernet's output on that path
    net.eval()
    active = net.sample_active(generator=torch.Generator().manual_seed(1))
    arch = [net.candidates[i][a[0]] for i, a in enumerate(active)]
    child = net.export_child(arch).eval()
    with torch.no_grad():
        assert torch.allclose(child(x), net(x, active=active), atol=1e-5)
    assert sum(p.numel() for p in child.parameters()) < sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("space", ["Hybrid-All", "OnlyConv"])
@pytest.mark.parametrize("sharing", WEIGHT_SHARING)
def test_every_candidate_child_computes_its_supernet_path(sharing, space):
    """For each candidate of a hybrid layer: the child built from it (weights copied out of the
    supernet) gives the supernet path's output, in either weight-sharing mode."""
    torch.manual_seed(0)
    layout = FBNetLayout(width_mult=0.25, depth_mult=0.5, in_channels=1, input_size=12)
    net = Supernet(space, layout, adder_free_ends=0, weight_sharing=sharing)
    for layer in net.layers:   # residual blocks start as the identity; make them compute
        for block in layer.shared.values():
            torch.nn.init.normal_(block.bn3.weight)
    net.eval()
    x = torch.randn(2, 1, 12, 12)
    for j, op in enumerate(net.candidates[1]):
        active = [[c.index(op)] if op in c else [0] for c in net.candidates]
        arch = [c[a[0]] for c, a in zip(net.candidates, active)]
        child = net.export_child(arch).eval()
        with torch.no_grad():
            assert torch.allclose(child(x), net(x, active=active), atol=1e-4), op


def test_elastic_views_are_the_smaller_convolutions():
    """A k3 view is the convolution with the centre taps; a g2 view of a dense 1x1 layer is the
    grouped convolution whose weights are the diagonal blocks (= the dense one with the
    off-diagonal blocks zeroed)."""
    torch.manual_seed(0)
    from nasa_lib.ops.quant import QConv2d
    dw = QConv2d(8, 8, 5, 1, 2, groups=8)
    x = torch.randn(2, 8, 7, 7)
    expected = torch.nn.functional.conv2d(x, dw.weight[:, :, 1:4, 1:4], None, 1, 1, 1, 8)
    assert torch.allclose(dw(x, kernel=3), expected, atol=1e-6)
    pw = QConv2d(8, 6, 1, 1, 0)
    mask = torch.zeros(6, 8, 1, 1)
    mask[:3, :4] = 1
    mask[3:, 4:] = 1
    dense_masked = torch.nn.functional.conv2d(x, pw.weight * mask)
    assert torch.allclose(pw(x, groups=2), dense_masked, atol=1e-6)
    with pytest.raises(ValueError, match="kernel=4 is not valid"):
        dw(x, kernel=4)


def test_elastic_sharing_has_one_block_per_kind():
    net = Supernet("Hybrid-All", TINY, adder_free_ends=0)
    for layer in net.layers:
        kinds = {c.kind for c in layer.configs if c.kind != "skip"}
        assert sorted(layer.shared) == sorted(kinds)
        assert layer.block_for("shift_k3_e1") is layer.block_for("shift_k5_e6")
    only_conv = Supernet("OnlyConv", TINY)
    assert all(layer.block_for("k3_e1_g2") is layer.block_for("k5_e6") for layer in only_conv.layers)


def test_e1_candidate_uses_a_slice_of_the_shared_e6_block():
    torch.manual_seed(0)
    net = Supernet("OnlyConv", TINY, weight_sharing="channels").eval()
    layer = net.layers[1]
    e6 = layer.block_for("k3_e6")
    assert layer.block_for("k3_e1") is e6 and layer.block_for("k3_e3") is e6
    assert layer.block_for("k3_e1_g2") is not e6
    torch.nn.init.ones_(e6.bn3.weight)  # residual blocks start as the identity; make this one compute
    x = torch.randn(2, layer.slot.in_channels, 6, 6)
    i1 = layer.candidates.index("k3_e1")
    y1 = layer.run_op(i1, x)
    with torch.no_grad():
        e6.pw1.weight[layer.slot.in_channels * 1:] += 1.0  # channels beyond e1's slice
    assert torch.equal(layer.run_op(i1, x), y1)
    assert not torch.equal(layer.run_op(i1, x, full_width=True), y1)


def test_sample_active_respects_kinds():
    net = Supernet("Hybrid-All", FBNetLayout(width_mult=0.25, depth_mult=0.5, in_channels=1, input_size=12))
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        for layer, act in zip(net.layers, net.sample_active(("adder",), n_paths=2, generator=g)):
            kinds = {layer.kind_of(i) for i in act}
            assert kinds == {"adder"} or not any(layer.kind_of(i) == "adder" for i in range(len(layer.candidates)))
            assert len(set(act)) == len(act) == 2


def test_parameters_by_kind_partition_all_parameters():
    net = Supernet("Hybrid-All", TINY)
    groups = net.parameters_by_kind()
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids)) == len(list(net.parameters()))
    assert {"backbone", "mult", "shift", "adder"} <= set(groups)


@pytest.mark.parametrize("name", ["all-conv", "all-shift", "all-adder", "shift-adder", "FBNet", "AdderNet"])
def test_baselines_build_and_run(name):
    arch = baseline_arch(name, TINY)
    net = ChildNet(arch, TINY)
    assert net(torch.randn(2, 1, 12, 12)).shape == (2, 5)


def test_hybrid_has_fewer_multiplications_than_all_conv():
    layout = FBNetLayout.cifar()
    conv = total_op_counts(arch_layer_specs(baseline_arch("all-conv", layout), layout))
    adder = total_op_counts(arch_layer_specs(baseline_arch("all-adder", layout), layout))
    # only the stem (16*3*3*3 * 32*32), header (1504*352 * 4*4) and classifier (10*1504) multiply
    assert adder["mult"] == 442_368 + 8_470_528 + 15_040
    assert adder["add"] > conv["add"]


def test_arch_json_round_trip(tmp_path):
    arch = baseline_arch("all-shift", TINY)
    save_arch(tmp_path / "arch.json", arch, TINY, space="Hybrid-Shift", val_acc=0.5)
    arch2, layout2, doc = load_arch(tmp_path / "arch.json")
    assert arch2 == arch and layout2 == TINY and doc["meta"]["val_acc"] == 0.5
    json.loads((tmp_path / "arch.json").read_text())


def test_bad_archs_are_rejected():
    with pytest.raises(ValueError, match="expected 7, got 2"):
        ChildNet(["k3_e6", "skip"], TINY)
    arch = ["add_k3_e1"] * TINY.num_layers
    with pytest.raises(ValueError, match="is not allowed in space"):
        save_arch("/dev/null", arch, TINY, space="OnlyConv")


def test_candidate_specs_cover_every_allowed_op():
    table = candidate_layer_specs("Hybrid-All", TINY)
    assert len(table) == TINY.num_layers
    for allowed, entry in zip(layer_candidates("Hybrid-All", TINY.num_layers), table):
        assert list(entry) == allowed
    child = ChildNet(baseline_arch("all-conv", TINY), TINY)
    assert child.layer_specs() == arch_layer_specs(child.arch, TINY)


# ---- multi-path calls share the expand and depthwise stages (issue 19) ------------------------------
def _unshared_forward(net, x, weights=None, active=None, full_width=False):
    """The supernet's forward as it was before stage sharing: every candidate through run_op, mixed."""
    x = net.forward_stem(x)
    for li, layer in enumerate(net.layers):
        indices = range(len(layer.candidates)) if active is None else active[li]
        out = None
        for i in indices:
            y = layer.run_op(i, x, full_width)
            y = y / len(indices) if weights is None else y * weights[li][i]
            out = y if out is None else out + y
        x = out
    return net.forward_head(x)


def _sharing_net(space, sharing, adder_eta="keep"):
    torch.manual_seed(0)
    layout = FBNetLayout(width_mult=0.25, depth_mult=0.5, in_channels=1, input_size=8, num_classes=5)
    net = Supernet(space, layout, adder_free_ends=0, weight_sharing=sharing).double()
    for layer in net.layers:
        for block in layer.shared.values():
            torch.nn.init.normal_(block.bn3.weight)  # residual blocks start as the identity
            if adder_eta != "keep":
                for m in block.modules():
                    if getattr(m, "kind", None) == "adder" and hasattr(m, "eta"):
                        m.eta = adder_eta
    return net


def _outputs_and_grads(net, forward, x, weights, active, full_width):
    out = forward(x, weights, active, full_width)
    target = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    params = list(net.parameters())
    mixing = [w for w in weights if w is not None] if weights is not None else []
    grads = torch.autograd.grad((out * target).sum(), params + mixing, allow_unused=True)
    return out, grads


def _assert_close(a, b, what):
    if a is None or b is None:
        assert a is None and b is None, what
        return
    scale = max(b.abs().max().item(), 1.0)  # relative for large values, absolute for small ones
    err = (a - b).abs().max().item() / scale
    assert err < 1e-10, f"{what}: relative error {err:.2e}"


@pytest.mark.parametrize("space,sharing,adder_eta", [
    ("Hybrid-All", "elastic", "keep"), ("Hybrid-All", "elastic_kinds", "keep"),
    ("Hybrid-All", "channels", "keep"), ("Hybrid-All", "elastic", None), ("OnlyConv", "elastic", "keep"),
    ("OnlyConv", "channels", "keep"), ("MultFree", "elastic", "keep")])
@pytest.mark.parametrize("mode", ["soft", "hard", "full_width"])
def test_multi_path_calls_share_stages_with_the_same_outputs_and_gradients(space, sharing, adder_eta, mode):
    """Soft mode (all candidates), multi-path hard mode and full-width calls: the stage-sharing
    forward gives the outputs and the gradients of every parameter and mixing weight of running
    each candidate on its own (float64, to 1e-10)."""
    net = _sharing_net(space, sharing, adder_eta)
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    wgen = torch.Generator().manual_seed(2)
    weights = [torch.softmax(torch.randn(len(c), generator=wgen, dtype=torch.float64), 0).requires_grad_()
               for c in net.candidates]
    active = None if mode == "soft" else net.sample_active(n_paths=4, generator=torch.Generator().manual_seed(3))
    if mode == "full_width":
        weights = None
    full_width = mode == "full_width"
    shared_fw = lambda *a: net(*a)  # noqa: E731
    unshared_fw = lambda *a: _unshared_forward(net, *a)  # noqa: E731
    out, grads = _outputs_and_grads(net, shared_fw, x, weights, active, full_width)
    ref, ref_grads = _outputs_and_grads(net, unshared_fw, x, weights, active, full_width)
    _assert_close(out, ref, "output")
    names = [n for n, _ in net.named_parameters()] + [f"mixing[{i}]" for i in range(len(weights or []))]
    assert len(grads) == len(ref_grads) == len(names)
    for name, g, r in zip(names, grads, ref_grads):
        _assert_close(g, r, name)


def test_shared_stages_run_each_expand_and_depthwise_once():
    """In a soft-mode call on an elastic Hybrid-All layer, the mult and shift blocks' pw1 run once
    (at e6) and their dw once per kernel; the adder block (per-call gradient rescale) runs every
    stage per candidate; every pw2 runs per candidate."""
    net = _sharing_net("Hybrid-All", "elastic")
    layer = net.layers[2]
    counts = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=name: counts.__setitem__(name, counts.get(name, 0) + 1))
             for name, m in layer.named_modules() if name.endswith(("pw1", "dw", "pw2"))]
    x = torch.randn(2, layer.slot.in_channels, 4, 4, dtype=torch.float64)
    layer(x, torch.full((len(layer.candidates),), 1.0 / len(layer.candidates), dtype=torch.float64))
    for h in hooks:
        h.remove()
    assert counts == {"shared.mult.pw1": 1, "shared.mult.dw": 2, "shared.mult.pw2": 6,
                      "shared.shift.pw1": 1, "shared.shift.dw": 2, "shared.shift.pw2": 6,
                      "shared.adder.pw1": 6, "shared.adder.dw": 6, "shared.adder.pw2": 6}
    net.eval()  # eval mode (BN running statistics), no autograd: the same outputs too
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        _assert_close(net(x), _unshared_forward(net, x), "eval-mode output")


@pytest.mark.parametrize("space,sharing", [("Hybrid-All", "elastic_kinds"), ("OnlyConv", "channels")])
def test_single_path_call_is_bitwise_run_op(space, sharing):
    net = _sharing_net(space, sharing)
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    for seed in range(3):
        active = net.sample_active(n_paths=1, generator=torch.Generator().manual_seed(seed))
        weights = [torch.rand(len(c), dtype=torch.float64) for c in net.candidates]
        for w, fw in ((None, False), (weights, False), (None, True)):
            with torch.no_grad():
                assert torch.equal(net(x, w, active, fw), _unshared_forward(net, x, w, active, fw))
