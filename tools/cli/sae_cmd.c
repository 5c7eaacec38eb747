/* sae_cmd.c — `modgrad sae RUN`: the sparse autoencoder of the
 * execution-manifold study on a checkpoint's residual stream
 * (models/harness/sae_study.h), and its report. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/harness/sae_study.h"
#include "tools/cli/cli.h"

static void help(void) {
    mg_sae_cfg d;
    mg_sae_defaults(&d);
    printf("usage: modgrad sae RUN [--checkpoint STEP] [--layer L] [options]\n"
           "Trains the TopK sparse autoencoder (z = relu(topk((x - b_dec) W_enc + b_enc, k)),\n"
           "x_hat = z W_dec + b_dec, loss mean((x_hat - x)^2) + l2 mean(z_pre^2)) on the residual\n"
           "stream after block L at the value tokens of a checkpoint of RUN (a task with a\n"
           "\"value\" mask: markers, marker-mul), then reports the latents that track the number\n"
           "of markers m or the value's position (|Pearson r| >= --corr-min), and the held-out\n"
           "accuracy as trained, with the --ablate highest-variance latents removed from the\n"
           "stream, and with the reconstruction in place of the stream. Writes\n"
           "RUN/sae/step_NNNNNN/ (latents.csv, summary.json, sae.safetensors).\n\n"
           "  --checkpoint STEP   the checkpoint (default: the last)\n"
           "  --layer L           the block whose output is read (default: the middle one,\n"
           "                      (L - 1) / 2; after the last, only the last position counts)\n"
           "  --d-sae M           latents (default %d)\n"
           "  --k K               active latents per vector (default %d)\n"
           "  --steps N           training steps (default %lld)\n"
           "  --batch B           vectors per step (default %lld)\n"
           "  --pool-rows R       task rows whose value tokens are the training vectors "
           "(default %lld)\n"
           "  --lr X              AdamW's rate, betas 0.9/0.999, no decay (default %g)\n"
           "  --l2 X              weight of mean(z_pre^2) (default %g)\n"
           "  --ablate N          latents removed in the ablation (default %d)\n"
           "  --corr-min R        |r| that counts as tracking m or the position (default %g)\n"
           "  --seed S            the pool's rows, the initialisation, the batches (default 0)\n\n"
           "Exit status: 0 done, 1 failed, 2 bad flags or a run it cannot read.\n",
           d.d_sae, d.k, (long long)d.steps, (long long)d.batch, (long long)d.pool_rows, d.lr, d.l2,
           d.ablate, d.corr_min);
}

static void report(const mg_sae_report *r) {
    printf("sparse autoencoder: checkpoint %lld, block %d (d = %d)\n", (long long)r->checkpoint,
           r->layer, r->d);
    printf("  vectors: %lld training, %lld evaluation, %lld of the held-out probes\n",
           (long long)r->train_vectors, (long long)r->eval_vectors, (long long)r->probe_vectors);
    printf("  reconstruction: MSE %.4g, variance explained %.4f (final loss %.4g)\n", r->mse,
           r->fve, r->final_loss);
    char mm[48], mp[48];
    snprintf(mm, sizeof mm, isfinite(r->max_corr_m) ? "%.3f" : "n/a: m never varies",
             r->max_corr_m);
    snprintf(mp, sizeof mp, isfinite(r->max_corr_pos) ? "%.3f" : "n/a: the position never varies",
             r->max_corr_pos);
    printf("  latents: %d dead; %d track m, %d track the position (max |r| %s, %s)\n", r->dead,
           r->n_corr_m, r->n_corr_pos, mm, mp);
    printf("  held-out accuracy: %.4f as trained, %.4f with the top %d latents ablated, %.4f "
           "spliced\n",
           r->acc[0], r->acc[1], r->n_ablated, r->acc[2]);
    for (int g = 0; g < r->n_groups; g++)
        printf("    %-6s %.4f / %.4f / %.4f\n", r->group_names[g], r->acc_group[0][g],
               r->acc_group[1][g], r->acc_group[2][g]);
    printf("(latents.csv, summary.json, sae.safetensors in %s)\n", r->out);
}

int cmd_sae(int argc, char **argv) {
    mg_sae_cfg c;
    mg_sae_defaults(&c);
    enum { CK = 256, LAYER, DSAE, K, STEPS, BATCH, POOL, LR, L2, ABLATE, CORR, SEED, HELP };
    static const struct option opts[] = {{"checkpoint", required_argument, 0, CK},
                                         {"layer", required_argument, 0, LAYER},
                                         {"d-sae", required_argument, 0, DSAE},
                                         {"k", required_argument, 0, K},
                                         {"steps", required_argument, 0, STEPS},
                                         {"batch", required_argument, 0, BATCH},
                                         {"pool-rows", required_argument, 0, POOL},
                                         {"lr", required_argument, 0, LR},
                                         {"l2", required_argument, 0, L2},
                                         {"ablate", required_argument, 0, ABLATE},
                                         {"corr-min", required_argument, 0, CORR},
                                         {"seed", required_argument, 0, SEED},
                                         {"help", no_argument, 0, HELP},
                                         {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        int64_t v = 0;
        bool ok = true;
        const char *flag = optind > 0 ? argv[optind - 1] : "?";
        switch (o) {
        case CK: ok = cli_int("--checkpoint", optarg, 0, INT64_MAX / 2, &c.checkpoint); break;
        case LAYER:
            ok = cli_int("--layer", optarg, 0, 63, &v);
            c.layer = (int)v;
            break;
        case DSAE:
            ok = cli_int("--d-sae", optarg, 1, 1 << 16, &v);
            c.d_sae = (int)v;
            break;
        case K:
            ok = cli_int("--k", optarg, 1, 1 << 16, &v);
            c.k = (int)v;
            break;
        case STEPS: ok = cli_int("--steps", optarg, 1, INT64_MAX / 2, &c.steps); break;
        case BATCH: ok = cli_int("--batch", optarg, 1, 1 << 20, &c.batch); break;
        case POOL: ok = cli_int("--pool-rows", optarg, 1, 1 << 24, &c.pool_rows); break;
        case LR: ok = cli_real("--lr", optarg, &c.lr); break;
        case L2: ok = cli_real("--l2", optarg, &c.l2); break;
        case ABLATE:
            ok = cli_int("--ablate", optarg, 0, MG_SAE_MAX_ABLATE, &v);
            c.ablate = (int)v;
            break;
        case CORR: ok = cli_real("--corr-min", optarg, &c.corr_min); break;
        case SEED:
            ok = cli_int("--seed", optarg, 0, INT64_MAX, &v);
            c.seed = (uint64_t)v;
            break;
        case 'h':
        case HELP: help(); return MG_EXIT_OK;
        default:
            cli_error("sae: unknown or incomplete option '%s' (modgrad sae --help)", flag);
            return MG_EXIT_USAGE;
        }
        if (!ok) return MG_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        cli_error("sae: give one run directory (modgrad sae RUN --checkpoint STEP)");
        return MG_EXIT_USAGE;
    }
    mg_sae_report r;
    mg_status st = mg_sae_study_run(argv[optind], &c, &r);
    if (st) {
        cli_error("%s", mg_errmsg());
        return cli_exit_status(st);
    }
    report(&r);
    return MG_EXIT_OK;
}
