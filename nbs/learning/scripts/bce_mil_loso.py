"""`mcwes loso` with the MIL losses as independent per-class binary cross-entropies (36_learning §6).

A screening patch, not a config field: it inverted the attention on both development twins
(`learning/me_screen.jsonl`, change "MIL as per-class BCE"). The paper's MIL (CO2-Net's) takes the cross-entropy
of the video's labels, normalised to sum to 1, against the softmax of the three top-K pooled logits, so in a video
holding both kinds the ME pool has to match the MaE pool. Multi-label MIL asks instead, class by class, whether
the pooled logit says "present", so an ME's presence does not depend on how strong the video's MaE is. Usage,
from the repository root:

    OMP_NUM_THREADS=1 python nbs/learning/scripts/bce_mil_loso.py loso --preset sample --features DIR/features \
        --annotations DIR/annotations.csv --out RUN --seeds 0 --quiet --no-checkpoints --subjects s27 s16 s24 s31 s32 s25 s23 s37
"""
import sys
import torch
import mcwes.losses
from mcwes.cli import main

def mil_bce(u, labels, background, *, label_norm="sum", eps=1e-4):
    "Per video (B,): mean over (MaE, ME, BG) of the binary cross-entropy of the pooled logits `u` (B, 3) against presence."
    bg = torch.full_like(u[:, :1], 1.0 if background else 0.0)                 # (B, 1)
    y = torch.cat([labels.to(u.dtype), bg], dim=1)                             # (B, 3) unnormalised
    return torch.nn.functional.binary_cross_entropy_with_logits(u, y, reduction="none").mean(1)

if __name__ == "__main__":
    mcwes.losses.mil_from_pooled = mil_bce          # what mil_loss (L1_dc, L2_dc) and loss_dc3 call
    sys.exit(main(sys.argv[1:]))
