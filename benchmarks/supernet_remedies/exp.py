"""Issue 16: why the PGP supernet stays at chance on the embedded default, and which remedy fixes it.

Plain PyTorch (no Lightning): imports only nasa_lib.space / nasa_lib.ops / nasa_lib.opkinds.
Replicates nasa_lib/nas/pretrain.py (PGPPretrainModule) exactly for the baseline:
  * phases per epoch from PGPSchedule (copied), full-width flag, adder-phase freezing;
  * one path per step from Supernet.sample_active(kinds, n_paths, step_generator(seed, step));
  * SGD(lr, momentum .9, wd 1e-4), LambdaLR cosine stepped per EPOCH;
  * validation: 4 fixed paths sample_active(generator=step_generator(seed, i, salt=17)), slice width,
    BN on batch statistics of the 500 validation images (batch_statistics_bn).
and adds the remedies as options (see Cfg).

usage: python benchmarks/supernet_remedies/exp.py STAGE OUTDIR [workers] [deadline_s]
"""
from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from nasa_lib.opkinds import PGP_PHASES, kinds_in_phase  # noqa: E402
from nasa_lib.space import ChildNet, FBNetLayout, Supernet  # noqa: E402
from nasa_lib.space.supernet import _share_name  # noqa: E402

LAYOUT = FBNetLayout(width_mult=0.25, depth_mult=0.5, header_channels=512, stem_stride=2, in_channels=1,
                     input_size=28, num_classes=10)
PHASE_KINDS = {**{p: kinds_in_phase(p) for p in PGP_PHASES}, "mixed": None}


def step_generator(seed: int, step: int, salt: int = 0) -> torch.Generator:   # nasa_lib.nas.common
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7_919 + salt) % (2 ** 63 - 1))


def pgp_phase(epoch, epochs, mult_epochs, adder_epochs, pgp=True, fwf=0.5):     # PGPSchedule.phase
    if not pgp:
        return "mixed", False
    bounds = [("mult", 0, mult_epochs), ("adder", mult_epochs, mult_epochs + adder_epochs),
              ("mixed", mult_epochs + adder_epochs, epochs)]
    for name, start, end in bounds:
        if start <= epoch < end or (name == "mixed" and epoch >= end):
            return name, epoch - start < (end - start) * fwf
    raise AssertionError


# ------------------------------------------------------------------------------------------------
@dataclass
class Cfg:
    name: str
    space: str = "OnlyConv"
    seed: int = 0
    epochs: int = 3                 # epochs of 55 steps (3,500 train images / 64)
    batch: int = 64
    lr: float = 0.1
    wd: float = 1e-4
    sched: str = "epoch_cosine"     # epoch_cosine (today) | step_cosine | constant
    warmup: int = 0                 # linear warm-up steps (step_cosine / constant only)
    pgp: bool = True
    mult_frac: float = 1 / 3        # mult_epochs = round(epochs * mult_frac) (today 1 of 3)
    adder_frac: float = 1 / 3
    fwf: float = 0.5                # full_width_fraction
    sampling: str = "uniform"       # uniform | mixed (today's n_paths>1) | fair | sandwich
    paths: int = 1                  # paths (passes) per step for uniform / mixed (n) / sandwich
    reduce: str = "norm"            # mean: loss / passes | norm: each param's grad / passes that used it | sum
    distill: bool = True            # sandwich: in-place distillation from the widest path
    bn: str = "shared"              # shared | percand (one BN set per candidate)
    zero_init: bool = True          # residual blocks start as identity (bn3.weight = 0)
    pool: tuple | None = None       # restrict candidates to these op names (diagnosis)
    share: str = "lib"              # lib (today: a block per kind/kernel/groups) | full (one block per kind:
    #                                 k3 = centre of the k5 depthwise kernel, g2 = block-diagonal of the dense 1x1s)
    wide_steps: int = 0             # the first wide_steps steps train only the widest path (OFA-style)
    probe_every: int = 55


N_CHILDREN = 6


def load_data(dev):
    d = os.path.join(HERE, "mnist5k")
    img = torch.from_numpy(np.load(os.path.join(d, "images.npy"))).unsqueeze(1).float().div_(255.)
    lab = torch.from_numpy(np.load(os.path.join(d, "labels.npy")))
    sp = np.load(os.path.join(HERE, "splits.npz"))
    img = (img - float(sp["mean"][0])) / float(sp["std"][0])
    out = {}
    for k in ("train", "val", "test"):
        idx = torch.from_numpy(sp[k])
        out[k] = (img[idx].to(dev), lab[idx].to(dev))
    return out


# ---- supernet surgery --------------------------------------------------------------------------
def _grouped(w, g):
    """The grouped-conv weight (out, in/g, 1, 1) of the block-diagonal part of dense ``w``."""
    o, i = w.shape[0] // g, w.shape[1] // g
    return torch.cat([w[j * o:(j + 1) * o, j * i:(j + 1) * i] for j in range(g)], 0)


def elastic_forward(blk, x, e, k, g):
    """Run candidate (kernel k, expansion e, groups g) on the weights of the k5 e6 g1 block ``blk``."""
    from nasa_lib.ops.blocks import channel_shuffle, sliced_batch_norm
    cin, mid = blk.in_channels, blk.in_channels * e
    w1 = blk.pw1.sliced_weight(mid, cin)
    y = blk.pw1.compute(x, _grouped(w1, g) if g > 1 else w1, g, mid)
    y = F.relu(sliced_batch_norm(blk.bn1, y))
    if g > 1:
        y = channel_shuffle(y, g)
    wd = blk.dw.sliced_weight(mid, 1)
    if k < blk.kernel_size:
        c = (blk.kernel_size - k) // 2
        wd = wd[:, :, c:c + k, c:c + k]
    pad = blk.dw.padding
    blk.dw.padding = k // 2
    try:
        y = blk.dw.compute(y, wd, mid, mid)
    finally:
        blk.dw.padding = pad
    y = F.relu(sliced_batch_norm(blk.bn2, y))
    w2 = blk.pw2.sliced_weight(blk.out_channels, mid)
    y = blk.bn3(blk.pw2.compute(y, _grouped(w2, g) if g > 1 else w2, g, blk.out_channels))
    return y + x if blk.use_residual else y


def block_key(cfg, fullshare):
    return f"{cfg.kind}_k5_g1" if fullshare else _share_name(cfg.share_key)


def patch_layers(sn: Supernet, percand: bool, fullshare: bool):
    for layer in sn.layers:
        if percand:
            layer.cand_bn = nn.ModuleDict()
            for i, cfg in enumerate(layer.configs):
                if cfg.kind == "skip":
                    continue
                blk = layer.shared[_share_name(cfg.share_key)]
                layer.cand_bn[str(i)] = nn.ModuleList([copy.deepcopy(blk.bn1), copy.deepcopy(blk.bn2),
                                                       copy.deepcopy(blk.bn3)])

        def run_op(i, x, full_width=False, layer=layer):
            cfg = layer.configs[i]
            if cfg.kind == "skip":
                return layer.skip(x)
            blk = layer.shared[block_key(cfg, fullshare)]
            if percand:
                blk.bn1, blk.bn2, blk.bn3 = layer.cand_bn[str(i)]
            if not fullshare:
                return blk(x, blk.expansion if full_width else cfg.expansion)
            if full_width:
                return elastic_forward(blk, x, blk.expansion, cfg.kernel, 1)
            return elastic_forward(blk, x, cfg.expansion, cfg.kernel, cfg.groups)
        layer.run_op = run_op
        if percand:   # detach the original BNs so parameters() has only the per-candidate ones
            for key, blk in layer.shared.items():
                for i, cfg in enumerate(layer.configs):
                    if cfg.kind != "skip" and _share_name(cfg.share_key) == key:
                        blk.bn1, blk.bn2, blk.bn3 = layer.cand_bn[str(i)]
                        break


def build_supernet(cfg: Cfg, dev):
    sn = Supernet(cfg.space, LAYOUT, 3)
    if not cfg.zero_init:
        for layer in sn.layers:
            for blk in layer.shared.values():
                if blk.use_residual:
                    nn.init.ones_(blk.bn3.weight)
    if cfg.bn == "percand" or cfg.share == "full":
        patch_layers(sn, cfg.bn == "percand", cfg.share == "full")
    return sn.to(dev)


def param_owner_groups(sn: Supernet, percand: bool):
    """{owner key: [params]}: 'backbone', ('blk', layer, name) convs (+BN if shared), ('skip', layer),
    ('cbn', layer, i) per-candidate BN."""
    groups = {"backbone": list(sn.backbone_parameters())}
    kinds = {"backbone": "backbone"}
    for li, layer in enumerate(sn.layers):
        for name, blk in layer.shared.items():
            mods = [blk.pw1, blk.dw, blk.pw2] + ([] if percand else [blk.bn1, blk.bn2, blk.bn3])
            groups[("blk", li, name)] = [p for m in mods for p in m.parameters()]
            kinds[("blk", li, name)] = blk.kind
        if layer.skip is not None:
            groups[("skip", li)] = list(layer.skip.parameters())
            kinds[("skip", li)] = "skip"
        if percand:
            for i, bns in layer.cand_bn.items():
                groups[("cbn", li, int(i))] = list(bns.parameters())
                kinds[("cbn", li, int(i))] = layer.configs[int(i)].kind
    return groups, kinds


def owners_of_path(sn, active, percand, fullshare=False):
    out = []
    for li, (layer, idx) in enumerate(zip(sn.layers, active)):
        for i in idx:
            c = layer.configs[i]
            if c.kind == "skip":
                out.append(("skip", li))
            else:
                out.append(("blk", li, block_key(c, fullshare)))
                if percand:
                    out.append(("cbn", li, i))
    return out


# ---- sampling ------------------------------------------------------------------------------------
def pools(sn, kinds, restrict):
    res = []
    for layer in sn.layers:
        p = [i for i, c in enumerate(layer.configs) if (kinds is None or c.kind in kinds)
             and (restrict is None or layer.candidates[i] in restrict)]
        res.append(p or list(range(len(layer.configs))))
    return res


def widest_index(layer, pool):
    # the largest block: (expansion, kernel), mult kind first, no g2
    def key(i):
        c = layer.configs[i]
        return (c.kind != "skip", c.groups == 1, c.expansion, c.kernel, c.kind == "mult")
    return max(pool, key=key)


def smallest_index(layer, pool):
    def key(i):
        c = layer.configs[i]
        return (c.kind != "skip", -(c.expansion), -(c.kernel), c.groups == 1)
    # smallest MBConv candidate (e1 k3); skip is not used as "smallest"
    cands = [i for i in pool if layer.configs[i].kind != "skip"] or pool
    return max(cands, key=key)


def step_paths(sn, cfg, kinds, gen):
    P = pools(sn, kinds, cfg.pool)
    if cfg.sampling == "uniform":
        return [[[p[int(torch.randint(len(p), (1,), generator=gen))]] for p in P] for _ in range(cfg.paths)] \
            if cfg.paths > 1 or cfg.pool is not None else [sn.sample_active(kinds, 1, gen)]
    if cfg.sampling == "mixed":        # today's n_paths: n candidates per layer averaged in one forward
        return [sn.sample_active(kinds, cfg.paths, gen)]
    if cfg.sampling == "fair":         # FairNAS: per layer a permutation; K = largest pool
        K = max(len(p) for p in P)
        perms = []
        for p in P:
            order = [p[j] for j in torch.randperm(len(p), generator=gen).tolist()]
            while len(order) < K:
                order += [p[j] for j in torch.randperm(len(p), generator=gen).tolist()]
            perms.append(order[:K])
        return [[[perms[li][k]] for li in range(len(P))] for k in range(K)]
    if cfg.sampling == "sandwich":     # widest, smallest, paths-2 random
        paths = [[[widest_index(l, p)] for l, p in zip(sn.layers, P)],
                 [[smallest_index(l, p)] for l, p in zip(sn.layers, P)]]
        for _ in range(cfg.paths - 2):
            paths.append([[p[int(torch.randint(len(p), (1,), generator=gen))]] for p in P])
        return paths
    raise ValueError(cfg.sampling)


# ---- evaluation ------------------------------------------------------------------------------------
def bn_modules(m):
    return [x for x in m.modules() if isinstance(x, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def eval_path(sn, active, data, mode="batch", full_width=False, calib=None):
    x, y = data["val"]
    bns = bn_modules(sn)
    saved = [(b, b.training, b.momentum, b.running_mean.clone(), b.running_var.clone()) for b in bns]
    sn.eval()
    try:
        if mode == "batch":            # batch_statistics_bn: train-mode BN, momentum 0
            for b in bns:
                b.train(); b.momentum = 0.0
        elif mode == "recal":          # recalibrate on 1,000 training images (momentum 1), then eval mode
            for b in bns:
                b.train(); b.momentum = 1.0
            sn(calib, active=active, full_width=full_width)
            for b in bns:
                b.eval()
        out = sn(x, active=active, full_width=full_width)
        return float((out.argmax(1) == y).float().mean())
    finally:
        for b, tr, mom, rm, rv in saved:
            b.train(tr); b.momentum = mom; b.running_mean.copy_(rm); b.running_var.copy_(rv)
        sn.train()


@torch.no_grad()
def residual_ratio(sn, active, data):
    """Per residual layer on this path: ||branch|| / ||identity|| (train-mode BN, no stat update)."""
    x = data["val"][0]
    bns = bn_modules(sn)
    saved = [(b, b.momentum) for b in bns]
    for b in bns:
        b.momentum = 0.0
    try:
        h = sn.forward_stem(x)
        ratios = []
        for layer, a in zip(sn.layers, active):
            out = layer(h, None, a)
            s = layer.slot
            if s.in_channels == s.out_channels and s.stride == 1:
                ratios.append(float((out - h).norm() / h.norm().clamp_min(1e-12)))
            h = out
        return ratios
    finally:
        for b, m in saved:
            b.momentum = m


@torch.no_grad()
def candidate_agreement(sn, data, ref_active):
    """Per layer: mean pairwise cosine similarity (per image, flattened) of the outputs (for residual
    layers: the residual branches) of the layer's MBConv candidates, on the input the reference path
    gives that layer.  ~0: candidates compute unrelated features, so the next layer sees an input
    whose meaning depends on what was sampled before it."""
    x = data["val"][0][:256]
    bns = bn_modules(sn)
    saved = [(b, b.momentum) for b in bns]
    for b in bns:
        b.momentum = 0.0
    try:
        h = sn.forward_stem(x)
        res = []
        for layer, a in zip(sn.layers, ref_active):
            outs = []
            for i, c in enumerate(layer.configs):
                if c.kind == "skip":
                    continue
                o = layer.run_op(i, h)
                if layer.slot.in_channels == layer.slot.out_channels and layer.slot.stride == 1:
                    o = o - h
                outs.append(F.normalize(o.flatten(1), dim=1))
            sims = [float((outs[i] * outs[j]).sum(1).mean()) for i in range(len(outs)) for j in range(i + 1, len(outs))]
            res.append(float(np.mean(sims)) if sims else None)
            h = layer(h, None, a)
        return res
    finally:
        for b, m in saved:
            b.momentum = m


def named_paths(sn):
    def allop(op):
        return [[l.candidates.index(op)] if op in l.candidates else None for l in sn.layers]
    d = {"all_k3_e6": allop("k3_e6"), "all_k5_e6": allop("k5_e6"), "all_k3_e1": allop("k3_e1")}
    if "shift_k3_e6" in sn.layers[0].candidates:
        d["all_shift_k3_e6"] = allop("shift_k3_e6")
    if any("add_k3_e6" in l.candidates for l in sn.layers):
        d["adder_mid_k3_e6"] = [[l.candidates.index("add_k3_e6")] if "add_k3_e6" in l.candidates
                                else [l.candidates.index("k3_e6")] for l in sn.layers]
    return d


def full_eval(sn, cfg, data, calib):
    ev = [sn.sample_active(generator=step_generator(cfg.seed, i, salt=17)) for i in range(4)]
    ch = [sn.sample_active(generator=step_generator(0, i, salt=99)) for i in range(N_CHILDREN)]
    r = {}
    for mode in ("batch", "recal", "running"):
        r[f"eval_{mode}"] = [eval_path(sn, a, data, mode, False, calib) for a in ev]
    r["eval_batch_fullwidth"] = [eval_path(sn, a, data, "batch", True, calib) for a in ev]
    r["children_batch"] = [eval_path(sn, a, data, "batch", False, calib) for a in ch]
    r["children_recal"] = [eval_path(sn, a, data, "recal", False, calib) for a in ch]
    named = {k: a for k, a in named_paths(sn).items() if None not in a}
    r["named_batch"] = {k: eval_path(sn, a, data, "batch", False, calib) for k, a in named.items()}
    r["named_recal"] = {k: eval_path(sn, a, data, "recal", False, calib) for k, a in named.items()}
    wide = named_paths(sn)["all_k5_e6"]
    r["resid_ratio_eval"] = [residual_ratio(sn, a, data) for a in ev]
    r["resid_ratio_k5e6"] = residual_ratio(sn, wide, data)
    r["cand_agreement"] = candidate_agreement(sn, data, wide)
    return r


# ---- training --------------------------------------------------------------------------------------
def train_supernet(cfg: Cfg, data, dev):
    torch.manual_seed(cfg.seed)
    sn = build_supernet(cfg, dev)
    sn.train()
    percand = cfg.bn == "percand"
    groups, gkinds = param_owner_groups(sn, percand)
    xtr, ytr = data["train"]
    ntr = xtr.shape[0]
    spe = math.ceil(ntr / cfg.batch)
    total = spe * cfg.epochs
    mult_e = round(cfg.epochs * cfg.mult_frac) if cfg.pgp else 0
    adder_e = round(cfg.epochs * cfg.adder_frac) if cfg.pgp else 0
    opt = torch.optim.SGD(sn.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.wd)
    kinds_present = {c.kind for layer in sn.layers for c in layer.configs}
    calib = xtr[torch.randperm(ntr, generator=torch.Generator().manual_seed(5))[:1000].to(dev)]

    def lr_at(step, epoch):
        if cfg.sched == "epoch_cosine":
            f = 0.5 * (1 + math.cos(math.pi * min(epoch, cfg.epochs) / cfg.epochs))
        elif cfg.sched == "step_cosine":
            f = 0.5 * (1 + math.cos(math.pi * step / total))
        else:
            f = 1.0
        if cfg.warmup and step < cfg.warmup:
            f *= (step + 1) / cfg.warmup
        return cfg.lr * f

    res = {"cfg": asdict(cfg), "steps": total, "steps_per_epoch": spe, "probes": [], "epochs_log": []}
    ev = [sn.sample_active(generator=step_generator(cfg.seed, i, salt=17)) for i in range(4)]
    res["eval_paths"] = [[sn.layers[li].candidates[a[0]] for li, a in enumerate(p)] for p in ev]
    wide = named_paths(sn)["all_k5_e6"]
    res["resid_ratio_k5e6_init"] = residual_ratio(sn, wide, data)
    res["init_eval_batch"] = [eval_path(sn, a, data, "batch") for a in ev]
    step, passes_total, t_train = 0, 0, 0.0
    for epoch in range(cfg.epochs):
        phase, full_width = pgp_phase(epoch, cfg.epochs, mult_e, adder_e, cfg.pgp, cfg.fwf)
        kinds = PHASE_KINDS[phase]
        if kinds is not None and not (set(kinds) & kinds_present):
            kinds = None
        freeze = phase == "adder" and kinds is not None
        for key, ps in groups.items():
            k = gkinds[key]
            for p in ps:
                p.requires_grad_(not freeze or (k in kinds))
        order = torch.randperm(ntr, generator=torch.Generator().manual_seed(cfg.seed * 7 + epoch)).to(dev)
        lsum, lcnt, csum = 0.0, 0, 0
        torch.cuda.synchronize(); t0 = time.perf_counter()
        for b in range(spe):
            idx = order[b * cfg.batch:(b + 1) * cfg.batch]
            x, y = xtr[idx], ytr[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step, epoch)
            gen = step_generator(cfg.seed, step)
            if step < cfg.wide_steps:
                paths = [[[widest_index(l, list(range(len(l.configs))))] for l in sn.layers]]
            else:
                paths = step_paths(sn, cfg, kinds, gen)
            opt.zero_grad(set_to_none=True)
            counts = {}
            K = len(paths)
            teacher = None
            for j, active in enumerate(paths):
                logits = sn(x, active=active, full_width=full_width)
                if cfg.sampling == "sandwich" and cfg.distill and j > 0:
                    loss = F.kl_div(F.log_softmax(logits, 1), teacher, reduction="batchmean")
                else:
                    loss = F.cross_entropy(logits, y)
                if cfg.sampling == "sandwich" and j == 0:
                    teacher = F.softmax(logits.detach(), 1)
                (loss / K if cfg.reduce == "mean" else loss).backward()
                for o in owners_of_path(sn, active, percand, cfg.share == "full"):
                    counts[o] = counts.get(o, 0) + 1
                if j == 0:
                    lsum += float(loss.detach()) * len(y); lcnt += len(y); csum += int((logits.argmax(1) == y).sum())
            if cfg.reduce == "norm" and K > 1:
                for key, ps in groups.items():
                    n = K if key == "backbone" else counts.get(key, 0)
                    if n > 1:
                        for p in ps:
                            if p.grad is not None:
                                p.grad.div_(n)
            if not torch.isfinite(loss):
                res["diverged_at"] = step
                break
            opt.step()
            step += 1
            passes_total += cfg.paths if cfg.sampling == "mixed" else K
            if step % cfg.probe_every == 0 or step == total:
                torch.cuda.synchronize(); t_train += time.perf_counter() - t0
                res["probes"].append({"step": step, "val_acc_eval_batch": float(np.mean(
                    [eval_path(sn, a, data, "batch") for a in ev]))})
                torch.cuda.synchronize(); t0 = time.perf_counter()
        torch.cuda.synchronize(); t_train += time.perf_counter() - t0
        res["epochs_log"].append({"epoch": epoch, "phase": phase, "full_width": full_width, "kinds": kinds,
                                  "train_loss_path0": lsum / max(lcnt, 1), "train_acc_path0": csum / max(lcnt, 1)})
        if "diverged_at" in res:
            break
    res["train_seconds_gpu"] = t_train
    res["path_passes"] = passes_total
    res["cost_rel_today"] = passes_total * cfg.batch / (165 * 64)
    res.update(full_eval(sn, cfg, data, calib))
    res["val_acc_lib"] = float(np.mean(res["eval_batch"]))
    return res


def train_child(arch, seed, epochs, data, dev, lr=0.1, wd=2e-4, batch=64):
    torch.manual_seed(seed)
    net = ChildNet(arch, LAYOUT).to(dev)
    xtr, ytr = data["train"]
    ntr = xtr.shape[0]
    spe = math.ceil(ntr / batch)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
    for epoch in range(epochs):
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        order = torch.randperm(ntr, generator=torch.Generator().manual_seed(seed * 7 + epoch)).to(dev)
        for b in range(spe):
            idx = order[b * batch:(b + 1) * batch]
            loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(data["val"][0]).argmax(1) == data["val"][1]).float().mean())
    return acc


def run_job(job):
    dev = torch.device("cuda")
    torch.backends.cudnn.benchmark = False
    data = load_data(dev)
    t0 = time.time()
    try:
        if job["type"] == "supernet":
            r = train_supernet(Cfg(**job["cfg"]), data, dev)
        else:
            sn = Supernet(job["space"], LAYOUT, 3)
            ch = [sn.sample_active(generator=step_generator(0, i, salt=99)) for i in range(N_CHILDREN)]
            arch = [sn.layers[li].candidates[a[0]] for li, a in enumerate(ch[job["child"]])]
            r = {"type": "child", "space": job["space"], "child": job["child"], "arch": arch, "seed": job["seed"],
                 "epochs": job["epochs"], "val_acc": train_child(arch, job["seed"], job["epochs"], data, dev)}
        r["wall_s"] = time.time() - t0
        r["job"] = job
        return r
    except Exception:
        return {"job": job, "error": traceback.format_exc()}


# ------------------------------------------------------------------------------------------------
def C(name, **kw):
    return {"type": "supernet", "cfg": asdict(Cfg(name=name, **kw)), "est": kw.get("est", 1)}


def stage_jobs(stage):
    jobs = []
    if stage == "A":
        for sp, tag in (("OnlyConv", "OC"), ("Hybrid-All", "HA")):
            K = 9 if sp == "OnlyConv" else 19
            jobs += [
                C(f"{tag}_today", space=sp),
                C(f"{tag}_today_s1", space=sp, seed=1),
                C(f"{tag}_nopgp", space=sp, pgp=False),
                C(f"{tag}_nozeroinit", space=sp, zero_init=False),
                C(f"{tag}_percandBN", space=sp, bn="percand"),
                C(f"{tag}_lr0.02", space=sp, lr=0.02),
                C(f"{tag}_warmup_stepcos", space=sp, sched="step_cosine", warmup=30),
                C(f"{tag}_batch256", space=sp, batch=256, epochs=12),   # same steps (165), 4x images
                C(f"{tag}_npaths2_today", space=sp, sampling="mixed", paths=2),
                C(f"{tag}_uniform4", space=sp, sampling="uniform", paths=4),
                C(f"{tag}_fair", space=sp, sampling="fair"),
                C(f"{tag}_sandwich4", space=sp, sampling="sandwich", paths=4),
                C(f"{tag}_today_x3", space=sp, epochs=9),
                C(f"{tag}_today_x{K}", space=sp, epochs=3 * K),
                C(f"{tag}_nopgp_x3", space=sp, epochs=9, pgp=False),
            ]
        jobs += [
            C("OC_fair_mean", space="OnlyConv", sampling="fair", reduce="mean"),
            C("OC_uniform4_mean", space="OnlyConv", sampling="uniform", paths=4, reduce="mean"),
            C("OC_pool_k3e6_k5e6", space="OnlyConv", pool=("k3_e6", "k5_e6"), pgp=False),
            C("OC_pool_k3e1_k3e1g2", space="OnlyConv", pool=("k3_e1", "k3_e1_g2"), pgp=False),
            C("OC_pool_k3_e1e3e6", space="OnlyConv", pool=("k3_e1", "k3_e3", "k3_e6"), pgp=False),
            C("OC_pool_nog2_noskip", space="OnlyConv", pool=("k3_e1", "k3_e3", "k3_e6", "k5_e1", "k5_e3", "k5_e6"), pgp=False),
            C("OC_pool_k3e6_skip", space="OnlyConv", pool=("k3_e6", "skip"), pgp=False),
        ]
        for sp in ("OnlyConv", "Hybrid-All"):
            for c in range(N_CHILDREN):
                for s in (0, 1):
                    jobs.append({"type": "child", "space": sp, "child": c, "seed": s, "epochs": 2, "est": 1})
    if stage == "B":
        for sp, tag in (("OnlyConv", "OC"), ("Hybrid-All", "HA")):
            F0 = dict(space=sp, fwf=0.0)            # PGP kind phases kept, slices trained (no full-width epochs)
            FS = dict(F0, share="full")
            jobs += [
                C(f"{tag}_fw0", **F0),
                C(f"{tag}_fw0_s1", seed=1, **F0),
                C(f"{tag}_fw0_x3", epochs=9, **F0),
                C(f"{tag}_fw0_x5", epochs=15, **F0),
                C(f"{tag}_full", **FS),
                C(f"{tag}_full_s1", seed=1, **FS),
                C(f"{tag}_full_nopgp", **dict(FS, pgp=False)),
                C(f"{tag}_full_percandBN", bn="percand", **FS),
                C(f"{tag}_full_nozeroinit", zero_init=False, **FS),
                C(f"{tag}_full_warmup", sched="step_cosine", warmup=30, **FS),
                C(f"{tag}_full_x3", epochs=9, **FS),
                C(f"{tag}_full_x5", epochs=15, **FS),
                C(f"{tag}_full_npaths2", sampling="mixed", paths=2, **FS),
                C(f"{tag}_full_uniform4", sampling="uniform", paths=4, **FS),
                C(f"{tag}_full_fair", sampling="fair", **FS),
                C(f"{tag}_sandwich4_fw0", sampling="sandwich", paths=4, **F0),
                C(f"{tag}_full_sandwich4", sampling="sandwich", paths=4, **FS),
                C(f"{tag}_full_sandwich4_s1", seed=1, sampling="sandwich", paths=4, **FS),
                C(f"{tag}_full_sandwich4_nodistill", sampling="sandwich", paths=4, distill=False, **FS),
                C(f"{tag}_full_sandwich3", sampling="sandwich", paths=3, **FS),
                C(f"{tag}_wide55_fw0", wide_steps=55, **F0),
                C(f"{tag}_full_wide55", wide_steps=55, **FS),
                C(f"{tag}_full_wide55_s1", seed=1, wide_steps=55, **FS),
                C(f"{tag}_full_wide55_x2", wide_steps=55, epochs=6, **FS),
                C(f"{tag}_full_wide55_sandwich3_x2", wide_steps=55, epochs=6, sampling="sandwich", paths=3, **FS),
                C(f"{tag}_full_wide55_nopgp_x2", wide_steps=55, epochs=6, pgp=False, **FS),
            ]
        for sp in ("OnlyConv", "Hybrid-All"):
            for c in range(N_CHILDREN):
                jobs.append({"type": "child", "space": sp, "child": c, "seed": 2, "epochs": 2, "est": 1})
    if stage == "C":
        for sp, tag in (("OnlyConv", "OC"), ("Hybrid-All", "HA"), ("Hybrid-Adder", "HAd")):
            FS = dict(space=sp, fwf=0.0, share="full")
            if tag == "OC":
                jobs += [C("OC_full_x5_s1", seed=1, epochs=15, **FS), C("OC_full_x3_s1", seed=1, epochs=9, **FS),
                         C("OC_full_b32", batch=32, **FS), C("OC_full_b32_s1", seed=1, batch=32, **FS),
                         C("OC_full_b16", batch=16, **FS), C("OC_full_b32_x2", batch=32, epochs=6, **FS),
                         C("OC_full_b32_x2_s1", seed=1, batch=32, epochs=6, **FS),
                         C("OC_full_b32_x3", batch=32, epochs=9, **FS),
                         C("OC_full_nopgp_x3", epochs=9, **dict(FS, pgp=False)),
                         C("OC_full_fw05_x3", epochs=9, **dict(FS, fwf=0.5)),
                         C("OC_full_warmup_x3", epochs=9, sched="step_cosine", warmup=30, **FS),
                         C("OC_full_npaths2_x2", epochs=6, sampling="mixed", paths=2, **FS),
                         C("OC_today_x5", space=sp, epochs=15)]
            else:
                jobs += [C(f"{tag}_full_x5", epochs=15, **FS), C(f"{tag}_today_x5", space=sp, epochs=15),
                         C(f"{tag}_full_nopgp_x5", epochs=15, **dict(FS, pgp=False)),
                         C(f"{tag}_full_nopgp_b32_x3", epochs=9, batch=32, **dict(FS, pgp=False)),
                         C(f"{tag}_full_b32_x3", epochs=9, batch=32, **FS),
                         C(f"{tag}_full_fw05_x5", epochs=15, **dict(FS, fwf=0.5)),
                         C(f"{tag}_full_x10", epochs=30, **FS),
                         C(f"{tag}_full_nopgp_x10", epochs=30, **dict(FS, pgp=False))]
                if tag == "HA":
                    jobs += [C("HA_full_x5_s1", seed=1, epochs=15, **FS),
                             C("HA_full_sandwich3_nopgp_x2", epochs=6, sampling="sandwich", paths=3, **dict(FS, pgp=False)),
                             C("HA_full_nopgp_x5_s1", seed=1, epochs=15, **dict(FS, pgp=False)),
                             C("HA_today_x10", space=sp, epochs=30)]
    return jobs


def main():
    stage, outdir = sys.argv[1], sys.argv[2]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    deadline = time.time() + (float(sys.argv[4]) if len(sys.argv) > 4 else 540)
    os.makedirs(outdir, exist_ok=True)
    jobs = stage_jobs(stage) if stage in ("A", "B", "C") else json.load(open(stage))
    if len(sys.argv) > 5:
        jobs = jobs[: int(sys.argv[5])]
    for j in jobs:
        if j["type"] == "supernet":
            c = j["cfg"]
            k = {"fair": 19 if c["space"] == "Hybrid-All" else 9, "sandwich": c["paths"], "uniform": c["paths"],
                 "mixed": c["paths"]}[c["sampling"]]
            j["est"] = k * c["epochs"] * (c["batch"] / 64) ** 0.5 * (3 if c["space"] == "Hybrid-All" else 1)
    jobs.sort(key=lambda j: -j["est"])
    import torch.multiprocessing as mp
    ctx = mp.get_context("spawn")
    out = open(os.path.join(outdir, f"results_{os.path.basename(stage).split('.')[0]}.jsonl"), "a")
    print(f"{len(jobs)} jobs, {workers} workers", flush=True)
    with ctx.Pool(workers) as pool:
        its = pool.imap_unordered(run_job, jobs)
        n = 0
        while n < len(jobs):
            try:
                r = its.next(timeout=max(1, deadline - time.time()))
            except (mp.TimeoutError, StopIteration):
                print("deadline reached; stopping", flush=True)
                pool.terminate()
                break
            n += 1
            out.write(json.dumps(r) + "\n"); out.flush()
            if "error" in r:
                print("ERROR", r["job"], r["error"][-1500:], flush=True)
            elif r.get("type") == "child":
                print(f"[{n}/{len(jobs)}] child {r['space']} {r['child']} s{r['seed']}: {r['val_acc']:.3f} ({r['wall_s']:.0f}s)", flush=True)
            else:
                print(f"[{n}/{len(jobs)}] {r['cfg']['name']}: lib_val={r['val_acc_lib']:.3f} recal={np.mean(r['eval_recal']):.3f} "
                      f"children_recal={np.mean(r['children_recal']):.3f} cost={r['cost_rel_today']:.2f} "
                      f"probes={[round(p['val_acc_eval_batch'], 3) for p in r['probes']]} "
                      f"({r['wall_s']:.0f}s, train {r['train_seconds_gpu']:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
