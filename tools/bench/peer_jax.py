#!/usr/bin/env python3
"""peer_jax.py — the JAX peer of tools/bench: the same full-batch training
step as modgrad's (forward, value_and_grad, AdamW written out as PyTorch
defines it) under one jax.jit, from the same step-0 weights
(bench_step --dump) on the same data.

  peer_jax.py --model mlp|transformer --init DIR/init.safetensors
              --data DIR/data.safetensors [--threads N] [--steps N]
              [--grok [--eval-every N] [--max-steps N]]

Prints the line peer_torch.py prints, with peer=jax-<version>; blas= is
"xla-builtin" (XLA:CPU generates its own GEMMs and calls no BLAS library)
unless a BLAS shows up as the provider of sgemm_.

Threads. XLA:CPU sizes its intra-op thread pool from the CPUs this process
may run on, and has no flag that caps it: --xla_cpu_multi_thread_eigen=false
only affects Eigen calls the compiler emits, and "intra_op_parallelism_threads"
is not an XLA flag (XLA_FLAGS ignores a bare token, and rejects
--intra_op_parallelism_threads as unknown). Measured with jax 0.10: a jitted
(1536, 1536) matmul still runs on 3 threads with both set. So for
--threads N below the CPUs available this peer restricts its own CPU
affinity to N CPUs (os.sched_setaffinity, before jax is imported), which
XLA honours; with N == 1 it also sets the flag above (what older jax
versions honoured). With N equal to the machine's cores nothing is set.
"""
import argparse
import math
import os
import sys
import time
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=["mlp", "transformer"])
    ap.add_argument("--init", required=True, help="init.safetensors from bench_step --dump")
    ap.add_argument("--data", required=True, help="data.safetensors from bench_step --dump")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=20, help="timed steps (after 2 warm-up steps)")
    ap.add_argument("--grok", action="store_true", help="train to 99%% held-out accuracy instead")
    ap.add_argument("--eval-every", type=int, default=0,
                    help="--grok: steps between evaluations (default: mlp 50, transformer 250)")
    ap.add_argument("--max-steps", type=int, default=100000, help="--grok: give up after this many")
    return ap.parse_args()


args = parse()
pc.thread_env(args.threads)
_cpus = sorted(os.sched_getaffinity(0))
if args.threads < len(_cpus):
    os.sched_setaffinity(0, _cpus[: max(args.threads, 1)])
if args.threads == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

LR, B1, B2, EPS, WD = 1e-3, 0.9, 0.98, 1e-8, 1.0
HEADS = 4


def mlp(P, a, b):
    x = jnp.concatenate([P["embed"][a], P["embed"][b]], axis=1)
    h = jax.nn.relu(x @ P["hidden.w"] + P["hidden.b"])
    return h @ P["classifier.w"] + P["classifier.b"]


def transformer(P, tokens):
    n, t = tokens.shape
    d = P["pos"].shape[1]
    h, dh = HEADS, d // HEADS
    x0 = P["embed"][tokens] + P["pos"]                                  # (n, 3, d)

    def heads(w):
        return (x0 @ w).reshape(n, t, h, dh).transpose(0, 2, 1, 3)      # (n, h, 3, dh)

    q, k, v = heads(P["attn.q"]), heads(P["attn.k"]), heads(P["attn.v"])
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)
    mask = jnp.tril(jnp.ones((t, t), dtype=bool))
    attn = jax.nn.softmax(jnp.where(mask, scores, -jnp.inf), axis=-1)
    z = (attn @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
    x1 = x0 + z @ P["attn.o"]
    x2 = x1 + jax.nn.relu(x1 @ P["mlp.w_in"] + P["mlp.b_in"]) @ P["mlp.w_out"] + P["mlp.b_out"]
    return x2[:, -1] @ P["unembed"]


def main():
    P_np, a, b, y, p = pc.load(args.init, args.data)
    pc.check_labels(a, b, y, p)
    ta, tb, ty = pc.test_split(a, b, p)
    forward = mlp if args.model == "mlp" else transformer

    def inputs(a, b):
        a, b = a.astype(np.int32), b.astype(np.int32)
        if args.model == "mlp":
            return (jnp.asarray(a), jnp.asarray(b))
        return (jnp.asarray(np.stack([a, b, np.full_like(a, p)], axis=1)),)

    x, y_j = inputs(a, b), jnp.asarray(y.astype(np.int32))
    tx, ty_j = inputs(ta, tb), jnp.asarray(ty.astype(np.int32))

    def loss_fn(P, x, y):
        logp = jax.nn.log_softmax(forward(P, *x), axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @partial(jax.jit, donate_argnums=(0, 1, 2))  # P, m, v updated in place
    def step_jit(P, m, v, step_size, sqrt_bc2, x, y):
        """One AdamW step, PyTorch's: decoupled decay p *= 1 - lr wd, then
        p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)."""
        loss, g = jax.value_and_grad(loss_fn)(P, x, y)
        m = jax.tree_util.tree_map(lambda m, g: B1 * m + (1 - B1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: B2 * v + (1 - B2) * (g * g), v, g)
        P = jax.tree_util.tree_map(
            lambda w, m, v: w * (1 - LR * WD) - step_size * (m / (jnp.sqrt(v) / sqrt_bc2 + EPS)),
            P, m, v)
        return P, m, v, loss

    def step(P, m, v, t, x, y):
        """The bias corrections in double on the host, as PyTorch forms them
        from its step count; t is a Python int."""
        t += 1
        P, m, v, loss = step_jit(P, m, v, np.float32(LR / (1 - B1 ** t)),
                                 np.float32(math.sqrt(1 - B2 ** t)), x, y)
        return P, m, v, t, loss

    @jax.jit
    def accuracy(P, x, y):
        return jnp.mean(jnp.argmax(forward(P, *x), axis=-1) == y)

    P = {k: jnp.asarray(w) for k, w in P_np.items()}
    m = jax.tree_util.tree_map(jnp.zeros_like, P)
    v = jax.tree_util.tree_map(jnp.zeros_like, P)
    t = 0
    loss0 = float(jax.jit(loss_fn)(P, x, y_j))

    peer = "jax-" + jax.__version__
    prov = None
    for anchor in ("libjax_common", "_xla", "xla_extension"):
        prov = prov or pc.sgemm_provider(anchor)
    blas = pc.describe_blas(prov) if prov else "xla-builtin"
    loaded = ",".join(pc.loaded_blas()) or "none"
    head = "peer=%s model=%s threads=%d" % (peer, args.model, args.threads)
    tail = "loss0=%.7f blas=%s blas_loaded=%s cpus=%d" % (loss0, blas, loaded, len(os.sched_getaffinity(0)))

    if args.grok:
        every = args.eval_every or (50 if args.model == "mlp" else 250)
        t0 = time.perf_counter()
        s, held, first, loss = 0, 0, None, loss0
        while True:
            if s % every == 0 or s >= args.max_steps:
                acc = float(accuracy(P, tx, ty_j))
                held = held + 1 if acc >= 0.99 else 0
                if acc >= 0.99 and first is None:
                    first = s
                if held >= 3 or s >= args.max_steps:
                    break
            P, m, v, t, loss = step(P, m, v, t, x, y_j)
            s += 1
        jax.block_until_ready(P)
        wall = time.perf_counter() - t0
        if not math.isfinite(float(loss)):
            print("peer_jax: diverged", file=sys.stderr)
            return 1
        print("%s grok_step=%s stop_step=%d wall_s=%.3f test_acc=%.4f rss_kb=%d %s"
              % (head, first if held >= 3 else "none", s, wall, acc, pc.peak_rss_kb(), tail))
        return 0

    for _ in range(2):  # warm-up: compilation
        P, m, v, t, loss = step(P, m, v, t, x, y_j)
    jax.block_until_ready((P, m, v, loss))
    dt = []
    for _ in range(max(args.steps, 1)):
        t0 = time.perf_counter()
        P, m, v, t, loss = step(P, m, v, t, x, y_j)
        jax.block_until_ready((P, m, v, loss))
        dt.append(time.perf_counter() - t0)
    print("%s steps=%d median_s=%.6f min_s=%.6f rss_kb=%d loss_end=%.7f %s"
          % (head, len(dt), pc.median(dt), min(dt), pc.peak_rss_kb(), float(loss), tail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
