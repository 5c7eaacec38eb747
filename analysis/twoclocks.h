/* twoclocks.h — the two-clocks theory made measurable (SCIENCE.md, "The
 * two-clocks theory, made measurable"; analysis/README.md, "Two clocks"):
 * the fitting clock T_cls(ε) over a ladder of ε and its line in log(1/ε),
 * the one-step contraction of the loss after fitting, the representation
 * clock T_rep(η) over a ladder of η and its line in log–log, the structural
 * gaps it reads, the gate-flip rate of a ReLU layer, and the deep linear
 * network's structural energy both ways.
 *
 * Series follow clocks.h: steps ascending, one value per step; a clock is
 * one of the given steps, or -1 when the event does not happen within the
 * series ("not reached by step N", never a number). Pure functions over
 * arrays: no graph, no printing. */
#ifndef MG_TWOCLOCKS_H
#define MG_TWOCLOCKS_H

#include <stdint.h>

#include "core/error.h"

/* A least-squares line y = intercept + slope * x over n points, with R^2
 * (1 − SS_res / SS_tot; NaN when every y is equal). n < 2, or every x
 * equal, gives NaN slope, intercept and r2 (and n as counted). */
typedef struct {
    int n; /* points used */
    double slope, intercept, r2;
} mg_twoclocks_line;

/* The line through the n points (x_i, y_i) that are both finite. */
mg_twoclocks_line mg_twoclocks_fit(const double *x, const double *y, int n);

/* T_cls(ε_j) for each of the n_eps thresholds: the first step with
 * loss <= ε_j (mg_clocks_first_crossing), -1 if none. */
void mg_twoclocks_t_cls(const int64_t *steps, const double *loss, int n, const double *eps,
                        int n_eps, int64_t *t_cls);

/* T_cls against log(1/ε) over the thresholds whose clock fired: a straight
 * line (R^2 near 1) is the theory's O(log 1/ε). The slope is in steps per
 * unit of natural log. */
mg_twoclocks_line mg_twoclocks_fit_cls(const double *eps, const int64_t *t_cls, int n_eps);

/* The median of v's n values (sorted in place); NaN when n <= 0. */
double mg_twoclocks_median(double *v, int n);

/* The one-step contraction of the loss after `from` (e.g. T_fit): the
 * median over consecutive samples i, i+1 with steps[i] >= from and both
 * losses > 0 of (L_{i+1} / L_i)^(1 / (s_{i+1} − s_i)), the per-step factor
 * (a series sampled every step gives L_{t+1} / L_t itself). A constant
 * below 1 is geometric decay. NaN when no pair qualifies. */
double mg_twoclocks_contraction(const int64_t *steps, const double *loss, int n, int64_t from);

/* T_rep(η): the first step s_i after which the gap stays <= η for the rest
 * of the series (every j >= i), provided the rest lasts at least `window`
 * steps (s_last − s_i >= window), so an event too near the end to be seen
 * staying is "not reached". -1 otherwise, or when a value is NaN at or
 * after the candidate. */
int64_t mg_twoclocks_t_rep(const int64_t *steps, const double *gap, int n, double eta,
                           int64_t window);

/* log T_rep against log(1/η) over the η whose clock fired at a step > 0:
 * the slope estimates 2θ − 1 of the theory's T_rep = Θ(η^−(2θ−1)). */
mg_twoclocks_line mg_twoclocks_fit_rep(const double *eta, const int64_t *t_rep, int n_eta);

/* The stable-rank gap series |srank_t − srank_final| / srank_final, in
 * place over n values (the last one is the final value). A final stable
 * rank of 0 or NaN makes every entry NaN. The distance, not the signed
 * difference: a rank that rises to its final value (the canonical MLP's
 * embedding does) is as far from it as one that falls, and a signed gap
 * would read every step of a rising rank as closed. */
void mg_twoclocks_srank_gap(double *srank, int n);

/* S_rule of one matrix W (p rows indexed by residues, d columns, strides rs,
 * cs): the share of its Frobenius energy outside the Fourier subspace of the
 * given frequencies (1..(p−1)/2; the constant component counts as outside):
 * 1 − Σ_{k in keys} e_k / ||W||_F^2 (fourier.h's e_k). 0 for a zero
 * matrix. */
mg_status mg_twoclocks_rule_gap(const float *w, int p, int d, int64_t rs, int64_t cs,
                                const int *keys, int n_keys, double *gap);
/* The same from a spectrum already computed: the constant component's
 * energy dc and energy[k − 1] of frequency k = 1..n_freq (fourier.h). */
mg_status mg_twoclocks_rule_gap_energies(double dc, const double *energy, int n_freq,
                                         const int *keys, int n_keys, double *gap);

/* Gates of a ReLU layer: bits[i] = pre[i] > 0, for n pre-activations. */
void mg_twoclocks_gates(const float *pre, int64_t n, uint8_t *bits);

/* The gate-flip rate: the share of the n gates whose state differs between
 * prev and cur; NaN when n <= 0. */
double mg_twoclocks_gate_flips(const uint8_t *prev, const uint8_t *cur, int64_t n);

/* The deep linear network's structural energy both ways, for the layers
 * W_1 .. W_L (w[l] row-major rows[l] x cols[l], y = W_L ... W_1 x, so
 * cols[l] = rows[l−1]) and the end-to-end map A = W_L ... W_1 (in double):
 *   frob     = λ Σ_l ||W_l||_F^2
 *   schatten = λ L ||A||_{S_{2/L}}^{2/L} = λ L Σ σ_i(A)^{2/L}
 * and balance = L Σ σ_i(A)^{2/L} / Σ_l ||W_l||_F^2 (= schatten / frob for
 * λ > 0, defined for λ = 0 too; <= 1, and 1 at a balanced factorisation;
 * NaN when every W_l is zero). stable_rank gets ||A||_F^2 / ||A||_2^2 (NULL: not wanted). */
typedef struct {
    double frob, schatten, balance, stable_rank;
} mg_twoclocks_energy;

mg_status mg_twoclocks_deep_linear_energy(const float *const *w, const int *rows, const int *cols,
                                          int layers, double lambda, mg_twoclocks_energy *out);

#endif
