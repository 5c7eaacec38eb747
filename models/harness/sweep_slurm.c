/* sweep_slurm.c — a sweep as a SLURM job array: DIR/sweep.sbatch, one array
 * task per point, each running the point through the same modgrad binary
 * (`modgrad sweep --run-index $SLURM_ARRAY_TASK_ID`), which writes its
 * output into the point's run directory. Submitting it (sbatch) is the
 * command line's business; the state of the points is read from their run
 * directories, so no scheduler access is needed to follow it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "models/harness/sweep.h"

/* s quoted for bash (single quotes). */
static void quoted(const char *s, char *buf, size_t n) {
    size_t k = 0;
    if (n < 3) return;
    buf[k++] = '\'';
    for (; *s && k + 6 < n; s++) {
        if (*s == '\'') {
            memcpy(buf + k, "'\\''", 4);
            k += 4;
        } else {
            buf[k++] = *s;
        }
    }
    buf[k++] = '\'';
    buf[k] = '\0';
}

mg_status mg_sweep_write_sbatch(const mg_sweep *s, const char *dir, const char *binary, int threads,
                                int max_parallel, const char *const *extra, int n_extra) {
    int64_t n = mg_sweep_size(s);
    if (threads < 1) return mg_fail(MG_ERR_ARG, "sweep: --threads must be >= 1 for SLURM");
    for (int k = 0; k < n_extra; k++)
        if (strchr(extra[k], '\n'))
            return mg_fail(MG_ERR_ARG, "sweep: --sbatch-option '%s' holds a line break", extra[k]);
    char *adir = realpath(dir, NULL), *abin = realpath(binary, NULL);
    if (!adir || !abin) {
        free(adir);
        free(abin);
        return mg_fail(MG_ERR_IO, "sweep: cannot resolve %s or %s to an absolute path", dir,
                       binary);
    }
    char qdir[8300], qbin[8300];
    quoted(adir, qdir, sizeof qdir);
    quoted(abin, qbin, sizeof qbin);
    size_t cap = 16384 + (size_t)n_extra * 512 + strlen(qdir) * 4 + strlen(qbin);
    char *text = malloc(cap);
    if (!text) {
        free(adir);
        free(abin);
        return mg_fail(MG_ERR_NOMEM, "out of memory writing %s", MG_SWEEP_SBATCH);
    }
    int m = max_parallel > 0 && max_parallel < n ? max_parallel : (int)(n < 1000000 ? n : 1000000);
    size_t k = (size_t)snprintf(text, cap,
                                "#!/bin/bash\n"
                                "# %s — written by modgrad sweep --slurm: one array task per point "
                                "of the grid in sweep.json.\n"
                                "# Submit with: sbatch %s/%s   Follow with: modgrad sweep "
                                "--status %s\n"
                                "#SBATCH --job-name=modgrad-sweep\n"
                                "#SBATCH --array=0-%lld%%%d\n"
                                "#SBATCH --cpus-per-task=%d\n"
                                "#SBATCH --ntasks=1\n"
                                "#SBATCH --output=%s/slurm-%%A_%%a.out\n",
                                MG_SWEEP_SBATCH, adir, MG_SWEEP_SBATCH, adir, (long long)n - 1, m,
                                threads, adir);
    for (int e = 0; e < n_extra; e++)
        k += (size_t)snprintf(text + k, cap - k, "#SBATCH %s\n", extra[e]);
    /* the point's own output goes into its run directory (sweep.log); the
     * slurm-*.out file keeps what happens before it is found */
    k += (size_t)snprintf(text + k, cap - k,
                          "set -eu\n"
                          "exec %s sweep --run-index \"$SLURM_ARRAY_TASK_ID\" --threads %d "
                          "--log %s\n",
                          qbin, threads, qdir);
    char path[4200];
    snprintf(path, sizeof path, "%s/" MG_SWEEP_SBATCH, adir);
    mg_status st = mg_write_file_atomic(path, text, k);
    free(text);
    free(adir);
    free(abin);
    return st;
}
