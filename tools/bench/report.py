#!/usr/bin/env python3
"""report.py — the tables, results.csv, e2e.csv, overhead/overhead.csv and
the chart's data of one tools/bench/run results directory (raw.tsv, e2e.tsv,
labels.tsv, skipped.tsv, overhead/overhead.tsv). Standard library only.

  report.py OUT ARCH    (ARCH: the BLIS sub-configuration modgrad ran)
"""
import csv, json, os, statistics, sys

out, arch = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t", 4) for l in open(os.path.join(out, "raw.tsv")) if l.strip()]
labels = dict(l.rstrip("\n").split("\t", 1) for l in open(os.path.join(out, "labels.tsv")) if l.strip())
labels["modgrad"] = "modgrad"
# name, why and the cases it concerns (older directories: no third column,
# the mlp and the transformer)
skipped = [(l.rstrip("\n").split("\t") + ["mlp transformer"])[:3]
           for l in open(os.path.join(out, "skipped.tsv")) if l.strip()]
MODELS = [m for m in ("mlp", "transformer", "attn_stack") if any(r[2] == m for r in rows)]
TITLE = {"mlp": "full-batch training step", "transformer": "full-batch training step",
         "attn_stack": "training step on markers (batch 128, T 16; AdamW lr 3e-4, wd 0.01, beta2 0.999)"}
order = ["modgrad"] + [k for k in labels if k != "modgrad"]

runs, fails = {}, {}
for pid, rep, model, st, line in rows:
    if st == "ok":
        kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
        runs.setdefault((model, pid), []).append(kv)
    else:
        fails.setdefault((model, pid), []).append(line)

def med(model, pid, key):
    return statistics.median(float(kv[key]) for kv in runs[(model, pid)])

def peak(model, pid):
    return max(int(kv["rss_kb"]) for kv in runs[(model, pid)])

def blas_name(kv, pid):
    if pid == "modgrad":
        return "blis-openmp/" + kv.get("blis", "?")
    b = kv.get("blas", "?")
    if b.startswith("blis") and "/arch" in b and arch:
        b = b.split("/arch")[0] + "/" + arch
    return b

def fmt_kb(kb):
    return "%.0f MB" % (kb / 1024)

csv_rows, chart, best = [], [], {}
for model in MODELS:
    print("\n== %s: %s" % (model, TITLE[model]))
    if (model, "modgrad") not in runs:
        print("modgrad failed: %s" % "; ".join(fails.get((model, "modgrad"), ["no run"])))
        continue
    mk = runs[(model, "modgrad")]
    mg, mg_rss, mg_loss0 = med(model, "modgrad", "median_s"), peak(model, "modgrad"), float(mk[0]["loss0"])
    hdr = "%-30s %-20s %11s %11s %9s %-9s %9s %9s %7s" % (
        "peer", "BLAS", "median s", "modgrad s", "mg/peer", "loss0", "RSS", "mg RSS", "mg/peer")
    print(hdr)
    print("-" * len(hdr))
    for pid in order:
        if (model, pid) not in runs:
            if (model, pid) in fails:
                why = fails[(model, pid)][-1]
                print("%-30s failed: %s" % (labels[pid], why[:150]))
                csv_rows.append([model, labels[pid], "", "", "%.6f" % mg, "", "", mg_rss, "failed", why])
            continue
        kvs = runs[(model, pid)]
        t, rss = med(model, pid, "median_s"), peak(model, pid)
        blas = blas_name(kvs[0], pid)
        l0 = float(kvs[0]["loss0"])
        ok = abs(l0 - mg_loss0) <= 1e-4 * abs(mg_loss0)
        ref = blas == "reference"
        note = "reference BLAS: no ratio" if ref else ""
        if len(kvs) < len(runs[(model, "modgrad")]) or (model, pid) in fails:
            note = (note + "; " if note else "") + "%d of its runs failed" % len(fails.get((model, pid), []))
        ratio = "" if ref else "%.3f" % (mg / t)
        print("%-30s %-20s %11.6f %11.6f %9s %-9s %9s %9s %7.2f%s" % (
            labels[pid], blas, t, mg, ratio or "-", "OK" if ok else "MISMATCH", fmt_kb(rss), fmt_kb(mg_rss),
            mg_rss / rss, ("   " + note) if note else ""))
        if not ok:
            print("   loss0 %.7f vs modgrad %.7f" % (l0, mg_loss0))
        csv_rows.append([model, labels[pid], blas, "%.6f" % t, "%.6f" % mg, ratio, rss, mg_rss,
                         "OK" if ok else "MISMATCH", note])
        chart.append((model, labels[pid], t, pid == "modgrad"))
        if pid in ("deb-blis", "deb-openblas"):
            best.setdefault(model, []).append((t, labels[pid], blas))
        if pid in ("torch", "torch-compile"):
            best.setdefault("current " + model, []).append((t, labels[pid], blas))
    for name, why, scope in skipped:
        if model not in scope.split():
            continue
        print("%-30s skipped: %s" % (name, why))
        csv_rows.append([model, name, "", "", "%.6f" % mg, "", "", mg_rss, "skipped", why])
    f, fw = float(mk[0]["flops"]), float(mk[0]["flops_written"])
    sg = statistics.median(float(kv["gflops_sgemm"]) for kv in mk)
    ach = f / mg * 1e-9
    print("modgrad: %.3f GFLOP per step as written, %.3f after rewrites (%.1fx less); "
          "%.1f GFLOP/s achieved = %.0f%% of this process's sgemm rate (%.1f GFLOP/s); "
          "floor at that rate %.4f s" % (fw * 1e-9, f * 1e-9, fw / f, ach, 100 * ach / sg, sg, f / sg * 1e-9))
    pc = [float(kv["probe_cost_pct"]) for kv in mk if "probe_cost_pct" in kv]
    if pc:
        print("modgrad: per-layer probes at the default rate (1 step in 10) add %.1f%% to a step "
              "(median over repetitions)" % statistics.median(pc))
    if best.get(model):
        t, lab, blas = min(best[model])
        print("Debian's torch, faster optimised BLAS: %s (%s), %.6f s; modgrad/peer %.3f" % (blas, lab, t, mg / t))
    if model == "attn_stack" and best.get("current " + model):
        t, lab, blas = min(best["current " + model])
        print("the faster current PyTorch: %s, %.6f s; modgrad/peer %.3f (issue 13's goal: <= 0.5)"
              % (lab, t, mg / t))
        cpu = {pid: statistics.median(float(kv["cpu_median_s"]) for kv in runs[(model, pid)])
               for pid in order if (model, pid) in runs}
        print("CPU time per step (all threads; what a loaded machine disturbs least): "
              + ", ".join("%s %.6f s" % (labels[pid], c) for pid, c in cpu.items())
              + "".join("; modgrad/%s %.3f" % (labels[pid], cpu["modgrad"] / c)
                        for pid, c in cpu.items() if pid != "modgrad"))

with open(os.path.join(out, "results.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["model", "peer", "blas", "median_s", "modgrad_median_s", "ratio", "rss_kb",
                "modgrad_rss_kb", "loss0_ok", "note"])
    w.writerows(csv_rows)

# end to end
e2e = os.path.join(out, "e2e.tsv")
if os.path.exists(e2e) and os.path.getsize(e2e):
    print("\n== end to end: training to grokking (test accuracy >= 99% at 3 evaluations in a row)")
    fmt = "%-30s %-12s %-18s %9s %9s %9s %9s  %s"
    print(fmt % ("run", "model", "BLAS", "grok step", "stop step", "loop s", "process s", "status"))
    erows = []
    for line in open(e2e):
        pid, model, rc, wall, what = line.rstrip("\n").split("\t", 4)
        wall = "%.1f" % float(wall) if wall else ""
        if pid.startswith("modgrad"):
            try:
                s = json.load(open(what))
                g, stop, st, loop = s.get("t_grok"), s.get("final_step"), s.get("status"), s.get("wall_s")
            except (OSError, ValueError):
                g, stop, st, loop = None, None, "failed (exit %s)" % rc, None
            erows.append([pid, model, "blis-openmp/" + arch, "%d" % g if g is not None else "none",
                          "%d" % stop if stop is not None else "", "%.1f" % loop if loop is not None else "",
                          wall, st])
        else:
            kv = dict(x.split("=", 1) for x in what.split() if "=" in x)
            if rc == "0" and "wall_s" in kv:
                st = "grokked" if kv["grok_step"] != "none" else "completed"
                erows.append([labels.get(pid, pid), model, blas_name(kv, pid), kv["grok_step"], kv["stop_step"],
                              "%.1f" % float(kv["wall_s"]), wall, st])
            else:
                erows.append([labels.get(pid, pid), model, "", "", "", "", wall, "failed: " + what[:120]])
    for r in erows:
        print(fmt % tuple(r))
    print("(grok step: the first evaluation at >= 99%; loop s: the training loop's own clock (modgrad:\n"
          " summary.json wall_s); process s: the whole process, start-up and modgrad's final analyses\n"
          " included. modgrad's loop writes its study outputs: probes every 10 steps, geometry every\n"
          " 100, checkpoints, train and test evaluation; modgrad-bare turns probes, geometry and\n"
          " checkpoints all but off. The torch peer evaluates test accuracy only.)")
    with open(os.path.join(out, "e2e.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run", "model", "blas", "grok_step", "stop_step", "loop_s", "process_s", "status"])
        w.writerows(erows)

# the study's measurements (attn_stack)
oh = os.path.join(out, "overhead", "overhead.tsv")
if os.path.exists(oh) and os.path.getsize(oh):
    meta = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(out, "overhead", "meta.env")) if "=" in l)
    n = int(meta["STEPS"])
    measures = meta["MEASURES"].replace("\\", "")
    print("\n== attn_stack: the study's measurements at their default rates (%s)" % measures)
    arms, orows = {}, []
    for line in open(oh):
        f = line.rstrip("\n").split("\t")
        r, arm, rc, loop, wall, user, sys_, nbytes, snaps, comms = (f + [""])[:10]
        orows.append([r, arm, rc, loop, wall, user, sys_, nbytes, snaps, comms])
        if rc == "0" and loop:
            arms.setdefault(arm, []).append((float(loop) / n, (float(user) + float(sys_)) / n, float(wall) / n,
                                             int(nbytes), int(snaps), int(comms or 0)))
    for r in orows:
        if r[2] != "0":
            print("rep %s %s failed (exit %s): see %s" % (r[0], r[1], r[2], os.path.join(out, "overhead", "%s-%s.log" % (r[1], r[0]))))
    if "plain" in arms and "measured" in arms:
        fmt = "%-10s %5s %16s %16s %16s"
        print("modgrad train, %d steps, %d runs each, alternating; medians per step:" % (n, len(arms["plain"])))
        print(fmt % ("run", "runs", "loop wall s", "process CPU s", "process wall s"))
        med = {a: [statistics.median(x[i] * n for x in v) for i in range(3)] for a, v in arms.items()}
        fixed = med.get("fixed", [0.0, 0.0, 0.0])  # totals of a run of 0 steps
        for arm in ("plain", "measured"):
            print(fmt % (arm, len(arms[arm]), *("%.6f" % ((med[arm][i] - fixed[i]) / n) for i in range(3))))
        if "fixed" in med:
            print("(per step: the run's time less that of a run of 0 steps, %.2f s loop wall, %.2f s CPU, "
                  "%.2f s wall: start-up, the evaluation, the end-of-run analyses)" % tuple(fixed))
        else:
            print("(no run of 0 steps: the per-step figures include start-up and the end-of-run analyses)")
        p = [(med["plain"][i] - fixed[i]) / n for i in range(3)]
        m = [(med["measured"][i] - fixed[i]) / n for i in range(3)]
        comms = statistics.median(x[5] for x in arms["measured"])
        every = int(measures.split("--commutator-every")[1].split()[0])
        print("overhead of %s over %d steps (%d commutator measurements): %+.1f%% loop wall time, "
              "%+.1f%% process CPU time" % (measures, n, comms, 100 * (m[0] - p[0]) / p[0],
                                           100 * (m[1] - p[1]) / p[1]))
        if comms:
            # a run of n steps measures at steps 0, every, 2 every, ..., n: n / every + 1 of them;
            # at the study's rate (20,000 steps) it is one per `every` steps
            k = (n / every) / comms
            print("at the study's rate (one commutator per %d steps; the snapshots' share counted in): "
                  "%+.1f%% loop wall time, %+.1f%% process CPU time (issue 13's goal: <= 10%%); one "
                  "measurement and its snapshots: %.2f s loop wall, %.2f s CPU"
                  % (every, 100 * k * (m[0] - p[0]) / p[0], 100 * k * (m[1] - p[1]) / p[1],
                     (m[0] - p[0]) * n / comms, (m[1] - p[1]) * n / comms))
            # the same from inside: each measured run's summary.json "measurements" (the
            # loop's own clock around the snapshots and the commutator), immune to what the
            # machine did to the other arm of the pair
            inside = []
            for r in orows:
                if r[1] != "measured" or r[2] != "0":
                    continue
                try:
                    mm = json.load(open(os.path.join(out, "overhead", "measured-%s" % r[0], "summary.json")))["measurements"]
                    inside.append((mm["seconds"], mm["loop_seconds"]))
                except (OSError, KeyError, ValueError, TypeError):
                    pass
            if inside:
                shares = [k * sec / (loop - sec) for sec, loop in inside if loop > sec]
                print("measured inside each run (summary.json \"measurements\": the loop's clock around the "
                      "snapshots and the commutator), at the study's rate: median %+.1f%% of the rest of the "
                      "loop (runs: %s); one measurement and its snapshots: %.2f s"
                      % (100 * statistics.median(shares), ", ".join("%+.1f%%" % (100 * x) for x in shares),
                         statistics.median(sec for sec, _ in inside) / comms))
        snaps = max(x[4] for x in arms["measured"])
        if snaps:
            per = max(x[3] for x in arms["measured"]) / snaps
            print("trajectory: %d snapshots of %.2f MB in %d steps; the study's 20,000 steps at 500 write "
                  "%d of them, %.1f MB" % (snaps, per / 1e6, n, 20000 // 500 + 1, (20000 // 500 + 1) * per / 1e6))
        print("(both: tools/studies/manifold.json's settings, with modgrad train's outputs at their\n"
              " defaults: probes every 10 steps, geometry every 100, evaluation and attention rows at\n"
              " --eval-every, checkpoints; measured: also the snapshots and the commutator, 9 pairs of\n"
              " batches of 4 gradient passes each. The execution basis is rebuilt every 2,000 steps once\n"
              " 5 snapshots exist: runs shorter than that measure no basis build.)")
    with open(os.path.join(out, "overhead", "overhead.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["rep", "run", "exit", "loop_s", "process_wall_s", "user_s", "sys_s", "trajectory_bytes",
                    "snapshots", "commutators"])
        w.writerows(orows)

for model in MODELS:
    with open(os.path.join(out, "chart-%s.dat" % model), "w") as fh:
        for i, (m, lab, t, hl) in enumerate(x for x in chart if x[0] == model):
            fh.write('%d "%s" %.6f %d\n' % (i, lab, t, 0xD62728 if hl else 0x7F7F7F))
