"""Accelerator design spaces as data: YAML files validated on load, design points, encodings.

A design space is a set of named dimensions, each a list of values, over an accelerator
*template* built from one of the accelerators of :mod:`nasa_lib.hw` (its unit energies, areas,
clock and bandwidths stay fixed; the dimensions change its resources):

* ``eyeriss``: DANCE's Eyeriss-like template (ASSUMPTIONS ``design_space_eyeriss``): one
  multiplier array of ``pe_rows x pe_cols`` PEs, a per-PE ``register_file`` (ifmap / weight /
  psum entries), a ``global_buffer_kb`` and one ``dataflow``.
* ``chunk``: NASA's chunk-based accelerator under its fixed PE budget: a ``pe_split`` of the
  budget among the chunks, a ``global_buffer_kb`` and a ``dataflow_<chunk>`` per chunk.

A design point is a vector of value indices, one per dimension (``numpy`` int64).  The file
format (see ``design_spaces/*.yaml``); every dimension says where its values come from, like the
accelerator files::

    name: eyeriss_dance
    template: eyeriss
    base_accelerator: eyeriss_like
    mapping_objective: edp          # the mapper's per-layer objective (edp | energy | latency)
    buffer_units: 8                 # buffer split granularity (nasa_lib.hw.map_network)
    dimensions:
      pe_rows: {values: [8, 12, 16], assumption: true, reason: "..."}
      ...
    reference_design: {pe_rows: 12, ...}   # the fixed accelerator of the sequential baseline

A malformed file raises ``ValueError`` with one line naming the file and the field, e.g.
``bad.yaml: dimensions.pe_rows.values[1] must be a positive integer, got -4``.

Hardware-model limitation (noted in ASSUMPTIONS ``pe_array_shape``): ``nasa_lib.hw`` models a flat
pool of PEs, so rows and columns enter the costs only through their product (and the area).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..hw import DATAFLOW_NAMES, Accelerator, load_accelerator
from ..hw.mapper import OBJECTIVES

DESIGN_SPACE_DIR = Path(__file__).resolve().parent / "design_spaces"
TEMPLATES = ("eyeriss", "chunk")
RF_FIELDS = ("ifmap_entries", "weight_entries", "psum_entries")


@dataclass(frozen=True)
class Dimension:
    """One design dimension: its values and the numeric features that encode them."""
    name: str
    values: tuple
    features: tuple = ()       # per value, a tuple of numeric features (min-max normalised)
    provenance: str = ""

    def __len__(self) -> int:
        return len(self.values)

    def index(self, value) -> int:
        for i, v in enumerate(self.values):
            if v == value:
                return i
        raise ValueError(f"design dimension {self.name}: {value!r} is not one of its values "
                         f"{[_show(v) for v in self.values]}")


def _show(value):
    return dict(value) if isinstance(value, tuple) and value and isinstance(value[0], tuple) else value


@dataclass(frozen=True)
class DesignSpace:
    """A validated design space (see the module docstring)."""
    name: str
    template: str
    base: Accelerator
    dimensions: tuple
    mapping_objective: str
    buffer_units: int
    reference: tuple
    description: str = ""
    source_file: str = field(default="", compare=False)

    # ---- look-ups ------------------------------------------------------------------------
    @property
    def names(self) -> tuple:
        return tuple(d.name for d in self.dimensions)

    def dim(self, name: str) -> Dimension:
        for d in self.dimensions:
            if d.name == name:
                return d
        raise ValueError(f"dimension={name!r} is not a dimension of {self.name}; valid: {', '.join(self.names)}")

    @property
    def chunk_names(self) -> tuple:
        return self.base.chunk_names

    @property
    def size(self) -> int:
        return math.prod(len(d) for d in self.dimensions)

    @property
    def cardinalities(self) -> tuple:
        return tuple(len(d) for d in self.dimensions)

    # ---- design points -------------------------------------------------------------------
    def check_points(self, points) -> np.ndarray:
        pts = np.asarray(points, dtype=np.int64)
        if pts.ndim == 1:
            pts = pts[None]
        if pts.ndim != 2 or pts.shape[1] != len(self.dimensions):
            raise ValueError(f"design points must have {len(self.dimensions)} indices ({', '.join(self.names)}), "
                             f"got shape {tuple(np.shape(points))}")
        card = np.asarray(self.cardinalities)
        bad = (pts < 0) | (pts >= card)
        if bad.any():
            j = int(np.nonzero(bad.any(0))[0][0])
            raise ValueError(f"design index for {self.names[j]} must be in [0, {card[j] - 1}]")
        return pts

    def enumerate(self) -> np.ndarray:
        """Every design point, one row each (row-major over the dimensions)."""
        grids = np.meshgrid(*[np.arange(len(d)) for d in self.dimensions], indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` design points drawn uniformly and independently per dimension."""
        return np.stack([rng.integers(0, len(d), n) for d in self.dimensions], axis=1).astype(np.int64)

    def point(self, index) -> dict:
        """The design point as ``{dimension: value}`` (register files and PE splits as dicts)."""
        idx = self.check_points(index)[0]
        return {d.name: _show(d.values[i]) for d, i in zip(self.dimensions, idx)}

    def index_of(self, point: dict) -> np.ndarray:
        missing = [n for n in self.names if n not in point]
        if missing:
            raise ValueError(f"design point lacks dimension(s) {missing}; dimensions: {', '.join(self.names)}")
        return np.asarray([d.index(self._as_value(d, point[d.name])) for d in self.dimensions], dtype=np.int64)

    def _as_value(self, d: Dimension, value):
        """A dict value (register file, PE split) as the dimension stores it: pairs in a fixed key order."""
        if not isinstance(value, dict):
            return value
        keys = RF_FIELDS if d.name == "register_file" else self.chunk_names
        return tuple((k, value.get(k)) for k in keys)

    @property
    def reference_index(self) -> np.ndarray:
        return np.asarray(self.reference, dtype=np.int64)

    # ---- resources of a design point -----------------------------------------------------
    def resources(self, index) -> dict:
        """PEs per chunk, global buffer bytes, dataflow per chunk and register-file entries."""
        p = self.point(index)
        if self.template == "eyeriss":
            (chunk,) = self.chunk_names
            rf = p["register_file"]
            return {"pes": {chunk: p["pe_rows"] * p["pe_cols"]}, "gb_bytes": int(round(p["global_buffer_kb"] * 1024)),
                    "dataflow": {chunk: p["dataflow"]}, "rf": tuple(rf[k] for k in RF_FIELDS)}
        return {"pes": dict(p["pe_split"]), "gb_bytes": int(round(p["global_buffer_kb"] * 1024)),
                "dataflow": {c: p[f"dataflow_{c}"] for c in self.chunk_names},
                "rf": (self.base.rf_ifmap_entries, self.base.rf_weight_entries, self.base.rf_psum_entries)}

    def accelerator(self, index) -> tuple:
        """(Accelerator, pe_split dict, dataflow dict) of a design point, for ``nasa_lib.hw``."""
        r = self.resources(index)
        accel = self.base.replace(pe_budget=sum(r["pes"].values()), gb_bytes=r["gb_bytes"],
                                  rf_ifmap_entries=r["rf"][0], rf_weight_entries=r["rf"][1],
                                  rf_psum_entries=r["rf"][2], name=f"{self.base.name}@{self.name}")
        return accel, r["pes"], r["dataflow"]

    def area_mm2(self, points) -> np.ndarray:
        """Area of every design point (PEs with their register files + global buffer), mm^2; the
        same formula as ``nasa_lib.hw.map_network``'s area."""
        pts = self.check_points(points)
        # dataflows do not change the area: one accelerator per combination of the other dimensions
        hw_dims = [j for j, n in enumerate(self.names) if not n.startswith("dataflow")]
        keys = pts[:, hw_dims]
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        areas = np.empty(len(uniq))
        for k, key in enumerate(uniq):
            row = pts[np.nonzero(inverse.ravel() == k)[0][0]]
            accel, pes, _ = self.accelerator(row)
            area = sum(n * accel.pe_area_um2(accel.chunk(c)) * 1e-6 for c, n in pes.items())
            areas[k] = area + accel.gb_bytes / 1024 * accel.sram_area_mm2_per_kb
        return areas[inverse.ravel()]

    # ---- encoding ------------------------------------------------------------------------
    @property
    def encoding_size(self) -> int:
        return sum(len(d) + len(d.features[0]) for d in self.dimensions)

    def feature_matrices(self) -> list:
        """Per dimension, a (values x (values + features)) matrix: one-hot rows beside the numeric
        features, so a (soft) one-hot vector w encodes as ``w @ M`` (linear, hence differentiable)."""
        mats = []
        for d in self.dimensions:
            feats = np.asarray(d.features, dtype=np.float64).reshape(len(d), -1)
            mats.append(np.concatenate([np.eye(len(d)), feats], axis=1))
        return mats

    def encode(self, points) -> np.ndarray:
        """Encodings of design points (rows), float32."""
        pts = self.check_points(points)
        mats = self.feature_matrices()
        return np.concatenate([m[pts[:, j]] for j, m in enumerate(mats)], axis=1).astype(np.float32)

    def describe(self) -> dict:
        return {"name": self.name, "template": self.template, "base_accelerator": self.base.name,
                "size": self.size, "mapping_objective": self.mapping_objective,
                "dimensions": {d.name: [_show(v) for v in d.values] for d in self.dimensions},
                "reference_design": self.point(self.reference_index)}


# ---- loading and validation ---------------------------------------------------------------------
class _Checker:
    def __init__(self, filename: str):
        self.filename = filename

    def fail(self, path: str, expected: str, got) -> None:
        raise ValueError(f"{self.filename}: {path} must be {expected}, got {got!r}")

    def mapping(self, node, path: str, required: tuple, optional: tuple = ()) -> dict:
        if not isinstance(node, dict):
            self.fail(path or "the document", "a mapping", node)
        for key in required:
            if key not in node:
                self.fail(f"{path}.{key}" if path else key, "present", None)
        unknown = sorted(set(map(str, node)) - set(required) - set(optional))
        if unknown:
            where = f"{path}.{unknown[0]}" if path else unknown[0]
            raise ValueError(f"{self.filename}: {where} is not a known field; valid fields here: "
                             f"{', '.join(required + optional)}")
        return node

    def provenance(self, node, path: str) -> str:
        if node.get("assumption") is True:
            reason = node.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                self.fail(f"{path}.reason", "a non-empty string (why the assumption was made)", reason)
            return "assumption: " + " ".join(reason.split())
        if "assumption" in node:
            self.fail(f"{path}.assumption", "true (or absent, with a source)", node["assumption"])
        source = node.get("source")
        if not isinstance(source, str) or not source.strip():
            self.fail(f"{path}.source", "a non-empty string (or assumption: true with a reason)", source)
        return " ".join(source.split())

    def positive_int(self, value, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(path, "a positive integer", value)
        return value

    def positive_number(self, value, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            self.fail(path, "a positive number", value)
        return value

    def value_list(self, node, path: str) -> list:
        values = node.get("values")
        if not isinstance(values, list) or not values:
            self.fail(f"{path}.values", "a non-empty list", values)
        return values


def _minmax(columns: list) -> tuple:
    """Per value, the features scaled to [0, 1] per column (a constant column becomes 0)."""
    if not columns:
        return ()
    arr = np.asarray(columns, dtype=np.float64).T            # values x features
    lo, hi = arr.min(0), arr.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = (arr - lo) / span
    return tuple(tuple(float(x) for x in row) for row in scaled)


def _dimension(ck: _Checker, name: str, node, base: Accelerator, template: str) -> Dimension:
    path = f"dimensions.{name}"
    extra = ("step_pes", "min_pes") if name == "pe_split" else ()
    node = ck.mapping(node, path, (), ("values", "source", "assumption", "reason") + extra)
    prov = ck.provenance(node, path)
    if name == "pe_split":
        values = _pe_splits(ck, node, path, base)
        chunks = base.chunk_names
        feats = [[v[i][1] / base.pe_budget for v in values] for i in range(len(chunks))]
        feats += [[math.log2(v[i][1]) for v in values] for i in range(len(chunks))]
        return Dimension(name, tuple(values), _minmax(feats), prov)
    raw = ck.value_list(node, path)
    if name in ("pe_rows", "pe_cols"):
        values = [ck.positive_int(v, f"{path}.values[{i}]") for i, v in enumerate(raw)]
        feats = [[math.log2(v) for v in values]]
    elif name == "global_buffer_kb":
        values = [ck.positive_number(v, f"{path}.values[{i}]") for i, v in enumerate(raw)]
        feats = [[math.log2(v) for v in values]]
    elif name == "register_file":
        values = []
        for i, v in enumerate(raw):
            v = ck.mapping(v, f"{path}.values[{i}]", RF_FIELDS)
            for k in RF_FIELDS:
                ck.positive_int(v[k], f"{path}.values[{i}].{k}")
            values.append(tuple((k, v[k]) for k in RF_FIELDS))
        feats = [[math.log2(sum(e for _, e in v)) for v in values]]
    elif name == "dataflow" or name.startswith("dataflow_"):
        for i, v in enumerate(raw):
            if v not in DATAFLOW_NAMES:
                ck.fail(f"{path}.values[{i}]", f"one of {list(DATAFLOW_NAMES)}", v)
        values, feats = list(raw), []
    else:  # pragma: no cover - names are checked by the caller
        raise AssertionError(name)
    if len(set(values)) != len(values):
        ck.fail(f"{path}.values", "a list without repeated values", raw)
    return Dimension(name, tuple(values), _minmax(feats) or tuple(() for _ in values), prov)


def _pe_splits(ck: _Checker, node, path: str, base: Accelerator) -> list:
    chunks, budget = base.chunk_names, base.pe_budget
    if ("values" in node) == ("step_pes" in node):
        ck.fail(path, "given by exactly one of 'values' (explicit splits) or 'step_pes' (generated)",
                sorted(k for k in node if k in ("values", "step_pes")))
    if "step_pes" in node:
        step = ck.positive_int(node["step_pes"], f"{path}.step_pes")
        low = ck.positive_int(node.get("min_pes", step), f"{path}.min_pes")
        if budget % step:
            ck.fail(f"{path}.step_pes", f"a divisor of the PE budget {budget}", step)
        units = budget // step
        out = []
        for cuts in itertools.combinations(range(1, units), len(chunks) - 1):
            parts = np.diff((0,) + cuts + (units,)) * step
            if min(parts) >= low:
                out.append(tuple((c, int(n)) for c, n in zip(chunks, parts)))
        if not out:
            ck.fail(f"{path}.min_pes", f"small enough that a split of {budget} PEs exists", low)
        return out
    out = []
    for i, v in enumerate(ck.value_list(node, path)):
        v = ck.mapping(v, f"{path}.values[{i}]", chunks)
        for c in chunks:
            ck.positive_int(v[c], f"{path}.values[{i}].{c}")
        if sum(v[c] for c in chunks) > budget:
            ck.fail(f"{path}.values[{i}]", f"a split using at most the PE budget of {budget}", v)
        out.append(tuple((c, v[c]) for c in chunks))
    if len(set(out)) != len(out):
        ck.fail(f"{path}.values", "a list without repeated splits", node["values"])
    return out


def _parse(doc, filename: str) -> DesignSpace:
    ck = _Checker(filename)
    doc = ck.mapping(doc, "", ("name", "template", "base_accelerator", "dimensions", "reference_design"),
                     ("description", "mapping_objective", "buffer_units"))
    name = doc["name"]
    if not isinstance(name, str) or not name.strip():
        ck.fail("name", "a non-empty string", name)
    template = doc["template"]
    if template not in TEMPLATES:
        ck.fail("template", f"one of {list(TEMPLATES)}", template)
    try:
        base = load_accelerator(doc["base_accelerator"])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{filename}: base_accelerator: {exc}") from None
    objective = doc.get("mapping_objective", "edp")
    if objective not in OBJECTIVES:
        ck.fail("mapping_objective", f"one of {list(OBJECTIVES)}", objective)
    units = ck.positive_int(doc.get("buffer_units", 8), "buffer_units")
    if template == "eyeriss":
        if len(base.chunks) != 1 or base.chunks[0].pe_type != "mult":
            ck.fail("base_accelerator", "an accelerator with one multiplier chunk (eyeriss template)", base.name)
        required = ("pe_rows", "pe_cols", "register_file", "global_buffer_kb", "dataflow")
    else:
        if len(base.chunks) < 2:
            ck.fail("base_accelerator", "an accelerator with several chunks (chunk template)", base.name)
        if units < len(base.chunks):
            ck.fail("buffer_units", f"at least the number of chunks ({len(base.chunks)})", units)
        required = ("pe_split", "global_buffer_kb") + tuple(f"dataflow_{c}" for c in base.chunk_names)
    dims_node = ck.mapping(doc["dimensions"], "dimensions", required)
    dims = tuple(_dimension(ck, n, dims_node[n], base, template) for n in required)
    ref_node = ck.mapping(doc["reference_design"], "reference_design", required)
    ref = []
    for d in dims:
        value = ref_node[d.name]
        if isinstance(value, dict):
            keys = RF_FIELDS if d.name == "register_file" else base.chunk_names
            value = tuple((k, value.get(k)) for k in keys)
        if value not in d.values:
            ck.fail(f"reference_design.{d.name}", f"one of the dimension's values {[_show(v) for v in d.values]}",
                    _show(value) if isinstance(value, tuple) else value)
        ref.append(d.values.index(value))
    return DesignSpace(name=name, template=template, base=base, dimensions=dims, mapping_objective=objective,
                       buffer_units=units, reference=tuple(ref), description=str(doc.get("description", "")),
                       source_file=filename)


def list_design_spaces() -> list[str]:
    return sorted(p.stem for p in DESIGN_SPACE_DIR.glob("*.yaml"))


def load_design_space(name_or_path) -> DesignSpace:
    """A shipped design space by name (``"eyeriss_dance"``, ``"chunk_dance"``) or a YAML path."""
    if isinstance(name_or_path, DesignSpace):
        return name_or_path
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = DESIGN_SPACE_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ValueError(f"design_space={name_or_path!r} is not known; valid names: "
                             f"{', '.join(list_design_spaces())} (or a path to a YAML file)")
    if not path.exists():
        raise ValueError(f"design space file {str(path)!r} does not exist")
    return parse_design_space(path.read_text(), path.name)


def parse_design_space(text: str, filename: str = "<string>") -> DesignSpace:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{filename}: not valid YAML ({' '.join(str(exc).split())})") from None
    return _parse(doc, filename)
