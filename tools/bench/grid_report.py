#!/usr/bin/env python3
"""grid_report.py — the table and grid.csv of one tools/bench/grid results
directory (meta.env, grid.tsv, losses.tsv, dumps.tsv, labels.tsv,
skipped.tsv). Standard library only.

  grid_report.py OUT

Per way of running the grid: the median over repetitions of the grid's wall
seconds, runs per hour (S x 3600 / wall), the same scaled to runs of the
canonical length (5,000 updates, the MLP's default) as if the whole wall grew
with the steps, the rate against modgrad's default pool, the loss0 check
(every seed's first loss equal to bench_step's within 1e-4 relative) and the
largest relative difference of the loss after N updates from modgrad's
default pool's (float drift, not a check); for the Python peers their fixed
costs (import, JAX's compilation) and the steady-state rate without them.
"""
import csv
import os
import shlex
import statistics
import sys

CANONICAL_STEPS = 5000  # modgrad train's default --steps for the mlp

out = sys.argv[1]
meta = {}
for line in open(os.path.join(out, "meta.env")):
    if "=" in line:
        k, v = line.rstrip("\n").split("=", 1)
        meta[k] = " ".join(shlex.split(v))
S, N, R = int(meta["SEEDS"]), int(meta["STEPS"]), int(meta["REPS"])


def tsv(name, n):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return []
    return [line.rstrip("\n").split("\t", n - 1) for line in open(path) if line.strip()]


labels = dict(tsv("labels.tsv", 2))
order = list(labels)
skipped = tsv("skipped.tsv", 2)
ref0 = {int(s): float(l) for s, l in tsv("dumps.tsv", 2)}
walls, kvs, fails = {}, {}, {}
for pid, rep, rc, wall, extra in tsv("grid.tsv", 5):
    kv = dict(x.split("=", 1) for x in extra.split() if "=" in x)
    if rc == "0":
        walls.setdefault(pid, []).append(float(wall))
        kvs.setdefault(pid, []).append(kv)
    else:
        fails.setdefault(pid, []).append("exit %s: %s" % (rc, extra[4:] if extra.startswith("why=") else extra))
losses = {}
for pid, rep, seed, l0, ln in tsv("losses.tsv", 5):
    losses.setdefault(pid, []).append((int(seed), float(l0) if l0 else None, float(ln) if ln else None))
final_ref = {s: ln for s, _, ln in losses.get("mg-pool", []) if ln is not None}


def loss0_check(pid):
    """OK when every seed of every repetition starts at modgrad's loss0."""
    got = losses.get(pid, [])
    seeds = {s for s, _, _ in got}
    if not got or seeds != set(ref0):
        return "MISSING", "%d of %d seeds reported a loss0" % (len(seeds), len(ref0))
    bad = [(s, l0) for s, l0, _ in got if l0 is None or abs(l0 - ref0[s]) > 1e-4 * abs(ref0[s])]
    if bad:
        s, l0 = bad[0]
        return "MISMATCH", "seed %d: loss0 %s vs modgrad %.7f" % (s, l0, ref0[s])
    return "OK", ""


def final_diff(pid):
    d = [abs(ln - final_ref[s]) / abs(final_ref[s]) for s, _, ln in losses.get(pid, [])
         if ln is not None and s in final_ref]
    return max(d) if d else None


def med(pid, key):
    xs = [float(kv[key]) for kv in kvs.get(pid, []) if key in kv]
    return statistics.median(xs) if xs else None


print("\n== grid throughput: %d seeds of the canonical mlp (P 97), %d updates each, %s threads in all"
      % (S, N, meta["THREADS"]))
print("%s; load average at the start %s; medians of %d repetitions; commit %s"
      % (meta["CPU"], meta["LOAD"], R, meta["COMMIT"]))
hdr = "%-40s %-7s %9s %9s %12s %9s %-8s %10s  %s" % (
    "way", "J x T", "wall s", "runs/h", "runs/h@5000", "x pool", "loss0", "loss_N d", "notes")
print(hdr)
print("-" * len(hdr))
pool = statistics.median(walls["mg-pool"]) if walls.get("mg-pool") else None
rows = []
for pid in order:
    lab = labels[pid]
    if pid not in walls:
        why = fails.get(pid, ["no run"])[-1]
        print("%-40s failed: %s" % (lab, why[:150]))
        rows.append([lab, "", "", "", "", "", "", "", "failed: " + why])
        continue
    w = statistics.median(walls[pid])
    rate = S * 3600 / w
    canon = rate * N / CANONICAL_STEPS
    ratio = "%.3f" % (pool / w) if pool else ""
    jobs, thr = med(pid, "jobs"), med(pid, "threads")
    jt = "%dx%d" % (jobs, thr) if jobs and thr else ("1x%d" % thr if thr else "")
    chk, why = loss0_check(pid)
    fd = final_diff(pid)
    notes = []
    if why:
        notes.append(why)
    if pid in fails:
        notes.append("%d of %d repetitions failed" % (len(fails[pid]), R))
    blas = kvs[pid][0].get("blas", "")
    if blas.startswith("blis") and "/arch" in blas and meta.get("ARCH"):
        blas = blas.split("/arch")[0] + "/" + meta["ARCH"]  # BLIS_ARCH_TYPE's number, by name
    if blas:
        notes.append("BLAS " + blas)
    imp, comp, loop, setup = (med(pid, k) for k in ("import_s", "compile_s", "loop_s", "setup_s"))
    if imp is not None:
        notes.append("import %.1f s" % imp)
    if setup is not None:
        notes.append("setup %.1f s" % setup)
    if comp is not None:
        notes.append("compile %.1f s" % comp)
    if loop is not None:
        notes.append("steady %.0f runs/h (%.1f @5000)" % (S * 3600 / loop, S * 3600 / loop * N / CANONICAL_STEPS))
    fd_s = "%.1e" % fd if fd is not None else "-"
    print("%-40s %-7s %9.2f %9.0f %12.1f %9s %-8s %10s  %s" % (
        lab, jt, w, rate, canon, ratio or "-", chk, fd_s, "; ".join(notes)))
    rows.append([lab, jt, "%.3f" % w, "%.1f" % rate, "%.2f" % canon, ratio, chk,
                 "%.2e" % fd if fd is not None else "", "; ".join(notes)])
for name, why in skipped:
    print("%-40s skipped: %s" % (name, why))
    rows.append([name, "", "", "", "", "", "skipped", "", why])
print("(wall s: the whole grid from outside, start-up included; runs/h@5000: runs/h x N/5000, as if\n"
      " every second grew with the steps, which undercounts ways with large fixed costs; x pool:\n"
      " this rate / modgrad's default pool's; loss_N d: the largest relative difference of a\n"
      " run's loss after N updates from the default pool's (float drift); steady: the peer's own\n"
      " loop without its import, setup and compilation)")

with open(os.path.join(out, "grid.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["way", "jobs_x_threads", "wall_s", "runs_per_hour", "runs_per_hour_at_5000",
                "rate_vs_pool", "loss0_ok", "loss_n_max_rel_diff", "notes"])
    w.writerows(rows)
