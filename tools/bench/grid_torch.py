#!/usr/bin/env python3
"""grid_torch.py — the PyTorch way to run a grid of seeds, for tools/bench/grid:
one Python process looping over the seeds, a fresh model and optimizer per
seed, N full-batch AdamW steps each, from modgrad's step-0 weights and
training split of that seed (bench_step --seed S --dump DIR --dump-only).

  grid_torch.py --dirs D0,D1,... [--threads N] [--steps N]

Prints one line per seed, "seed=I loss0= loss_n=" (loss0: the first forward
from the loaded weights, which must equal modgrad's; loss_n: the training
loss after N updates, modgrad train's train_loss at step N within float
drift), then one line of key=value pairs:
  peer=torch-<version> threads= runs= steps= import_s= loop_s= rss_kb= blas=
import_s: from the start of the process to torch imported; loop_s: the loop
over the seeds (loading each seed's weights and data, building the model and
the optimizer, the N steps, the final loss).
"""
import argparse
import os
import sys
import time

T_START = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--dirs", required=True, help="comma-separated bench_step --dump directories, one per seed")
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--steps", type=int, default=300, help="AdamW updates per run")
args = ap.parse_args()
pc.thread_env(args.threads)  # before torch loads OpenMP and the BLAS

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
T_IMPORT = time.perf_counter()


class MLP(nn.Module):
    """logits = relu([E a ; E b] W1 + b1) W2 + b2 with modgrad's step-0 weights
    (modgrad keeps W as (in, out), nn.Linear as (out, in))."""

    def __init__(self, P):
        super().__init__()
        self.embed = nn.Embedding(*P["embed"].shape)
        self.hidden = nn.Linear(*P["hidden.w"].shape)
        self.classifier = nn.Linear(*P["classifier.w"].shape)
        with torch.no_grad():
            self.embed.weight.copy_(torch.from_numpy(P["embed"]))
            for lin, k in ((self.hidden, "hidden"), (self.classifier, "classifier")):
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(P[k + ".w"].T)))
                lin.bias.copy_(torch.from_numpy(P[k + ".b"]))

    def forward(self, a, b):
        x = torch.cat([self.embed(a), self.embed(b)], dim=1)
        return self.classifier(F.relu(self.hidden(x)))


def run(d):
    """One run: the seed's weights and split, a fresh model and AdamW, N steps."""
    init, data = os.path.join(d, "init.safetensors"), os.path.join(d, "data.safetensors")
    P, a, b, y, p = pc.load(init, data)
    pc.check_labels(a, b, y, p)
    model = MLP(P)
    a, b, y = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(y)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=1.0)
    with torch.no_grad():
        loss0 = F.cross_entropy(model(a, b), y).item()
    for _ in range(args.steps):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(a, b), y)
        loss.backward()
        opt.step()
    with torch.no_grad():
        loss_n = F.cross_entropy(model(a, b), y).item()
    return loss0, loss_n


def main():
    dirs = [d for d in args.dirs.split(",") if d]
    t0 = time.perf_counter()
    for i, d in enumerate(dirs):
        loss0, loss_n = run(d)
        print("seed=%d loss0=%.7f loss_n=%.7f" % (i, loss0, loss_n), flush=True)
    loop = time.perf_counter() - t0
    blas = pc.describe_blas(pc.sgemm_provider("libtorch_cpu"))
    print("peer=torch-%s threads=%d runs=%d steps=%d import_s=%.3f loop_s=%.3f rss_kb=%d blas=%s"
          % (torch.__version__, torch.get_num_threads(), len(dirs), args.steps, T_IMPORT - T_START, loop,
             pc.peak_rss_kb(), blas))
    return 0


if __name__ == "__main__":
    sys.exit(main())
