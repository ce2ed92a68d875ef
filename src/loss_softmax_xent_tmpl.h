/* loss_softmax_xent_tmpl.h -- fused softmax + cross-entropy over the rows of a logits matrix: the
 * template (instantiate.h) of loss_softmax_xent.c. Labels are either class indices (int64) or dense
 * targets (one-hot or soft, one row per sample). */
#ifndef CNET_LOSS_SOFTMAX_XENT_SHARED
#define CNET_LOSS_SOFTMAX_XENT_SHARED

#include <math.h>
#include <stdlib.h>

#include "cnet_internal.h"

#endif /* CNET_LOSS_SOFTMAX_XENT_SHARED */

/* One row of logits z: log(sum exp(z - max)), the exponent sum accumulated in double (so no finite
 * logits give inf or NaN), and the max. -log p_j = lse - (z_j - max). */
static double SFX(row_lse)(const REAL *z, int64_t L, REAL *zmax_out) {
    REAL zmax = z[0];
    for (int64_t j = 1; j < L; j++) zmax = z[j] > zmax ? z[j] : zmax;
    double sum = 0.0;
    for (int64_t j = 0; j < L; j++) sum += (double)EXP(z[j] - zmax);
    *zmax_out = zmax;
    return log(sum);
}

/* One row's cross-entropy: -log p[label], or -sum_j t_j log p_j for dense targets.
 * z - zmax is taken in double here: in float it can overflow (logits 3e38 apart) and make the loss inf. */
static double SFX(row_xent)(const REAL *z, double lse, REAL zmax, const int64_t *label, const REAL *t,
                            int64_t L) {
    if (label != NULL) return lse - ((double)z[*label] - (double)zmax);
    double li = 0.0;
    for (int64_t j = 0; j < L; j++)
        if (t[j] != (REAL)0) li += (double)t[j] * (lse - ((double)z[j] - (double)zmax));
    return li;
}

/* Shared body of the forwards (exactly one of labels / targets is non-NULL; weights NULL or one per
 * row). Chunks of CNET_REDUCE_CHUNK rows: the chunk's probs by cnet_softmax_forward (on this thread),
 * then its row losses and their (weighted) sum; the chunk sums are added in order, so the loss is the
 * same for every n_threads. More than 64 chunks keep their sums in scratch. */
static int SFX(xent_forward)(double *loss, REAL *probs, REAL *row_loss, const REAL *logits,
                             const int64_t *labels, const REAL *targets, const double *weights, int64_t N,
                             int64_t L, int n_threads) {
    *loss = 0.0;
    if (N <= 0) return CNET_OK;
    int64_t n_chunks = (N + CNET_REDUCE_CHUNK - 1) / CNET_REDUCE_CHUNK;
    double chunk_stack[64];
    double *chunk_sum = n_chunks <= 64 ? chunk_stack
                                       : (double *)cnet_scratch_alloc((size_t)n_chunks * sizeof(double));
    if (chunk_sum == NULL) {
        *loss = NAN;
        return CNET_ERR_NOMEM;
    }
    int nt = cnet_threads_for(N * L, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t c = 0; c < n_chunks; c++) {
        const int64_t i0 = c * CNET_REDUCE_CHUNK;
        const int64_t end = (c + 1) * CNET_REDUCE_CHUNK < N ? (c + 1) * CNET_REDUCE_CHUNK : N;
        SFX(cnet_softmax_forward)(probs + i0 * L, logits + i0 * L, end - i0, L, 1);
        double s = 0.0;
        for (int64_t i = i0; i < end; i++) {
            const REAL *z = logits + i * L;
            REAL zmax;
            double lse = SFX(row_lse)(z, L, &zmax);
            double li = SFX(row_xent)(z, lse, zmax, labels ? labels + i : NULL,
                                      targets ? targets + i * L : NULL, L);
            row_loss[i] = (REAL)li;
            if (weights == NULL) s += li;
            else if (weights[i] != 0.0) s += weights[i] * li; /* a weight of 0 drops its row, inf included */
        }
        chunk_sum[c] = s;
    }
    double total = 0.0;
    for (int64_t c = 0; c < n_chunks; c++) total += chunk_sum[c];
    if (chunk_sum != chunk_stack) cnet_scratch_free(chunk_sum);
    *loss = total / (double)N;
    return CNET_OK;
}

/* logits, probs are (N, L); labels, row_loss are (N,). Overwrites probs, row_loss and *loss (the mean
 * of row_loss). Returns CNET_OK or CNET_ERR_NOMEM. */
int SFX(cnet_softmax_xent_forward)(double *loss, REAL *probs, REAL *row_loss, const REAL *logits,
                                   const int64_t *labels, int64_t N, int64_t L, int n_threads) {
    return SFX(xent_forward)(loss, probs, row_loss, logits, labels, NULL, NULL, N, L, n_threads);
}

/* logits, probs, targets are (N, L); row_loss is (N,). Overwrites probs, row_loss and *loss. */
int SFX(cnet_softmax_xent_dense_forward)(double *loss, REAL *probs, REAL *row_loss, const REAL *logits,
                                         const REAL *targets, int64_t N, int64_t L, int n_threads) {
    return SFX(xent_forward)(loss, probs, row_loss, logits, NULL, targets, NULL, N, L, n_threads);
}

/* Shared body of the backwards (exactly one of labels / targets is non-NULL; weights NULL or one per
 * row): row i of dlogits is (probs - onehot) / N, or (probs * sum(t) - t) / N, then times weights[i]
 * rounded to REAL. dlogits may alias probs. */
static void SFX(xent_backward)(REAL *dlogits, const REAL *probs, const int64_t *labels, const REAL *targets,
                               const double *weights, int64_t N, int64_t L, int n_threads) {
    REAL scale = (REAL)(1.0 / (double)N);
    int nt = cnet_threads_for(N * L, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < N; i++) {
        const REAL *p = probs + i * L;
        REAL *d = dlogits + i * L;
        if (labels != NULL) {
            int64_t t = labels[i];
            REAL pt = p[t]; /* read before the loop: dlogits may alias probs */
            for (int64_t j = 0; j < L; j++) d[j] = p[j] * scale;
            d[t] = (pt - (REAL)1) * scale; /* not p*scale - scale: that cancels when p is near 1 */
        } else {
            const REAL *t = targets + i * L;
            REAL tsum = 0;
            for (int64_t j = 0; j < L; j++) tsum += t[j];
            for (int64_t j = 0; j < L; j++) d[j] = (p[j] * tsum - t[j]) * scale;
        }
        if (weights != NULL) {
            REAL w = (REAL)weights[i];
            for (int64_t j = 0; j < L; j++) d[j] *= w;
        }
    }
}

/* probs, dlogits are (N, L); labels (N,). dlogits = (probs - onehot(labels)) / N, overwritten;
 * dlogits may alias probs. */
void SFX(cnet_softmax_xent_backward)(REAL *dlogits, const REAL *probs, const int64_t *labels,
                                     int64_t N, int64_t L, int n_threads) {
    SFX(xent_backward)(dlogits, probs, labels, NULL, NULL, N, L, n_threads);
}

/* probs, targets, dlogits are (N, L). dlogits = (probs * sum(t) - t) / N, overwritten; may alias
 * probs. */
void SFX(cnet_softmax_xent_dense_backward)(REAL *dlogits, const REAL *probs, const REAL *targets,
                                           int64_t N, int64_t L, int n_threads) {
    SFX(xent_backward)(dlogits, probs, NULL, targets, NULL, N, L, n_threads);
}

/* With a weight per row (double, finite): exactly one of labels (N,) / targets (N, L) is non-NULL.
 * *loss = sum_i weights[i] * row_loss[i] / N (rows of weight 0 left out); row_loss unweighted. */
int SFX(cnet_softmax_xent_weighted_forward)(double *loss, REAL *probs, REAL *row_loss, const REAL *logits,
                                            const int64_t *labels, const REAL *targets, const double *weights,
                                            int64_t N, int64_t L, int n_threads) {
    return SFX(xent_forward)(loss, probs, row_loss, logits, labels, targets, weights, N, L, n_threads);
}

/* dlogits row i = the unweighted backward's row i times (REAL)weights[i]; may alias probs. */
void SFX(cnet_softmax_xent_weighted_backward)(REAL *dlogits, const REAL *probs, const int64_t *labels,
                                              const REAL *targets, const double *weights, int64_t N,
                                              int64_t L, int n_threads) {
    SFX(xent_backward)(dlogits, probs, labels, targets, weights, N, L, n_threads);
}
