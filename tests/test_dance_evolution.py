"""The non-differentiable co-exploration baseline (aging evolution over (network, accelerator) pairs)
on the tiny problem of test_dance_coexplore: a large lambda ends on a cheaper pair than lambda 0,
a seed gives one result, the budget is exactly its number of pair evaluations, a mutation changes
one position; and the report judges DANCE's time claim against it (TIMING.md) and shows it in the
matched cost comparison."""
import json
import math

import numpy as np
import pytest
import torch
from test_dance_coexplore import TINY, TINY_SPACE, loader
from test_report import _claims, _outputs, write_stage_outputs

from nasa_lib.dance import CostTables, EvolutionarySearch, parse_design_space, supernet_accuracy
from nasa_lib.dance.evolution import evolutionary_search, pair_fitness
from nasa_lib.report.claims import NOT_COMPARABLE, NOT_REPRODUCED, REPRODUCED, VerdictRules
from nasa_lib.report.inputs import load_timing
from nasa_lib.report.timing import dance_time_claim, timing_markdown
from nasa_lib.space import Supernet


@pytest.fixture(scope="module")
def tiny():
    ds = parse_design_space(TINY_SPACE, "tiny.yaml")
    tables = CostTables("OnlyConv", TINY, ds, workers=1)
    torch.manual_seed(0)
    net = Supernet("OnlyConv", TINY, 3)
    batches = list(loader(3))
    calls = []

    def score(archs):
        calls.append(len(archs))
        return supernet_accuracy(net, tables.candidates, archs, batches)

    designs = ds.enumerate()
    arch0 = np.zeros(len(tables.candidates), dtype=np.int64)
    ref = float(np.exp(np.log(tables.costs(arch0, designs)["edap"]).mean()))   # a geometric-mean reference
    return tables, score, calls, ref


def _run(tiny, lam, seed=0, evaluations=40, **kw):
    tables, score, _, ref = tiny
    return EvolutionarySearch(tables, score, lam=lam, ref=ref, cost="edap", evaluations=evaluations,
                              population=8, sample_size=3, seed=seed, **kw)


def test_a_large_lambda_ends_on_a_cheaper_pair_than_lambda_zero(tiny):
    free, costly = _run(tiny, 0.0).run(), _run(tiny, 5.0).run()
    assert costly["cost_value"] < free["cost_value"] / 2, (free, costly)
    # lambda 0: the fitness is the accuracy alone, and the result is the most accurate pair evaluated
    search = _run(tiny, 0.0)
    res = search.run()
    assert res["accuracy"] == max(r["accuracy"] for r in search.history)
    assert res["fitness"] == pytest.approx(res["accuracy"])
    # the result's metrics are the exact ones of its pair
    tables = tiny[0]
    exact = tables.costs(tables.arch_indices(costly["arch"]), np.asarray(costly["design_index"]))
    assert costly["exact"]["edap"] == pytest.approx(float(exact["edap"][0])) == pytest.approx(costly["cost_value"])


def test_same_seed_same_result(tiny):
    a, b = _run(tiny, 1.0, seed=3), _run(tiny, 1.0, seed=3)
    ra, rb = a.run(), b.run()
    ra.pop("seconds"), rb.pop("seconds")
    assert ra == rb and a.trace() == b.trace()
    other = _run(tiny, 1.0, seed=4)
    other.run()
    assert [r["arch"] for r in other.history] != [r["arch"] for r in a.history]


@pytest.mark.parametrize("budget", [1, 5, 8, 23])
def test_the_budget_is_exactly_its_number_of_pair_evaluations(tiny, budget):
    tables, _, calls, _ = tiny
    search = _run(tiny, 1.0, evaluations=budget)
    costed = []
    real = tables.costs

    class Counting:        # the tables, counting the exact cost lookups of the search
        def __getattr__(self, name):
            return getattr(tables, name)

        def costs(self, a, d):
            costed.append(1)
            return real(a, d)

    search.tables = Counting()
    calls.clear()
    orig_eval = search.evaluate
    evaluations = []
    search.evaluate = lambda a, d: (evaluations.append(1), orig_eval(a, d))[1]
    result = search.run()
    assert len(evaluations) == budget == len(search.history) == result["evaluations"]
    assert len(costed) == budget + 1          # one exact lookup per evaluation, and result() reads its answer
    # each network is scored once (the supernet's accuracy of a network does not change), never more than budget
    assert len(calls) == result["distinct_archs_scored"] <= budget
    with pytest.raises(RuntimeError, match="budget"):
        orig_eval(*search._random_pair(np.random.default_rng(0)))


def test_a_mutation_changes_exactly_one_position(tiny):
    search = _run(tiny, 1.0)
    rng = np.random.default_rng(0)
    for _ in range(200):
        arch, design = search._random_pair(rng)
        a2, d2 = search.mutate(arch, design, rng)
        changed = sum(x != y for x, y in zip(arch + design, a2 + d2))
        assert changed == 1
        assert all(0 <= v < n for v, n in zip(a2, search.arch_sizes)) and all(
            0 <= v < n for v, n in zip(d2, search.design_sizes))


def test_fitness_formula_and_bad_arguments(tiny):
    assert pair_fitness(0.8, 2.0, 0.5, 1.0) == pytest.approx(0.8 - 0.5 * math.log(2.0))
    assert pair_fitness(0.8, 2.0, 0.5, 1.0, "linear") == pytest.approx(0.8 - 0.5 * 2.0)
    assert pair_fitness(0.8, math.inf, 0.5, 1.0) == -math.inf
    with pytest.raises(ValueError, match="sample_size=9 is larger than population=8"):
        _run(tiny, 1.0, evaluations=10).__class__(tiny[0], tiny[1], lam=1.0, ref=1.0, population=8, sample_size=9)
    with pytest.raises(ValueError, match="evaluations=0 is not valid"):
        _run(tiny, 1.0, evaluations=0)
    result, trace = evolutionary_search(tiny[0], tiny[1], lam=1.0, ref=tiny[3], evaluations=6, population=3,
                                        sample_size=2, seed=0)
    assert len(trace) == 6 and trace[-1]["best_fitness"] == pytest.approx(result["fitness"])
    json.dumps(trace), json.dumps({k: v for k, v in result.items()})        # JSON-safe


# ---- the report ---------------------------------------------------------------------------------
def _with_evolution(root, evo_seconds, evo_acc=79.0, evo_edap=9.0):
    """The report fixture plus an evolutionary run per lambda (metrics and timing)."""
    m = root / "reports/metrics/dance/coexplore_chunk.json"
    doc = json.loads(m.read_text())
    for lam in (0.5, 2.0):
        evo = dict(next(r for r in doc["runs"] if r["method"] == "sequential" and r["lam"] == lam),
                   method="evolutionary", accuracy=evo_acc, edap=evo_edap, cost_value=evo_edap)
        ok = [r for r in doc["runs"] if r["method"] == "coexplore" and r["accuracy"] >= evo_acc - 0.5]
        co = min(ok, key=lambda r: r["edap"]) if ok else None
        evo["matched"] = {"evolutionary_lam": lam, "evolutionary_accuracy": evo_acc, "evolutionary": evo_edap,
                          "coexplore_lam": co and co["lam"], "coexplore_accuracy": co and co["accuracy"],
                          "coexplore": co and co["edap"], "ratio": co and co["edap"] / evo_edap, "key": "edap",
                          "tolerance_points": 0.5}
        doc["runs"].append(evo)
    m.write_text(json.dumps(doc))
    t = root / "reports/timing/dance/coexplore_chunk.json"
    tdoc = json.loads(t.read_text())
    tdoc["runs"] = [r for r in tdoc["runs"] if r["method"] != "evolutionary"] + [
        {"method": "evolutionary", "lam": lam, "search_seconds": evo_seconds, "hw_search_seconds": 0.0,
         "total_seconds": evo_seconds, "evaluations": 30} for lam in (0.5, 2.0)]
    t.write_text(json.dumps(tdoc))


def _time_claim(root):
    out = _outputs(root, dance=["chunk"])
    return dance_time_claim(out, load_timing(root / "reports/timing"), VerdictRules()), out


def test_claim_9_is_judged_against_the_evolutionary_time(tmp_path):
    write_stage_outputs(tmp_path)
    # co-exploration 10 s; sequential 12 s (faster than it) but the evolution 8 s: the verdict follows the evolution
    _with_evolution(tmp_path, 8.0)
    (verdict, reason, rows), out = _time_claim(tmp_path)
    assert verdict == NOT_REPRODUCED, reason
    assert "co-exploration 1.25x the time of evolutionary co-exploration (30 pair evaluations)" in reason
    assert "vs sequential: 16.7 % faster" in reason
    assert rows[0] == ["chunk", "0.5", "10", "n/a", "8", "30", "-25", "12", "16.67"]
    _with_evolution(tmp_path, 40.0)
    (verdict, reason, rows), out = _time_claim(tmp_path)
    assert verdict == REPRODUCED and "75 % faster than evolutionary" in reason
    md, _fig = timing_markdown(out, load_timing(tmp_path / "reports/timing"), VerdictRules())
    assert "| chunk | 2 | 10 | n/a | 40 | 30 | 75 | 12 | 16.67 |" in md
    # without an evolutionary run the time claim cannot be judged (sequential search is not its baseline)
    t = tmp_path / "reports/timing/dance/coexplore_chunk.json"
    tdoc = json.loads(t.read_text())
    tdoc["runs"] = [r for r in tdoc["runs"] if r["method"] != "evolutionary"]
    t.write_text(json.dumps(tdoc))
    (verdict, reason, _), _ = _time_claim(tmp_path)
    assert verdict == NOT_COMPARABLE and "no evolutionary (non-differentiable) co-exploration was timed" in reason


def test_claim_8_shows_co_exploration_against_the_evolution_too(tmp_path):
    write_stage_outputs(tmp_path)
    _with_evolution(tmp_path, 20.0, evo_acc=79.0, evo_edap=9.0)
    cost = _claims(_outputs(tmp_path, dance=["chunk"]))["coexplore_beats_sequential_cost"]
    groups = {i.group for i in cost.items}
    assert {"chunk, sequential lambda 0.5", "chunk, evolutionary co-exploration lambda 2"} <= groups
    evo = {i.label: i.value for i in cost.items if i.group == "chunk, evolutionary co-exploration lambda 0.5"}
    # evolution 79 %, EDAP 9; co-exploration at >= 78.5 %: lambda 0.5 (80.2 %, EDAP 6): 33.3 % cheaper
    assert evo["evolutionary co-exploration accuracy"] == 79.0 and evo["EDAP reduction"] == pytest.approx(100 / 3)
    assert evo["accuracy gain"] == pytest.approx(1.2)
    assert cost.verdict == REPRODUCED
    # an evolution as accurate and cheaper than every co-exploration result: the claim does not hold against it
    write_stage_outputs(tmp_path)
    _with_evolution(tmp_path, 20.0, evo_acc=81.0, evo_edap=4.0)
    cost = _claims(_outputs(tmp_path, dance=["chunk"]))["coexplore_beats_sequential_cost"]
    assert cost.verdict == NOT_REPRODUCED
    assert "evolutionary co-exploration lambda 0.5: no co-exploration result at matched accuracy" in cost.reason
