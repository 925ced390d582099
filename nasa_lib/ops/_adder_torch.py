"""The memory-bounded pure-torch path of the adder convolution (any device, any float dtype).

This is the fallback when the C kernels cannot be built, the path for float64 on CUDA, and the
second implementation the tests hold against the naive reference.  The naive (unfold +
broadcast) formula makes an ``N*K*C*R*S*P*Q`` tensor (14 GB for one 128x64x16x16 3x3 layer); here
every temporary is capped at :func:`temp_budget_elems` elements by working on chunks of images
and, inside a chunk, on chunks of filters:

* forward: ``torch.cdist(p=1)`` of the unfolded chunk against the filters (no difference tensor);
* input gradient: ``clamp(w - cols, -1, 1) * g`` summed over a chunk of filters, then ``fold``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# Floor of the temporary budget: below this chunking only adds Python overhead.
_MIN_BUDGET_ELEMS = 1 << 20


def temp_budget_elems(x: torch.Tensor, out_numel: int) -> int:
    """Largest temporary (elements): the input plus output size, at least 1 Mi elements (4 MB)."""
    return max(_MIN_BUDGET_ELEMS, x.numel() + out_numel)


def _geometry(x, weight, stride, padding, groups):
    n, c, h, w = x.shape
    k, cg, r, s = weight.shape
    p = (h + 2 * padding - r) // stride + 1
    q = (w + 2 * padding - s) // stride + 1
    return n, c, h, w, k, cg, r, s, p, q


def _images_per_chunk(per_image_elems: int, budget: int, n: int) -> int:
    return max(1, min(n, budget // max(1, per_image_elems)))


def forward(x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int, groups: int) -> torch.Tensor:
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding, groups)
    j, kg, length = cg * r * s, k // groups, p * q
    y = torch.empty(n, k, p, q, dtype=x.dtype, device=x.device)
    budget = temp_budget_elems(x, y.numel())
    nb = _images_per_chunk(c * r * s * length, budget, n)
    w_rows = weight.reshape(groups, kg, j)
    for n0 in range(0, n, nb):
        n1 = min(n, n0 + nb)
        cols = F.unfold(x[n0:n1], (r, s), padding=padding, stride=stride)  # [nb, C*R*S, L]
        cols = cols.view(n1 - n0, groups, j, length)
        for g in range(groups):
            # cdist(p=1) sums |a - b| without materialising the difference: [nb, L, Kg]
            dist = torch.cdist(cols[:, g].transpose(1, 2),
                               w_rows[g].unsqueeze(0).expand(n1 - n0, kg, j), p=1.0)
            y[n0:n1, g * kg:(g + 1) * kg] = -dist.transpose(1, 2).reshape(n1 - n0, kg, p, q)
    return y


def grad_input(x: torch.Tensor, weight: torch.Tensor, grad_y: torch.Tensor, stride: int,
               padding: int, groups: int) -> torch.Tensor:
    n, c, h, w, k, cg, r, s, p, q = _geometry(x, weight, stride, padding, groups)
    j, kg, length = cg * r * s, k // groups, p * q
    dx = torch.empty_like(x)
    budget = temp_budget_elems(x, grad_y.numel())
    # cols and dcols of a chunk both live at once
    nb = _images_per_chunk(2 * c * r * s * length, budget, n)
    w_rows = weight.reshape(groups, kg, j, 1)
    for n0 in range(0, n, nb):
        n1 = min(n, n0 + nb)
        m = n1 - n0
        cols = F.unfold(x[n0:n1], (r, s), padding=padding, stride=stride).view(m, groups, j, length)
        gy = grad_y[n0:n1].reshape(m, groups, kg, length)
        dcols = torch.zeros(m, groups, j, length, dtype=x.dtype, device=x.device)
        kc = max(1, min(kg, budget // max(1, m * j * length)))  # filters per [m, kc, J, L] temp
        for g in range(groups):
            for k0 in range(0, kg, kc):
                k1 = min(kg, k0 + kc)
                t = (w_rows[g, k0:k1].unsqueeze(0) - cols[:, g].unsqueeze(1)).clamp_(-1.0, 1.0)
                t.mul_(gy[:, g, k0:k1].unsqueeze(2))
                dcols[:, g] += t.sum(1)
                del t
        dx[n0:n1] = F.fold(dcols.view(m, c * r * s, length), (h, w), (r, s), padding=padding,
                           stride=stride)
    return dx
