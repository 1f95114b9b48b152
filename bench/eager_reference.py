"""The yardstick for issue 8: MC-WES and its losses written in the most direct fp32 eager PyTorch.

`BaselineMCWES` has the parameter names of `mcwes.model.MCWES` (CSCM, two streams), so
`BaselineMCWES(dim, cfg).load_state_dict(model.state_dict())` gives the same network. It uses
`nn.Conv1d` on transposed `(B, C, T)` tensors, `nn.Dropout`, `torch.topk` per class and a loop over
pairs for L_fc. It is used only to time our training step against and to check that the fast path
computes the same losses and gradients (`check_equivalence`). The duration mask M is taken from
`mcwes.duration.duration_mask` (a no-grad mask, not on the timed path of either side).

    python bench/baseline.py            # the equivalence check on a small case, fp32 and bf16
"""
from __future__ import annotations
import math, sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

try: import mcwes  # noqa: F401
except ModuleNotFoundError: sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mcwes.config import Config, LossConfig, ModelConfig
from mcwes.duration import duration_mask


class BaseGate(nn.Module):
    "CSCM, Eq. 1-6, plainly."
    def __init__(self, d: int, p: float, pad: str):
        super().__init__()
        self.channel, self.query, self.core_out = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.aux_conv = nn.Conv1d(d, d, 3, padding=1, padding_mode=pad)
        self.drop_main, self.drop_aux = nn.Dropout(p), nn.Dropout(p)

    def forward(self, x_main, x_aux):                                    # (B, T, D) each
        f_main = self.drop_main(torch.sigmoid(self.channel(x_main.mean(1, keepdim=True))))  # (B, 1, D)
        f_q = self.query(x_main)                                         # (B, T, D)
        core = torch.softmax(f_q @ f_q.transpose(1, 2), dim=-1) @ f_q    # (B, T, D)
        x_aux = x_aux + self.core_out(core)
        f_aux = self.drop_aux(self.aux_conv(x_aux.transpose(1, 2)).transpose(1, 2))  # (B, T, D)
        return torch.sigmoid(f_aux * f_main) * x_main


class BaseAttention(nn.Module):
    def __init__(self, d: int, hidden: int, p: float, slope: float, pad: str):
        super().__init__()
        self.conv1 = nn.Conv1d(d, hidden, 3, padding=1, padding_mode=pad)
        self.conv2 = nn.Conv1d(hidden, hidden, 3, padding=1, padding_mode=pad)
        self.out, self.slope = nn.Conv1d(hidden, 1, 1), slope
        self.drop1, self.drop2 = nn.Dropout(p), nn.Dropout(p)

    def forward(self, x):                                                # (B, T, D) -> (B, T)
        h = self.drop1(F.leaky_relu(self.conv1(x.transpose(1, 2)), self.slope))
        h = F.leaky_relu(self.conv2(h), self.slope)
        return torch.sigmoid(self.drop2(self.out(h))[:, 0])


class _Gates(nn.Module):
    def __init__(self, d, p, pad):
        super().__init__(); self.gates = nn.ModuleList([BaseGate(d, p, pad), BaseGate(d, p, pad)])


class BaselineMCWES(nn.Module):
    "MC-WES (CSCM, RGB + flow) in plain modules; the parameter names of `mcwes.model.MCWES`."
    def __init__(self, dim: int, cfg: ModelConfig | None = None):
        super().__init__()
        cfg = cfg or ModelConfig()
        if tuple(cfg.streams) != ("rgb", "flow") or cfg.enhance != "cscm" or cfg.attn_scale or cfg.kernel_size != 3:
            raise ValueError("BaselineMCWES covers the default model only: two streams, enhance='cscm', attn_scale=False, kernel_size=3")
        c, self.dim, self.slope = 2 * dim, dim, cfg.leaky_slope
        pad = cfg.padding_mode                                           # "replicate" | "zeros", as the model's
        self.enhancer = _Gates(dim, cfg.dropout_cscm, pad)
        self.attention = nn.ModuleList([BaseAttention(dim, cfg.attn_hidden, cfg.dropout_attn, cfg.leaky_slope, pad) for _ in range(2)])
        self.fusion, self.cls_out = nn.Linear(c, c), nn.Linear(c, 3)
        self.cls_conv = nn.Conv1d(c, c, 3, padding=1, padding_mode=pad)
        self.drop_fusion, self.drop_cls1, self.drop_cls2 = nn.Dropout(cfg.dropout_fusion), nn.Dropout(cfg.dropout_cls), nn.Dropout(cfg.dropout_cls)

    def forward(self, x):                                                # (B, T, 2D)
        xr, xf = x[..., :self.dim], x[..., self.dim:]
        o_r, o_f = self.enhancer.gates[0](xr, xf), self.enhancer.gates[1](xf, xr)
        a_r, a_f = self.attention[0](o_r), self.attention[1](o_f)        # (B, T) each
        attn = (a_r + a_f) / 2
        feats = self.drop_fusion(F.leaky_relu(self.fusion(torch.cat([o_r, o_f], -1)), self.slope))
        h = self.cls_conv(self.drop_cls1(feats).transpose(1, 2)).transpose(1, 2)
        cas = self.cls_out(self.drop_cls2(F.leaky_relu(h, self.slope)))  # (B, T, 3)
        low = cas.min(-1, keepdim=True).values
        return {"attn_rgb": a_r, "attn_flow": a_f, "attn": attn, "cas": cas,
                "cas_supp": attn[..., None] * (cas - low) + low, "features": feats}


def _mil(cas, y2, h, bg: float, eps: float):
    "Per-video MIL loss (B,): top-k mean per class (k = max(1, floor(T / h))), softmax cross-entropy."
    T = cas.shape[1]
    pooled = torch.stack([torch.topk(cas[..., c], min(T, max(1, math.floor(T / h[c]))), dim=1).values.mean(1)
                          for c in range(3)], 1)                         # (B, 3)
    y = torch.cat([y2, torch.full_like(y2[:, :1], bg)], 1)
    y = y / (y.sum(1, keepdim=True) + eps)
    return -(y * torch.log_softmax(pooled, 1)).sum(1)


def _fc(feats, attn, cas, labels, pairs, k: int, tau: float):
    "L_fc, one pair and one direction at a time."
    total, n_s = feats.new_zeros(()), 0.0
    for i, j in pairs:
        y = labels[i] * labels[j]                                        # (2,)
        n_s += float(y.sum())
        for s, d in ((i, j), (j, i)):
            idx = torch.topk(attn[s].detach(), k).indices                # (k,)
            w = torch.softmax(cas[s, idx, :2], -1)                       # (k, 2)
            cos = F.normalize(feats[d], dim=-1) @ F.normalize(feats[s, idx], dim=-1).T   # (T, k)
            ms = torch.softmax(cos[..., None] * w[None] / tau, dim=1).amax(1)              # (T, 2)
            total = total + (y * (attn[d] @ ms) / attn[d].sum()).sum()
    return feats.new_zeros(()) if n_s == 0 else 1 - total / (2 * n_s)


def baseline_losses(out: dict, labels: torch.Tensor, pairs, cfg: LossConfig) -> dict:
    "The seven loss terms of Eq. 22 and their weighted total, plainly (default LossConfig choices)."
    if (cfg.label_norm, cfg.mask_mode, cfg.fc_similarity, cfg.fc_weights_from) != ("sum", "multiply", "softmax", "cas"):
        raise ValueError("baseline_losses covers the default LossConfig choices only")
    cas, a, ar, af = out["cas"], out["attn"], out["attn_rgb"], out["attn_flow"]
    mask = duration_mask(a.detach(), cfg.eta, cfg.omega_l, cfg.omega_u, reference=cfg.mask_reference,
                         alignment=cfg.mask_alignment)                   # (B, T)
    p_f = 1 - torch.softmax(cas, -1)[..., 2]
    T = cas.shape[1]
    r = {"sc": 0.5 * ((ar - af.detach()) ** 2).mean() + 0.5 * ((ar.detach() - af) ** 2).mean(),
         "dc1": _mil(cas, labels, cfg.h, 1.0, cfg.label_eps).mean(),
         "dc2": _mil(out["cas_supp"], labels, cfg.h, 0.0, cfg.label_eps).mean(),
         "dc3": _mil(mask[..., None] * cas, labels * labels.new_tensor([1.0, 0.0]), cfg.h, 1.0, cfg.label_eps).mean(),
         "fc": _fc(out["features"], a, cas, labels, pairs, max(1, math.floor(T / cfg.h[0])), cfg.fc_tau),
         "sl": (a.abs().mean() + ar.abs().mean() + af.abs().mean()) / 3,
         "gl": sum((p_f - x).abs().mean() for x in (a, ar, af)) / 3}
    r["total"] = (r["sc"] + r["dc1"] + r["dc2"] + cfg.lambda_dc3 * r["dc3"] + cfg.lambda_fc * r["fc"]
                  + cfg.lambda_sl * r["sl"] + cfg.lambda_gl * r["gl"])
    return r


def baseline_step(model: BaselineMCWES, opt: torch.optim.Optimizer, x, y, pairs, cfg: LossConfig) -> dict:
    "One plain fp32 optimisation step; returns the detached losses."
    losses = baseline_losses(model(x), y, pairs, cfg)
    opt.zero_grad(set_to_none=True); losses["total"].backward(); opt.step()
    return {k: v.detach() for k, v in losses.items()}


def losses_and_grads(model, cfg: Config, x, y, pairs, precision: str = "fp32", fast: bool = True):
    "(losses, {name: grad}) of one forward/backward: `fast` = mcwes.train's path, else the baseline."
    from mcwes.losses import compute_losses
    from mcwes.train import autocast
    model.zero_grad(set_to_none=True)
    if fast:
        with autocast(torch.device("cpu"), precision): out = model(x)
        losses = compute_losses({k: v.float() for k, v in out.items()}, y, pairs, cfg.loss)
    else: losses = baseline_losses(model(x), y, pairs, cfg.loss)
    losses["total"].backward()
    return {k: float(v.detach()) for k, v in losses.items()}, {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def check_equivalence(dim: int = 16, B: int = 6, T: int = 40, precision: str = "fp32", seed: int = 0) -> dict:
    """Losses and gradients of mcwes (dropout off) vs the baseline on one random batch; AssertionError beyond tolerance.

    fp32: every loss term and every parameter's gradient within 1e-4 (relative). bf16: the terms within
    2e-2 and the cosine between all gradients >= 0.95 (bf16 moves snippets in and out of the top-k, so a
    few parameters' gradients differ by ~20%: per-parameter agreement is not expected)."""
    from mcwes.train import init_model
    cfg = Config().override("model.dropout_cscm=0", "model.dropout_attn=0", "model.dropout_fusion=0",
                            "model.dropout_cls=0", "model.attn_hidden=32")
    fast = init_model(dim, cfg, seed, torch.device("cpu")).train()
    base = BaselineMCWES(dim, cfg.model).train(); base.load_state_dict(fast.state_dict())
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(B, T, 2 * dim, generator=g)
    y = torch.tensor([[1., 0.], [1., 1.], [0., 1.], [1., 0.], [0., 0.], [1., 1.]])[:B]
    pairs = [(0, 1), (2, 5), (3, 4)][:B // 2]
    lf, gf = losses_and_grads(fast, cfg, x, y, pairs, precision, fast=True)
    lb, gb = losses_and_grads(base, cfg, x, y, pairs, fast=False)
    flat = lambda gr: torch.cat([gr[n].flatten() for n in gb])
    res = {"precision": precision, "total_fast": lf["total"], "total_baseline": lb["total"],
           "max_rel_loss_err": max(abs(lf[k] - lb[k]) / max(abs(lb[k]), 1e-3) for k in lb),
           "max_rel_grad_err": max(float((gf[n] - gb[n]).norm() / gb[n].norm().clamp_min(1e-12)) for n in gb),
           "grad_cosine": float(F.cosine_similarity(flat(gf), flat(gb), 0))}
    ok = (res["max_rel_loss_err"] <= 1e-4 and res["max_rel_grad_err"] <= 1e-4) if precision == "fp32" else \
         (res["max_rel_loss_err"] <= 2e-2 and res["grad_cosine"] >= 0.95)
    if not ok: raise AssertionError(f"fast path differs from the baseline beyond tolerance: {res}")
    return res


if __name__ == "__main__":
    for prec in ("fp32", "bf16"): print(check_equivalence(precision=prec))
