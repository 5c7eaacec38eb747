/* test_fourier.c — the Fourier spectrum over Z/p and circle fits, on
 * synthetic matrices whose spectrum and circle are known in closed form:
 * exact single- and two-frequency circles, known energy ratios, a constant
 * matrix, isotropic noise, Parseval, strided input, and the error paths. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/fourier.h"
#include "core/alloc.h"
#include "core/rng.h"

#define TAU (2.0 * M_PI)

/* Adds amp * (cos(2 pi k x / p) u + sgn sin(2 pi k x / p) v) to row x of w
 * (p, d), where u and v are the orthonormal pair
 * u = cos(al) e_i + sin(al) e_{i+2}, v = cos(be) e_{i+1} + sin(be) e_{i+3}:
 * a circle of radius amp in a plane that mixes four coordinates. The energy
 * of frequency k is then amp^2 p (each of the cos and sin parts holds
 * amp^2 p / 2), and its singular values are amp sqrt(p/2) twice. */
static void add_circle(float *w, int p, int d, int i, double amp, int k, int sgn, double al,
                       double be) {
    for (int x = 0; x < p; x++) {
        double t = TAU * (double)((k * x) % p) / p;
        double c = amp * cos(t), s = sgn * amp * sin(t);
        float *row = w + (size_t)x * d;
        row[i] += (float)(c * cos(al));
        row[i + 2] += (float)(c * sin(al));
        row[i + 1] += (float)(s * cos(be));
        row[i + 3] += (float)(s * sin(be));
    }
}

static float *zeros(int n) {
    float *w = mg_calloc((size_t)n, sizeof *w);
    cr_assert_not_null(w);
    return w;
}

static float *gaussian(int p, int d, uint64_t seed) {
    float *w = zeros(p * d);
    mg_rng r;
    mg_rng_seed(&r, seed);
    for (int i = 0; i < p * d; i++) w[i] = (float)mg_rng_normal(&r);
    return w;
}

Test(fourier, single_frequency_circle_is_one_key_frequency_with_all_energy) {
    const int p = 31, d = 8, n = 15;
    const double r = 1.5;
    float *w = zeros(p * d);
    add_circle(w, p, d, 2, r, 5, 1, 0.6, -1.1);
    mg_fourier f;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(f.p, p);
    cr_assert_eq(f.n_freq, n);
    cr_assert_eq(f.top, 5);
    cr_assert_eq(f.order[0], 5);
    cr_assert_eq(f.n_key, 1);
    cr_assert_float_eq(f.energy[4], r * r * p, 1e-5 * r * r * p, "e_5 = %.9g", f.energy[4]);
    cr_assert_float_eq(f.concentration, 1.0, 1e-9, "concentration %.12f", f.concentration);
    cr_assert_float_eq(f.gini, (n - 1.0) / n, 1e-9, "gini %.12f", f.gini);
    cr_assert_float_eq(mg_fourier_top_share(&f, 1), 1.0, 1e-9);
    cr_assert(f.dc < 1e-9, "dc %.3g", f.dc);
    char keys[32];
    cr_assert_eq(mg_fourier_keys_str(&f, keys, sizeof keys), MG_OK);
    cr_assert_str_eq(keys, "5");
    mg_fourier_free(&f);
    mg_free(w);
}

Test(fourier, exact_circle_has_constant_radius_and_ideal_angles) {
    const int p = 31, d = 8, k = 5;
    const double r = 1.5;
    float *w = zeros(p * d);
    add_circle(w, p, d, 2, r, k, 1, 0.6, -1.1);
    for (int x = 0; x < p; x++) w[x * d + 0] += 3.0f; /* an offset: the fit centres */
    double cv = -1, corr = -1, xy[2 * 31];
    cr_assert_eq(mg_fourier_circle_fit(w, p, d, d, 1, k, &cv, &corr, xy), MG_OK, "%s", mg_errmsg());
    cr_assert(cv >= 0 && cv < 1e-6, "radius cv %.3g", cv);
    cr_assert_float_eq(corr, 1.0, 1e-9, "angle corr %.12f", corr);
    /* u is a_k's direction (the cos axis), v the sin axis: P_x = r (cos, sin). */
    for (int x = 0; x < p; x++) {
        double t = TAU * ((k * x) % p) / p;
        cr_assert_float_eq(xy[2 * x], r * cos(t), 1e-5, "x = %d", x);
        cr_assert_float_eq(xy[2 * x + 1], r * sin(t), 1e-5, "x = %d", x);
    }
    mg_free(w);
}

Test(fourier, reflected_circle_still_has_angle_corr_one) {
    const int p = 31, d = 8, k = 5;
    float *w = zeros(p * d);
    add_circle(w, p, d, 0, 2.0, k, -1, 0.3, 0.9); /* angles -2 pi k x / p */
    double cv, corr;
    cr_assert_eq(mg_fourier_circle_fit(w, p, d, d, 1, k, &cv, &corr, NULL), MG_OK, "%s",
                 mg_errmsg());
    cr_assert(cv < 1e-6, "radius cv %.3g", cv);
    cr_assert_float_eq(corr, 1.0, 1e-9, "angle corr %.12f", corr);
    mg_free(w);
}

Test(fourier, permuted_rows_lose_the_angle_order) {
    const int p = 31, d = 8, k = 5;
    float *w = zeros(p * d), *wp = zeros(p * d);
    add_circle(w, p, d, 0, 1.0, k, 1, 0.3, 0.9);
    int32_t perm[31];
    for (int i = 0; i < p; i++) perm[i] = i;
    mg_rng r;
    mg_rng_seed(&r, 7);
    mg_rng_shuffle(&r, perm, p);
    for (int x = 0; x < p; x++) memcpy(wp + x * d, w + perm[x] * d, d * sizeof *w);
    double cv, corr;
    cr_assert_eq(mg_fourier_circle_fit(wp, p, d, d, 1, k, &cv, &corr, NULL), MG_OK, "%s",
                 mg_errmsg());
    /* Random angles give about 1/sqrt(31) = 0.18. */
    cr_assert(corr < 0.5, "angle corr %.4f for shuffled rows", corr);
    mg_free(w);
    mg_free(wp);
}

Test(fourier, two_equal_frequencies_are_both_key) {
    const int p = 31, d = 8, n = 15;
    float *w = zeros(p * d);
    add_circle(w, p, d, 0, 1.0, 3, 1, 0.0, 0.0); /* e1, e2 */
    add_circle(w, p, d, 4, 1.0, 7, 1, 0.0, 0.0); /* e5, e6 */
    mg_fourier f;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(f.n_key, 2);
    cr_assert_float_eq(f.concentration, 1.0, 1e-9);
    cr_assert_float_eq(f.energy[2], p, 1e-5 * p);
    cr_assert_float_eq(f.energy[6], p, 1e-5 * p);
    /* Two equal values among n, the rest 0: sum |ei - ej| = 2 * 2 (n - 2) e
     * over 2 n (2 e) gives (n - 2) / n. */
    cr_assert_float_eq(f.gini, (n - 2.0) / n, 1e-9, "gini %.12f", f.gini);
    cr_assert(f.top == 3 || f.top == 7);
    char keys[32];
    cr_assert_eq(mg_fourier_keys_str(&f, keys, sizeof keys), MG_OK);
    cr_assert_str_eq(keys, "3,7");
    /* Each frequency's own circle is perfect in its own plane. */
    double cv, corr;
    cr_assert_eq(mg_fourier_circle_fit(w, p, d, d, 1, 7, &cv, &corr, NULL), MG_OK);
    cr_assert(cv < 1e-6, "radius cv %.3g", cv);
    cr_assert_float_eq(corr, 1.0, 1e-9);
    mg_fourier_free(&f);
    mg_free(w);
}

Test(fourier, energy_ratio_four_to_one_is_key_inclusive_and_just_below_is_not) {
    const int p = 31, d = 8;
    float *w = zeros(p * d);
    add_circle(w, p, d, 0, 2.0, 3, 1, 0.0, 0.0); /* e_3 = 4p */
    add_circle(w, p, d, 4, 1.0, 7, 1, 0.0, 0.0); /* e_7 = p: exactly a quarter */
    mg_fourier f;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(f.top, 3);
    cr_assert_eq(f.order[1], 7);
    cr_assert_float_eq(f.energy[6] / f.energy[2], 0.25, 1e-6);
    cr_assert_eq(f.n_key, 2, "the max / 4 boundary is inclusive");
    cr_assert_float_eq(f.concentration, 1.0, 1e-9);
    cr_assert_float_eq(mg_fourier_top_share(&f, 1), 0.8, 1e-6);
    mg_fourier_free(&f);

    float *w2 = zeros(p * d);
    add_circle(w2, p, d, 0, 2.0, 3, 1, 0.0, 0.0);
    add_circle(w2, p, d, 4, 0.999, 7, 1, 0.0, 0.0); /* e_7 = 0.998 p < max / 4 */
    cr_assert_eq(mg_fourier_compute(w2, p, d, d, 1, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(f.n_key, 1);
    cr_assert_float_eq(f.concentration, 4.0 / (4.0 + 0.999 * 0.999), 1e-6);
    char keys[32];
    cr_assert_eq(mg_fourier_keys_str(&f, keys, sizeof keys), MG_OK);
    cr_assert_str_eq(keys, "3");
    mg_fourier_free(&f);
    mg_free(w);
    mg_free(w2);
}

Test(fourier, gini_of_energies_one_two_three) {
    /* p = 7: frequencies 1, 2, 3 with amplitudes 1, sqrt 2, sqrt 3 give
     * energies p (1, 2, 3): G = 2 (1 + 2 + 1) / (2 * 3 * 6) = 2 / 9. */
    const int p = 7, d = 12;
    float *w = zeros(p * d);
    for (int k = 1; k <= 3; k++) add_circle(w, p, d, 4 * (k - 1), sqrt(k), k, 1, 0.0, 0.0);
    mg_fourier f;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(f.n_freq, 3);
    cr_assert_eq(f.order[0], 3);
    cr_assert_eq(f.order[1], 2);
    cr_assert_eq(f.order[2], 1);
    for (int k = 1; k <= 3; k++) cr_assert_float_eq(f.energy[k - 1], k * p, 1e-5 * p);
    cr_assert_float_eq(f.gini, 2.0 / 9.0, 1e-6, "gini %.9f", f.gini);
    cr_assert_eq(f.n_key, 3, "1/3 of the max is above a quarter");
    mg_fourier_free(&f);
    mg_free(w);
}

Test(fourier, constant_rows_are_all_dc_and_have_no_key_frequency) {
    const int p = 11, d = 3;
    float *w = zeros(p * d);
    for (int x = 0; x < p; x++)
        for (int j = 0; j < d; j++) w[x * d + j] = (float)(j + 1);
    mg_fourier f;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_float_eq(f.dc, p * (1.0 + 4.0 + 9.0), 1e-9);
    for (int k = 0; k < f.n_freq; k++)
        cr_assert(f.energy[k] < 1e-20, "e_%d %.3g", k + 1, f.energy[k]);
    cr_assert_eq(f.n_key, 0);
    cr_assert_eq(f.concentration, 0.0);
    cr_assert_eq(f.gini, 0.0);
    char keys[8] = "x";
    cr_assert_eq(mg_fourier_keys_str(&f, keys, sizeof keys), MG_OK);
    cr_assert_str_eq(keys, "");
    mg_fourier_free(&f);
    mg_free(w);
}

Test(fourier, isotropic_noise_is_flat_low_gini_low_top_share) {
    const int p = 97, d = 128, n = 48;
    float *w = gaussian(p, d, 1234);
    mg_fourier f;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &f), MG_OK, "%s", mg_errmsg());
    /* Each e_k ~ chi^2 with 2d = 256 degrees of freedom: all within ~10% of
     * the mean, so every frequency clears max / 4 and the key concentration
     * is 1. What shows the absence of structure is the Gini, expected
     * sqrt(2 / 256) / sqrt(pi) = 0.05, and the top-2 share, about 2 / 48. */
    cr_assert_eq(f.n_key, n);
    cr_assert_float_eq(f.concentration, 1.0, 1e-12);
    cr_assert(f.gini < 0.1, "gini %.4f", f.gini);
    double top2 = mg_fourier_top_share(&f, 2);
    cr_assert(top2 < 0.1, "top-2 share %.4f", top2);
    mg_fourier_free(&f);
    mg_free(w);
}

Test(fourier, parseval_energies_plus_dc_equal_squared_frobenius_norm) {
    const int p = 97, d = 16;
    float *w = gaussian(p, d, 99);
    for (int i = 0; i < p * d; i++) w[i] += 0.5f; /* a non-zero mean, so dc counts */
    double fro = 0.0;
    for (int i = 0; i < p * d; i++) fro += (double)w[i] * w[i];
    mg_fourier f;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &f), MG_OK, "%s", mg_errmsg());
    double sum = f.dc;
    for (int k = 0; k < f.n_freq; k++) sum += f.energy[k];
    cr_assert_float_eq(sum, fro, 1e-9 * fro, "sum %.15g vs ||W||^2 %.15g", sum, fro);
    cr_assert(f.dc > 0.1 * fro, "dc %.4g of %.4g", f.dc, fro);
    mg_fourier_free(&f);
    mg_free(w);
}

Test(fourier, transposed_storage_read_by_strides_gives_the_same_spectrum) {
    /* A classifier stored (width, p): classes are columns, rs = 1, cs = p. */
    const int p = 31, d = 10;
    float *w = gaussian(p, d, 5);
    add_circle(w, p, d, 1, 3.0, 11, 1, 0.2, 0.4);
    float *wt = zeros(p * d);
    for (int x = 0; x < p; x++)
        for (int j = 0; j < d; j++) wt[j * p + x] = w[x * d + j];
    mg_fourier a, b;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &a), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_fourier_compute(wt, p, d, 1, p, &b), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(a.top, 11);
    cr_assert_eq(b.top, a.top);
    cr_assert_eq(b.n_key, a.n_key);
    cr_assert_float_eq(b.dc, a.dc, 1e-12 * (1 + a.dc));
    for (int k = 0; k < a.n_freq; k++) {
        cr_assert_float_eq(b.energy[k], a.energy[k], 1e-12 * a.energy[k], "e_%d", k + 1);
        cr_assert_eq(b.order[k], a.order[k]);
    }
    double cva, ca, cvb, cb;
    cr_assert_eq(mg_fourier_circle_fit(w, p, d, d, 1, 11, &cva, &ca, NULL), MG_OK);
    cr_assert_eq(mg_fourier_circle_fit(wt, p, d, 1, p, 11, &cvb, &cb, NULL), MG_OK);
    cr_assert_float_eq(cvb, cva, 1e-12);
    cr_assert_float_eq(cb, ca, 1e-12);
    mg_fourier_free(&a);
    mg_fourier_free(&b);
    mg_free(w);
    mg_free(wt);
}

Test(fourier, bad_p_is_an_argument_error_naming_p) {
    float w[8 * 2] = {0};
    mg_fourier f;
    int bad[] = {4, 2, 1, 0, -3};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(mg_fourier_compute(w, bad[i], 2, 2, 1, &f), MG_ERR_ARG, "p = %d", bad[i]);
        char want[32];
        snprintf(want, sizeof want, "p = %d", bad[i]);
        cr_assert(strstr(mg_errmsg(), want), "message: %s", mg_errmsg());
        cr_assert_null(f.energy);
        mg_fourier_free(&f); /* safe after a failure */
        double cv, corr;
        cr_assert_eq(mg_fourier_circle_fit(w, bad[i], 2, 2, 1, 1, &cv, &corr, NULL), MG_ERR_ARG);
        cr_assert(strstr(mg_errmsg(), want), "message: %s", mg_errmsg());
    }
    cr_assert_eq(mg_fourier_compute(w, 5, 0, 1, 1, &f), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "d = 0"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_fourier_compute(NULL, 5, 2, 2, 1, &f), MG_ERR_ARG);
}

Test(fourier, circle_frequency_out_of_range_is_an_argument_error_naming_k) {
    const int p = 31, d = 4;
    float *w = gaussian(p, d, 3);
    double cv, corr;
    cr_assert_eq(mg_fourier_circle_fit(w, p, d, d, 1, 0, &cv, &corr, NULL), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "k = 0"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_fourier_circle_fit(w, p, d, d, 1, 16, &cv, &corr, NULL), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "k = 16"), "message: %s", mg_errmsg());
    cr_assert_eq(mg_fourier_circle_fit(w, p, d, d, 1, 15, &cv, &corr, NULL), MG_OK, "%s",
                 mg_errmsg());
    mg_free(w);
}

Test(fourier, no_energy_at_k_and_non_finite_input_are_numeric_errors) {
    const int p = 11, d = 3;
    float *w = zeros(p * d);
    double cv, corr;
    cr_assert_eq(mg_fourier_circle_fit(w, p, d, d, 1, 2, &cv, &corr, NULL), MG_ERR_NUMERIC);
    cr_assert(strstr(mg_errmsg(), "k = 2"), "message: %s", mg_errmsg());
    w[4] = NAN;
    mg_fourier f;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &f), MG_ERR_NUMERIC);
    cr_assert(strstr(mg_errmsg(), "w[1, 1]"), "message: %s", mg_errmsg());
    mg_free(w);
}

Test(fourier, keys_string_that_does_not_fit_is_an_argument_error) {
    const int p = 31, d = 8;
    float *w = zeros(p * d);
    add_circle(w, p, d, 0, 1.0, 3, 1, 0.0, 0.0);
    add_circle(w, p, d, 4, 1.0, 12, 1, 0.0, 0.0);
    mg_fourier f;
    cr_assert_eq(mg_fourier_compute(w, p, d, d, 1, &f), MG_OK, "%s", mg_errmsg());
    char keys[8];
    cr_assert_eq(mg_fourier_keys_str(&f, keys, sizeof keys), MG_OK);
    cr_assert_str_eq(keys, "3,12");
    cr_assert_eq(mg_fourier_keys_str(&f, keys, 4), MG_ERR_ARG); /* "3,12" needs 5 */
    cr_assert(strstr(mg_errmsg(), "too small"), "message: %s", mg_errmsg());
    mg_fourier_free(&f);
    mg_free(w);
}
