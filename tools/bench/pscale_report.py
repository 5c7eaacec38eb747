#!/usr/bin/env python3
"""pscale_report.py — the table and pscale.csv of one tools/bench/pscale
results directory (pscale.tsv, labels.tsv, skipped.tsv, meta.env).
Standard library only.

  pscale_report.py OUT

Per P: the training rows, modgrad's step FLOPs (after its rewrites), the
median over repetitions of each run's median step time (wall) and median
CPU time of a step, for modgrad and the torch peer; modgrad/torch (below 1:
modgrad is faster) and the loss0 check (the peer's first loss must equal
modgrad's within 1e-4 relative). Then, per runner, a least-squares line
time = fixed + FLOPs / rate over the P's: its intercept is the fixed
per-step cost, what does not shrink with P.
"""
import csv, os, statistics, sys

out = sys.argv[1]
meta = {}
for line in open(os.path.join(out, "meta.env")):
    if "=" in line:
        k, v = line.rstrip("\n").split("=", 1)
        meta[k] = v.strip("'\"").replace("\\ ", " ")
rows = [l.rstrip("\n").split("\t", 4) for l in open(os.path.join(out, "pscale.tsv")) if l.strip()]
labels = dict(l.rstrip("\n").split("\t", 1) for l in open(os.path.join(out, "labels.tsv")) if l.strip())
skipped = [l.rstrip("\n").split("\t", 1) for l in open(os.path.join(out, "skipped.tsv")) if l.strip()]

runs, fails = {}, {}
for pid, rep, p, st, line in rows:
    if st == "ok":
        runs.setdefault((int(p), pid), []).append(dict(x.split("=", 1) for x in line.split() if "=" in x))
    else:
        fails.setdefault((int(p), pid), []).append(line)
ps = sorted({int(r[2]) for r in rows})
peer = "deb-blis" if "deb-blis" in labels else None


def med(p, pid, key):
    vals = [float(kv[key]) for kv in runs.get((p, pid), []) if key in kv]
    return statistics.median(vals) if vals else None


def rows_of(p):
    """The training split's size: round(frac P^2) of the P^2 pairs, frac 0.5
    (the canonical mlp's), as the dump's data.safetensors holds it."""
    try:
        import struct, json
        with open(os.path.join(out, "data", "p=%d" % p, "data.safetensors"), "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            return json.loads(fh.read(n))["a"]["shape"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return None


def ms(x):
    return "%9.3f" % (x * 1e3) if x is not None else "%9s" % "-"


print("\n== P-scaling: the canonical mlp's training step against P (%s threads, median of %s runs x %s steps)"
      % (meta.get("THREADS", "?"), meta.get("REPS", "?"), meta.get("STEPS", "?")))
plab = labels.get(peer, "torch") if peer else None
hdr = "%5s %6s %9s %9s %9s" % ("P", "rows", "MFLOP", "mg ms", "mg cpu ms")
if peer:
    hdr += " %9s %9s %9s %9s  %-8s" % ("torch ms", "tch cpu", "mg/torch", "cpu ratio", "loss0")
print("(torch: %s)" % plab if peer else "(no torch peer: %s)" % "; ".join(w for _, w in skipped) or "none")
print(hdr)
print("-" * len(hdr))
csv_rows, fit, cfit = [], {"modgrad": [], peer: []}, {"modgrad": [], peer: []}
for p in ps:
    n = rows_of(p)
    mg, mgc = med(p, "modgrad", "median_s"), med(p, "modgrad", "cpu_median_s")
    mk = runs.get((p, "modgrad"), [])
    flops = float(mk[0]["flops"]) if mk else None
    line = "%5d %6s %9s %s %s" % (p, n if n is not None else "-", "%.1f" % (flops * 1e-6) if flops else "-",
                                  ms(mg), ms(mgc))
    if not mk:
        line += "   modgrad failed: %s" % "; ".join(fails.get((p, "modgrad"), ["no run"]))[:120]
    rec = [p, n, "%.0f" % flops if flops else "", "%.6f" % mg if mg else "", "%.6f" % mgc if mgc else ""]
    if mg and flops:
        fit["modgrad"].append((flops, mg))
    if mgc and flops:
        cfit["modgrad"].append((flops, mgc))
    if peer:
        t, tc = med(p, peer, "median_s"), med(p, peer, "cpu_median_s")
        kvs = runs.get((p, peer), [])
        ok = ""
        if kvs and mk:
            l0, m0 = float(kvs[0]["loss0"]), float(mk[0]["loss0"])
            ok = "OK" if abs(l0 - m0) <= 1e-4 * abs(m0) else "MISMATCH %.7f vs %.7f" % (l0, m0)
        ratio = "%.3f" % (mg / t) if mg and t else ""
        cratio = "%.3f" % (mgc / tc) if mgc and tc else ""
        line += " %s %s %9s %9s  %-8s" % (ms(t), ms(tc), ratio or "-", cratio or "-", ok or "-")
        if not kvs:
            line += "   torch failed: %s" % "; ".join(fails.get((p, peer), ["no run"]))[:120]
        rec += ["%.6f" % t if t else "", "%.6f" % tc if tc else "", ratio, cratio, ok]
        if t and flops:
            fit[peer].append((flops, t))
        if tc and flops:
            cfit[peer].append((flops, tc))
    print(line)
    csv_rows.append(rec)


def line_fit(pts):
    """Least squares t = a + b f over three P or more; returns (a, 1/b) or None."""
    if len(pts) < 3:
        return None
    fm = statistics.fmean(f for f, _ in pts)
    tm = statistics.fmean(t for _, t in pts)
    sff = sum((f - fm) ** 2 for f, _ in pts)
    if sff == 0:
        return None
    b = sum((f - fm) * (t - tm) for f, t in pts) / sff
    return tm - b * fm, (1 / b if b > 0 else float("inf"))


for pid in ("modgrad", peer):
    if not pid:
        continue
    for what, pts in (("wall", fit[pid]), ("CPU", cfit[pid])):
        r = line_fit(pts)
        if r:
            print("%s: %s time of a step ~ %.3f ms fixed + FLOPs / %.1f GFLOP/s" % (
                labels.get(pid, pid), what, r[0] * 1e3, r[1] * 1e-9))
if any(line_fit(v) for v in fit.values() if v):
    print("(least squares over P = %s; FLOPs: modgrad's step after its rewrites, for both runners;\n"
          " the intercept is the fixed per-step cost)" % ",".join(str(p) for p in ps))
print("(mg ms, torch ms: wall clock of a step; cpu: CPU time of a step, every thread of the process;\n"
      " on a loaded machine the CPU times and their ratio are the steadier figures)")

with open(os.path.join(out, "pscale.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    head = ["p", "train_rows", "modgrad_flops", "modgrad_median_s", "modgrad_cpu_median_s"]
    if peer:
        head += ["torch_median_s", "torch_cpu_median_s", "ratio", "cpu_ratio", "loss0_ok"]
    w.writerow(head)
    w.writerows(csv_rows)
