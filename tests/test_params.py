"""The parameter schema: every profile loads, and every way a params file can be wrong fails in one
line naming ``section.key`` and what is valid, before any work."""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from nasa_lib.stages import params as P
from nasa_lib.stages.profile import merged_text, overlays

REPO = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((REPO / "params.yaml").read_text())
PROFILES = sorted(p.stem for p in (REPO / "profiles").glob("*.yaml"))


def _error(doc, check=None) -> str:
    with pytest.raises(P.ParamsError) as err:
        P.parse_params(doc, check)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_the_embedded_default_loads_with_every_value_checked():
    params = P.load_params(REPO / "params.yaml")
    assert params.runs["Hybrid-All"].space == "Hybrid-All" and params.dance.lambdas == [0.1, 1.0]
    assert params.baselines == ("all-conv", "all-shift", "all-adder") and params.seeds == (0, 1, 2)
    assert params.sweep.runs == ("Hybrid-All",) and 0.0 in params.sweep.hw_weights and len(params.random.draws) >= 5


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_applies_as_an_overlay_and_loads(name):
    merged = yaml.safe_load(merged_text(name, REPO))
    params = P.parse_params(merged)
    # an overlay holds only what it changes: every key it names differs from params.yaml
    for overlay in overlays(name, REPO):
        for section, values in overlay.items():
            if isinstance(values, dict) and section not in ("runs", "dance_runs"):
                same = [k for k, v in values.items() if BASE[section][k] == v]
                assert not same, f"profiles/{name}.yaml repeats params.yaml's {section}.{same}"
    assert params.profile == merged["profile"] != BASE["profile"]


def test_cifar100_extends_cifar10_and_changes_only_the_data_set():
    c10 = yaml.safe_load(merged_text("cifar10", REPO))
    c100 = yaml.safe_load(merged_text("cifar100", REPO))
    diff = {(s, k) for s in c10 if isinstance(c10[s], dict) for k in c10[s] if c10[s][k] != c100[s].get(k)}
    assert diff == {("data", "dataset"), ("data", "data_dir")} and c100["profile"] == "paper-cifar100"


def test_no_field_has_a_default_and_params_yaml_holds_exactly_the_schema():
    for f in dataclasses.fields(P.Params):
        kind = f.metadata.get("section") or f.metadata.get("entries")
        for g in dataclasses.fields(kind) if kind else [f]:
            assert g.default is dataclasses.MISSING and g.default_factory is dataclasses.MISSING, g.name
    assert list(BASE) == list(P.SECTIONS)
    rows = P.describe_schema()
    assert len(rows) == len({r["key"] for r in rows}) and all(r["rule"] for r in rows)


def _set(path: str, value):
    doc = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    node[last] = value
    return doc


@pytest.mark.parametrize("path,value,message", [
    ("search.mode", "medium", "search.mode='medium' is not valid; valid values: soft, hard"),
    ("runs.Hybrid-All.space", "Hybrid-Foo", "runs.Hybrid-All.space='Hybrid-Foo' is not valid; valid values: OnlyConv, "),
    ("pretrain.epochs", 0, "pretrain.epochs=0 is not valid; it must be an integer >= 1"),
    ("pretrain.epochs", 2.5, "pretrain.epochs=2.5 is not valid; it must be an integer >= 1"),
    ("retrain.schedule", "linear", "retrain.schedule='linear' is not valid; valid values: cosine, step, constant"),
    ("data.dataset", "imagenet", "data.dataset='imagenet' is not valid; valid values: mnist5k, digits"),
    ("retrain.quantize", "yes", "retrain.quantize='yes' is not valid; valid values: true, false"),
    ("data.val_fraction", 1.5, "data.val_fraction=1.5 is not valid; it must be a number > 0 and <= 1 or null"),
    ("dance.cost", "flops", "dance.cost='flops' is not valid; valid values: latency, energy, edp, edap"),
    ("dance.lambdas", "1,-2", "dance.lambdas='1,-2' is not valid; it must be a comma-separated list of numbers >= 0"),
    ("dance_runs.chunk.design_space", "nope", "dance_runs.chunk.design_space='nope' is not valid; valid values: "
                                              "chunk_dance, eyeriss_dance, or a path"),
    ("dance_runs.chunk.pretrain_run", "Nope", "dance_runs.chunk.pretrain_run='Nope' is not valid; valid values: OnlyConv"),
    ("hw_mapping.objective", "area", "hw_mapping.objective='area' is not valid; valid values: edp, energy, latency"),
    ("hw_mapping.chunk_accelerator", "tpu", "hw_mapping.chunk_accelerator='tpu' is not valid; valid values: "
                                            "eyeriss_like, nasa_chunk, nasa_chunk_8bit, or a path"),
    ("baselines", ["all-conv", "all-mult"], "baselines[1]='all-mult' is not valid; valid values: all-conv, all-shift"),
    ("search.cost_band_lo", 1.0, "search.cost_band_lo and search.cost_band_hi must both be numbers or both null"),
    ("pretrain.mult_epochs", 25, "pretrain.mult_epochs + pretrain.adder_epochs must be <= pretrain.epochs=36"),
    ("common.precision", "8-true", "common.precision='8-true' is not valid; valid values: 32-true, 16-mixed"),
])
def test_a_bad_value_fails_in_one_line_naming_the_key_and_the_valid_values(path, value, message):
    assert _error(_set(path, value)).startswith(message)


def test_missing_and_unknown_keys_and_sections_fail_in_one_line():
    doc = copy.deepcopy(BASE)
    del doc["search"]["arch_lr"]
    assert _error(doc) == "search.arch_lr is missing from params.yaml (it must be a number > 0)"
    doc = _set("search.arch_lrr", 0.1)
    assert _error(doc).startswith("search.arch_lrr is not a parameter; valid keys of search: epochs, mode, act_num")
    doc = copy.deepcopy(BASE)
    del doc["dance"]
    assert _error(doc).startswith("dance is missing from params.yaml; sections: profile, common, data")
    doc = copy.deepcopy(BASE) | {"serch": {}}
    assert _error(doc).startswith("serch is not a section of params.yaml; valid sections: profile, common")
    doc = _set("runs.Extra", {"space": "OnlyConv"})
    assert _error(doc) == "runs.Extra.pgp is missing from params.yaml (valid values: true, false)"


def test_structure_is_always_checked_values_only_where_declared():
    doc = _set("dance.cost", "flops")
    params = P.parse_params(doc, check=["search", "runs.Hybrid-All"])       # a stage that never reads dance
    assert params.dance.cost == "flops" and params.search.mode == "hard"
    doc["search"]["bogus"] = 1
    assert _error(doc, check=["runs"]).startswith("search.bogus is not a parameter")
    assert _error(_set("retrain.lr", -1), check=["retrain.lr"]).startswith("retrain.lr=-1 is not valid")


def test_a_stage_reads_only_what_it_declares(tmp_path):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    p = P.stage_params(["common", "pretrain.epochs", "runs.Hybrid-All"], tmp_path / "params.yaml")
    assert p.common.seed == 0 and p.pretrain.epochs == 36 and list(p.runs) == ["Hybrid-All"]
    with pytest.raises(AttributeError, match="does not declare params section 'search'"):
        p.search
    with pytest.raises(AttributeError, match="does not declare pretrain.lr; declared: pretrain.epochs"):
        p.pretrain.lr


def test_a_malformed_params_file_fails_in_one_line(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("common: [unclosed\n")
    with pytest.raises(P.ParamsError, match="is not valid YAML") as err:
        P.load_params(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(P.ParamsError, match="is missing: run from the repository root"):
        P.load_params(tmp_path / "nowhere.yaml")
