#!/usr/bin/env python3
"""grid_jax.py — JAX's way to run a grid of seeds, for tools/bench/grid:
jax.vmap over the seeds of the canonical MLP. Every seed's step-0 weights and
training split (bench_step --seed S --dump DIR --dump-only) are stacked on a
leading axis; one jitted step runs the vmapped forward and value_and_grad of
every seed and AdamW (written out as PyTorch defines it, as peer_jax.py does)
on the stacked parameters; N such steps train the whole grid.

  grid_jax.py --dirs D0,D1,... [--threads N] [--steps N]

Prints one line per seed, "seed=I loss0= loss_n=" (as grid_torch.py), then
one line of key=value pairs:
  peer=jax-<version> threads= runs= steps= import_s= setup_s= compile_s=
  loop_s= rss_kb= cpus=
import_s: the start of the process to jax imported; setup_s: loading and
stacking the seeds and the first (vmapped, jitted) loss, its compilation
included; compile_s: lowering and compiling the train step ahead of time;
loop_s: the N steps of the compiled step (the steady state), up to the
result ready. Threads: as peer_jax.py (XLA:CPU takes the CPUs the process may
run on; --threads below that restricts the affinity).
"""
import argparse
import math
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
pc.thread_env(args.threads)
_cpus = sorted(os.sched_getaffinity(0))
if args.threads < len(_cpus):
    os.sched_setaffinity(0, _cpus[: max(args.threads, 1)])
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

T_IMPORT = time.perf_counter()
LR, B1, B2, EPS, WD = 1e-3, 0.9, 0.98, 1e-8, 1.0


def mlp(P, a, b):
    """One seed: logits = relu([E a ; E b] W1 + b1) W2 + b2."""
    x = jnp.concatenate([P["embed"][a], P["embed"][b]], axis=1)
    h = jax.nn.relu(x @ P["hidden.w"] + P["hidden.b"])
    return h @ P["classifier.w"] + P["classifier.b"]


def loss_fn(P, a, b, y):
    logp = jax.nn.log_softmax(mlp(P, a, b), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


# Every seed at once: parameters (S, ...), data (S, n).
grid_loss = jax.vmap(loss_fn)
grid_grad = jax.vmap(jax.value_and_grad(loss_fn))


def step(P, m, v, step_size, sqrt_bc2, a, b, y):
    """One AdamW step of every seed (the update is elementwise, so it runs
    on the stacked arrays as they are): p *= 1 - lr wd, then
    p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)."""
    loss, g = grid_grad(P, a, b, y)
    tm = jax.tree_util.tree_map
    m = tm(lambda m, g: B1 * m + (1 - B1) * g, m, g)
    v = tm(lambda v, g: B2 * v + (1 - B2) * (g * g), v, g)
    P = tm(lambda w, m, v: w * (1 - LR * WD) - step_size * (m / (jnp.sqrt(v) / sqrt_bc2 + EPS)), P, m, v)
    return P, m, v, loss


def corrections(t):
    """The bias corrections of update t (1-based), in double on the host as
    PyTorch forms them from its step count."""
    return np.float32(LR / (1 - B1 ** t)), np.float32(math.sqrt(1 - B2 ** t))


def main():
    dirs = [d for d in args.dirs.split(",") if d]
    t0 = time.perf_counter()
    Ps, data = [], []
    for d in dirs:
        P, a, b, y, p = pc.load(os.path.join(d, "init.safetensors"), os.path.join(d, "data.safetensors"))
        pc.check_labels(a, b, y, p)
        Ps.append(P)
        data.append((a.astype(np.int32), b.astype(np.int32), y.astype(np.int32)))
    if len({len(a) for a, _, _ in data}) != 1:
        raise SystemExit("grid_jax: the seeds' training splits differ in size: vmap needs one size")
    P = {k: jnp.asarray(np.stack([q[k] for q in Ps])) for k in Ps[0]}
    a, b, y = (jnp.asarray(np.stack([x[i] for x in data])) for i in range(3))
    loss0 = np.asarray(jax.jit(grid_loss)(P, a, b, y))
    m = jax.tree_util.tree_map(jnp.zeros_like, P)
    v = jax.tree_util.tree_map(jnp.zeros_like, P)
    t1 = time.perf_counter()
    compiled = jax.jit(step, donate_argnums=(0, 1, 2)).lower(P, m, v, *corrections(1), a, b, y).compile()
    t2 = time.perf_counter()
    for t in range(1, args.steps + 1):
        P, m, v, _ = compiled(P, m, v, *corrections(t), a, b, y)
    jax.block_until_ready(P)
    t3 = time.perf_counter()
    loss_n = np.asarray(jax.jit(grid_loss)(P, a, b, y))
    for i in range(len(dirs)):
        print("seed=%d loss0=%.7f loss_n=%.7f" % (i, loss0[i], loss_n[i]))
    print("peer=jax-%s threads=%d runs=%d steps=%d import_s=%.3f setup_s=%.3f compile_s=%.3f loop_s=%.3f "
          "rss_kb=%d cpus=%d" % (jax.__version__, args.threads, len(dirs), args.steps, T_IMPORT - T_START,
                                 t1 - t0, t2 - t1, t3 - t2, pc.peak_rss_kb(), len(os.sched_getaffinity(0))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
