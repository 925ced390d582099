"""DANCE's learned parts on a tiny problem: the evaluator learns held-out pairs, its fast path equals
its dense forward, gradients reach alpha and the generator, a large lambda ends on a cheaper
(network, accelerator) than lambda 0, the straight-through cost carries the exact value, and the
stage parameters fail with one line."""
import math

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import CombinedLoader
from torch.utils.data import DataLoader, TensorDataset

from nasa_lib.dance import (ASSUMPTIONS, CoExploreModule, CostTables, Evaluator, HardwareGenerator, arch_encoding,
                            generate_dataset, load_evaluator, mape, parse_design_space, save_evaluator,
                            train_evaluator)
from nasa_lib.dance.dataset import problem_meta
from nasa_lib.nas import build_trainer
from nasa_lib.nas.common import step_generator
from nasa_lib.space import FBNetLayout

TINY = FBNetLayout(width_mult=0.25, depth_mult=0.25, in_channels=1, input_size=8, num_classes=3)
# values listed largest first: with lambda = 0 nothing moves the generator off its first values
TINY_SPACE = """
name: tiny_eyeriss
template: eyeriss
base_accelerator: eyeriss_like
dimensions:
  pe_rows: {values: [16, 4], assumption: true, reason: test}
  pe_cols: {values: [16, 4], assumption: true, reason: test}
  register_file:
    values: [{ifmap_entries: 48, weight_entries: 112, psum_entries: 24}]
    source: NASA-F
  global_buffer_kb: {values: [128, 16], assumption: true, reason: test}
  dataflow: {values: [RS, WS], source: nasa_lib.hw}
reference_design:
  pe_rows: 16
  pe_cols: 16
  register_file: {ifmap_entries: 48, weight_entries: 112, psum_entries: 24}
  global_buffer_kb: 128
  dataflow: RS
"""


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dance")
    ds = parse_design_space(TINY_SPACE, "tiny.yaml")
    tables = CostTables("OnlyConv", TINY, ds, workers=1)
    data = generate_dataset(tables, 300, 4, seed=0)
    pl.seed_everything(0)
    evaluator, report = train_evaluator(data, ds, tmp / "ev", hidden=48, depth=2, epochs=25, batch_size=64, lr=1e-2)
    return tables, data, evaluator, report, tmp


def loader(seed, n=24):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    return DataLoader(TensorDataset(x, (x.mean((1, 2, 3)) > 0).long()), batch_size=8)


def make_module(problem, **kw):
    tables, _, evaluator, _, _ = problem
    defaults = dict(tables=tables, evaluator=evaluator, evaluator_meta=problem_meta(tables), cost="edap", lam=1.0,
                    arch_lr=0.1, generator_lr=0.1)
    return CoExploreModule("OnlyConv", TINY.to_dict(), 3, **{**defaults, **kw})


def test_evaluator_learns_held_out_pairs(problem):
    tables, data, evaluator, report, tmp = problem
    test = report["mape_percent"]["test"]
    rows = data.rows("test")
    log_true = np.log(data.metrics[rows])
    constant = mape(np.broadcast_to(np.log(data.metrics[data.rows("train")]).mean(0), log_true.shape),
                    data.metrics[rows])
    for m in ("latency_ms", "energy_uj", "area_mm2"):
        assert test[m] < 10.0, (m, test)
        assert test[m] < constant[m] / 3, (m, test[m], constant[m])
    assert report["best_epoch"] is not None and report["rows"]["test"] == len(rows)
    save_evaluator(tmp / "ev.pt", evaluator, problem_meta(tables), report)
    back, meta, rep = load_evaluator(tmp / "ev.pt")
    assert meta["space"] == "OnlyConv" and rep["mape_percent"] == report["mape_percent"]
    a = torch.from_numpy(arch_encoding(tables.candidates, data.archs[:5]))
    d = torch.from_numpy(tables.ds.encode(data.designs[:5]))
    assert torch.equal(back.log_metrics(a, d), evaluator.log_metrics(a, d))


def test_fast_index_path_equals_the_dense_forward(problem):
    tables, data, evaluator, _, _ = problem
    offsets = np.cumsum([0] + [len(c) for c in tables.candidates[:-1]])
    a = torch.from_numpy(arch_encoding(tables.candidates, data.archs[:64]))
    d = torch.from_numpy(tables.ds.encode(data.designs[:64]))
    with torch.no_grad():
        dense = evaluator.log_metrics(a, d)
    fast = evaluator.predict_indices(data.archs[:64], offsets, d)
    assert torch.allclose(fast, dense, atol=1e-5)


def test_gradients_reach_alpha_and_the_generator(problem):
    module = make_module(problem, lam=5.0)
    weights, _ = module.sample(step_generator(0, 0, salt=2))
    cost = module.expected_cost(weights)
    cost.backward()
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in module.alphas)
    gen = list(module.generator.parameters())
    assert all(p.grad is not None for p in gen) and sum(float(p.grad.abs().sum()) for p in gen) > 0
    assert all(p.grad is None for p in module.evaluator.parameters())      # the evaluator stays frozen
    assert all(p.grad is None for p in module.supernet.parameters())


def test_straight_through_cost_carries_the_exact_value(problem):
    for st in (True, False):
        for form in ("log", "linear"):
            module = make_module(problem, straight_through=st, cost_form=form)
            weights, _ = module.sample(step_generator(0, 0, salt=2))
            term = float(module.expected_cost(weights).detach())
            # the same draws again (same seed and step): the sampled network and accelerator
            design_w = module.sample_design(step_generator(0, 0, salt=3))
            arch = [int(w.argmax()) for w in weights]
            design = [int(w.argmax()) for w in design_w]
            ref = math.exp(float(module.log_ref))
            exact = module.exact_cost(arch, design) / ref
            onehots = [torch.nn.functional.one_hot(torch.tensor(i), len(w)).float() for i, w in zip(arch, weights)]
            with torch.no_grad():
                pred = math.exp(float(module.predicted_log_cost(onehots, design_w)))
            value = exact if st else pred
            assert term == pytest.approx(math.log(value) if form == "log" else value, rel=1e-5, abs=1e-6)
            # the evaluator reads the sampled one-hot network: its prediction is close to the exact cost
            assert pred == pytest.approx(exact, rel=0.25)


def test_fixed_design_has_no_generator_and_keeps_its_design(problem):
    tables = problem[0]
    module = make_module(problem, fixed_design=tables.ds.reference_index)
    assert module.generator is None
    assert module.derived_design() == list(tables.ds.reference_index)
    with pytest.raises(ValueError, match="CoExploreModule sets hw_weight itself"):
        make_module(problem, hw_weight=1.0)
    with pytest.raises(ValueError, match="lam=-1 is not valid"):
        make_module(problem, lam=-1)
    with pytest.raises(ValueError, match="cost_form='square' is not valid; valid values: log, linear"):
        make_module(problem, cost_form="square")


def _search(problem, lam, tmp):
    pl.seed_everything(0)
    module = make_module(problem, lam=lam)
    trainer = build_trainer(tmp, "coexplore", 3)
    trainer.fit(module, train_dataloaders=CombinedLoader({"weight": loader(1), "arch": loader(2)}, "max_size_cycle"),
                val_dataloaders=loader(3))
    return module


def test_a_large_lambda_ends_cheaper_than_lambda_zero(problem, tmp_path):
    free = _search(problem, 0.0, tmp_path / "free")
    costly = _search(problem, 30.0, tmp_path / "costly")
    a, b = free.derived_pair(), costly.derived_pair()
    assert b["exact"]["edap"] < a["exact"]["edap"] / 2, (a, b)
    assert len(costly.history) == 3 and "design" in costly.history[-1]
    assert costly.history[-1]["derived_cost"] == pytest.approx(b["cost_value"])


def test_generator_starts_uniform_and_samples_one_hots():
    gen = HardwareGenerator(10, [3, 2], hidden=8)
    probs = gen.probabilities(torch.rand(10))
    assert probs == [[pytest.approx(1 / 3)] * 3, [0.5, 0.5]]
    sample = gen.sample(torch.rand(10), 1.0, torch.Generator().manual_seed(0))
    assert [s.shape[-1] for s in sample] == [3, 2] and all(float(s.detach().sum()) == 1.0 for s in sample)


def test_every_assumption_has_a_known_status():
    # the DANCE stages' parameters are checked with every other one: tests/test_params.py
    assert {"recalled", "ours", "confirmed"} == {a["status"] for a in ASSUMPTIONS.values()}


def test_evaluator_rejects_another_problem(problem):
    tables, _, evaluator, _, _ = problem
    other = CostTables("Hybrid-Shift", TINY, tables.ds, workers=1)
    with pytest.raises(ValueError, match="tables were built for another search space"):
        make_module(problem, tables=other)
    with pytest.raises(ValueError, match="the evaluator was made for another"):
        CoExploreModule("Hybrid-Shift", TINY.to_dict(), 1, tables=other, evaluator=Evaluator(116, 12),
                        evaluator_meta=problem_meta(tables))


def test_evaluator_training_is_deterministic_for_a_seed(problem, tmp_path):
    tables, data, evaluator, report, _ = problem
    pl.seed_everything(0)
    again, report2 = train_evaluator(data, tables.ds, tmp_path / "ev", hidden=48, depth=2, epochs=25, batch_size=64,
                                     lr=1e-2)
    assert report2["mape_percent"] == report["mape_percent"]
    for (k, a), (_, b) in zip(evaluator.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k
