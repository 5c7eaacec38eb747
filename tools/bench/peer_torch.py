#!/usr/bin/env python3
"""peer_torch.py — the PyTorch peer of tools/bench: the same full-batch
training step as modgrad's (forward, backward, AdamW) from the same step-0
weights (bench_step --dump) on the same data, written as a PyTorch user
would write it.

  peer_torch.py --model mlp|transformer|attn_stack --init DIR/init.safetensors
                --data DIR/data.safetensors [--threads N] [--steps N]
                [--compile] [--grok [--eval-every N] [--max-steps N]]

attn_stack (the execution-manifold study's model, models/attn_stack.c) trains
on minibatches of a generated task: DIR/data.safetensors holds the batches of
modgrad's first steps (tokens (B, rows, T), y (B, rows)), taken in order and
cycled, one per step; AdamW with the dump's settings (lr, wd, beta1, beta2,
eps: the study's, tools/studies/manifold.json). Its q, k and v products are fused into one (d, 3d)
Linear with bias (the released code's form: modgrad's three (d, d) weights
side by side, the same function) and the attention is
F.scaled_dot_product_attention(is_causal=True) (torch >= 2; the explicit
softmax before), the fastest form a PyTorch user has for the same math.
Its line also has attention=sdpa|explicit; its loss_end is after 2 + steps - 1
updates, 5 + steps - 1 with --compile (which warms up on 5 steps).

Prints one line of key=value pairs:
  peer=torch-<version>[-compile] model= threads= steps= median_s= min_s=
  cpu_median_s= loss0= loss_end= rss_kb= blas= blas_loaded=
cpu_median_s is the median CPU time of a step (time.process_time: all of the
process's threads), the figure a loaded machine disturbs least.
loss0 is the loss of the first forward from the loaded weights (it must equal
bench_step's loss0: the proof that both do the same work); loss_end the loss
of the last timed step's forward, after 2 + steps - 1 updates (equal across
the peers, and to modgrad's train_loss at that step, within float drift);
blas is the library torch's sgemm_ binds to (see peer_common.describe_blas);
blas_loaded the BLAS libraries in /proc/self/maps.

--grok trains from the loaded weights until the held-out pairs (every (a, b)
not in the training split) reach 99% accuracy at 3 evaluations in a row
(modgrad train --stop-at-grok's rule) and prints grok_step= (the first
evaluation at >= 99%), stop_step= and wall_s= instead of the step times.

Runs under Debian's torch 1.13 (python3-torch) and current torch; --compile
needs torch >= 2. Every import of torch happens after the thread settings.
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=["mlp", "transformer", "attn_stack"])
    ap.add_argument("--init", required=True, help="init.safetensors from bench_step --dump")
    ap.add_argument("--data", required=True, help="data.safetensors from bench_step --dump")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=20, help="timed steps (after 2 warm-up steps)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the step (torch >= 2)")
    ap.add_argument("--grok", action="store_true", help="train to 99%% held-out accuracy instead")
    ap.add_argument("--eval-every", type=int, default=0, help="--grok: steps between evaluations "
                    "(default: mlp 50, transformer 250, as tools/bench/run gives modgrad)")
    ap.add_argument("--max-steps", type=int, default=100000, help="--grok: give up after this many")
    return ap.parse_args()


args = parse()
pc.thread_env(args.threads)  # OpenMP, OpenBLAS, BLIS, MKL: before torch loads them

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)


def linear(w, b=None):
    """An nn.Linear holding modgrad's (in, out) weight W (y = x W + b):
    nn.Linear keeps (out, in), so it gets W^T."""
    fan_in, fan_out = w.shape
    lin = nn.Linear(fan_in, fan_out, bias=b is not None)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
        if b is not None:
            lin.bias.copy_(torch.from_numpy(b))
    return lin


def embedding(e):
    emb = nn.Embedding(*e.shape)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(e))
    return emb


class MLP(nn.Module):
    """logits = relu([E a ; E b] W1 + b1) W2 + b2."""

    def __init__(self, P):
        super().__init__()
        self.embed = embedding(P["embed"])
        self.hidden = linear(P["hidden.w"], P["hidden.b"])
        self.classifier = linear(P["classifier.w"], P["classifier.b"])

    def forward(self, a, b):
        x = torch.cat([self.embed(a), self.embed(b)], dim=1)
        return self.classifier(F.relu(self.hidden(x)))


class Transformer(nn.Module):
    """One block, no layer norm: causal multi-head attention and a ReLU MLP
    on the residual stream of tokens (a, b, =); logits at the last position."""

    def __init__(self, P, heads=4):
        super().__init__()
        self.heads = heads
        self.embed = embedding(P["embed"])
        self.pos = nn.Parameter(torch.from_numpy(P["pos"]))
        self.q = linear(P["attn.q"])
        self.k = linear(P["attn.k"])
        self.v = linear(P["attn.v"])
        self.o = linear(P["attn.o"])
        self.w_in = linear(P["mlp.w_in"], P["mlp.b_in"])
        self.w_out = linear(P["mlp.w_out"], P["mlp.b_out"])
        self.unembed = linear(P["unembed"])
        self.register_buffer("mask", torch.tril(torch.ones(3, 3, dtype=torch.bool)))

    def forward(self, tokens):
        n, t = tokens.shape
        d = self.pos.shape[1]
        h, dh = self.heads, d // self.heads
        x0 = self.embed(tokens) + self.pos                           # (n, 3, d)
        q = self.q(x0).view(n, t, h, dh).transpose(1, 2)             # (n, h, 3, dh)
        k = self.k(x0).view(n, t, h, dh).transpose(1, 2)
        v = self.v(x0).view(n, t, h, dh).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
        attn = scores.masked_fill(~self.mask, float("-inf")).softmax(dim=-1)
        z = (attn @ v).transpose(1, 2).reshape(n, t, d)
        x1 = x0 + self.o(z)
        x2 = x1 + self.w_out(F.relu(self.w_in(x1)))
        return self.unembed(x2[:, -1])


class AttnStack(nn.Module):
    """L pre-LayerNorm blocks of causal multi-head attention (and a GELU MLP,
    tanh form, when the weights have one), final LayerNorm, a linear head at
    the last position (models/attn_stack.c):
      x = E[tokens] + pos;  x += attn(LN1(x));  x += mlp(LN2(x));
      logits = LN_f(x[:, -1]) head + head_bias."""

    def __init__(self, P, heads):
        super().__init__()
        self.heads = heads
        self.embed = embedding(P["embed"])
        self.pos = nn.Parameter(torch.from_numpy(P["pos"]))
        d = P["pos"].shape[1]
        self.layers = nn.ModuleList()
        l = 0
        while "l%d.q" % l in P:
            self.layers.append(self.block(P, "l%d." % l, d))
            l += 1
        self.ln_f = layer_norm(P["final.ln_gain"], P["final.ln_bias"])
        self.head = linear(P["head"], P["head.bias"])
        self.sdpa = hasattr(F, "scaled_dot_product_attention")
        if not self.sdpa:
            t = P["pos"].shape[0]
            self.register_buffer("mask", torch.tril(torch.ones(t, t, dtype=torch.bool)))

    @staticmethod
    def block(P, n, d):
        b = nn.Module()
        b.ln1 = layer_norm(P[n + "ln1_gain"], P[n + "ln1_bias"])
        b.qkv = linear(np.concatenate([P[n + x] for x in ("q", "k", "v")], axis=1),
                       np.concatenate([P[n + x + "_bias"] for x in ("q", "k", "v")]))
        b.o = linear(P[n + "o"], P[n + "o_bias"])
        b.mlp = n + "w_in" in P
        if b.mlp:
            b.ln2 = layer_norm(P[n + "ln2_gain"], P[n + "ln2_bias"])
            b.w_in = linear(P[n + "w_in"], P[n + "w_in_bias"])
            b.w_out = linear(P[n + "w_out"], P[n + "w_out_bias"])
        return b

    def attention(self, b, u):
        n, t, d = u.shape
        h = self.heads
        q, k, v = (z.view(n, t, h, d // h).transpose(1, 2) for z in b.qkv(u).split(d, dim=2))
        if self.sdpa:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-2, -1)) / math.sqrt(d // h)
            z = s.masked_fill(~self.mask, float("-inf")).softmax(dim=-1) @ v
        return b.o(z.transpose(1, 2).reshape(n, t, d))

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos                            # (n, T, d)
        for b in self.layers:
            x = x + self.attention(b, b.ln1(x))
            if b.mlp:
                x = x + b.w_out(F.gelu(b.w_in(b.ln2(x)), approximate="tanh"))
        return self.head(self.ln_f(x[:, -1]))


def layer_norm(gain, bias):
    ln = nn.LayerNorm(gain.shape[0], eps=1e-5)
    with torch.no_grad():
        ln.weight.copy_(torch.from_numpy(gain))
        ln.bias.copy_(torch.from_numpy(bias))
    return ln


def main_batches():
    """attn_stack: minibatches of a generated task, one dumped batch per step."""
    if args.grok:
        print("peer_torch: --grok needs a fixed split; %s trains on generated batches" % args.model,
              file=sys.stderr)
        return 2
    P, tokens, ys, meta = pc.load_batches(args.init, args.data)
    model = AttnStack(P, int(meta["heads"]))
    tok = [torch.from_numpy(t) for t in tokens]
    lab = [torch.from_numpy(y) for y in ys]
    hp = {k: float(meta[k]) for k in ("lr", "wd", "beta1", "beta2", "eps")}
    opt = torch.optim.AdamW(model.parameters(), lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]),
                            eps=hp["eps"], weight_decay=hp["wd"])
    with torch.no_grad():
        loss0 = F.cross_entropy(model(tok[0]), lab[0]).item()

    def train_step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    peer, step = "torch-" + torch.__version__, train_step
    if args.compile:
        if not hasattr(torch, "compile"):
            print("peer_torch: torch.compile needs torch >= 2 (this is %s): skipped" % torch.__version__,
                  file=sys.stderr)
            return 3
        step = torch.compile(train_step)
        peer += "-compile"
    # Warm-up: allocator, thread pools; compiled, the first steps also
    # compile (forward, backward, the optimizer) and the compiler's worker
    # processes settle: 5 of them.
    s = 0
    for _ in range(5 if args.compile else 2):
        step(tok[s % len(tok)], lab[s % len(tok)])
        s += 1
    dt, ct = [], []
    for _ in range(max(args.steps, 1)):
        x, y = tok[s % len(tok)], lab[s % len(tok)]
        s += 1
        t0, c0 = time.perf_counter(), time.process_time()
        loss = step(x, y)
        ct.append(time.process_time() - c0)
        dt.append(time.perf_counter() - t0)
    blas = pc.describe_blas(pc.sgemm_provider("libtorch_cpu"), static_name=static_blas())
    print("peer=%s model=%s threads=%d steps=%d median_s=%.6f min_s=%.6f cpu_median_s=%.6f rss_kb=%d "
          "loss_end=%.7f loss0=%.7f attention=%s blas=%s blas_loaded=%s"
          % (peer, args.model, torch.get_num_threads(), len(dt), pc.median(dt), min(dt), pc.median(ct),
             pc.peak_rss_kb(), loss.item(), loss0, "sdpa" if model.sdpa else "explicit", blas,
             ",".join(pc.loaded_blas()) or "none"))
    return 0


def main():
    if args.model == "attn_stack":
        return main_batches()
    P = pc.read_safetensors(args.init)[0]
    _, a, b, y, p = pc.load(args.init, args.data)
    pc.check_labels(a, b, y, p)
    ta, tb, ty = pc.test_split(a, b, p)

    def inputs(a, b):
        a, b = torch.from_numpy(a), torch.from_numpy(b)
        if args.model == "mlp":
            return (a, b)
        return (torch.stack([a, b, torch.full_like(a, p)], dim=1),)

    model = MLP(P) if args.model == "mlp" else Transformer(P)
    x, y_t = inputs(a, b), torch.from_numpy(y)
    tx, ty_t = inputs(ta, tb), torch.from_numpy(ty)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-8,
                            weight_decay=1.0)

    with torch.no_grad():
        loss0 = F.cross_entropy(model(*x), y_t).item()

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(*x), y_t)
        loss.backward()
        opt.step()
        return loss

    peer = "torch-" + torch.__version__
    step = train_step
    if args.compile:
        if not hasattr(torch, "compile"):
            print("peer_torch: torch.compile needs torch >= 2 (this is %s): skipped" % torch.__version__,
                  file=sys.stderr)
            return 3
        step = torch.compile(train_step)
        peer += "-compile"

    blas = pc.describe_blas(pc.sgemm_provider("libtorch_cpu"), static_name=static_blas())
    loaded = ",".join(pc.loaded_blas()) or "none"
    head = "peer=%s model=%s threads=%d" % (peer, args.model, torch.get_num_threads())
    tail = "loss0=%.7f blas=%s blas_loaded=%s" % (loss0, blas, loaded)

    if args.grok:
        every = args.eval_every or (50 if args.model == "mlp" else 250)
        t0 = time.perf_counter()
        s, held, first = 0, 0, None
        while True:
            if s % every == 0 or s >= args.max_steps:
                model.eval()
                with torch.no_grad():
                    acc = (model(*tx).argmax(dim=1) == ty_t).float().mean().item()
                model.train()
                held = held + 1 if acc >= 0.99 else 0
                if acc >= 0.99 and first is None:
                    first = s
                if held >= 3 or s >= args.max_steps:
                    break
            loss = step()
            s += 1
            if not math.isfinite(loss.item()):
                print("peer_torch: diverged at step %d" % s, file=sys.stderr)
                return 1
        wall = time.perf_counter() - t0
        print("%s grok_step=%s stop_step=%d wall_s=%.3f test_acc=%.4f rss_kb=%d %s"
              % (head, first if held >= 3 else "none", s, wall, acc, pc.peak_rss_kb(), tail))
        return 0

    for _ in range(2):  # warm-up: allocator, thread pools, compilation
        step()
    dt, ct = [], []
    for _ in range(max(args.steps, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = step()
        ct.append(time.process_time() - c0)
        dt.append(time.perf_counter() - t0)
    print("%s steps=%d median_s=%.6f min_s=%.6f cpu_median_s=%.6f rss_kb=%d loss_end=%.7f %s"
          % (head, len(dt), pc.median(dt), min(dt), pc.median(ct), pc.peak_rss_kb(), float(loss), tail))
    return 0


def static_blas():
    """The BLAS built into libtorch itself, as torch reports it (PyPI wheels
    link MKL statically, so no BLAS shows up in the maps)."""
    try:
        cfg = torch.__config__.show()
    except Exception:
        return None
    for part in cfg.replace(",", " ").split():
        if part.startswith("BLAS_INFO="):
            return part.split("=", 1)[1] + "-static"
    return None


if __name__ == "__main__":
    sys.exit(main())
