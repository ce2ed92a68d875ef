/* Template body of dropout.c: REAL is the element type, SFX(name) appends the dtype suffix.
 * The keep scale is 1/(1 - rate) computed in double, then rounded to REAL (as the reference). */

/* mask is (n,), element i of the flat array: scale where kept, 0 where dropped. Overwrites mask. */
void SFX(cnet_dropout_mask)(REAL *mask, int64_t n, double rate, uint64_t seed, int n_threads) {
    REAL scale = (REAL)(1.0 / (1.0 - rate));
    uint64_t threshold = dropout_threshold(rate);
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) mask[i] = dropout_keep(seed, i, threshold) ? scale : (REAL)0;
}

/* x, y, mask are (n,). mask as cnet_dropout_mask, y = x * mask, both written in one pass. Overwrites y
 * and mask; y may alias x (mask may not). */
void SFX(cnet_dropout_forward)(REAL *y, REAL *mask, const REAL *x, int64_t n, double rate, uint64_t seed,
                               int n_threads) {
    REAL scale = (REAL)(1.0 / (1.0 - rate));
    uint64_t threshold = dropout_threshold(rate);
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) {
        REAL m = dropout_keep(seed, i, threshold) ? scale : (REAL)0;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

/* dy, mask, dx are (n,). dx = dy * mask. Overwrites dx (may alias dy). */
void SFX(cnet_dropout_backward)(REAL *dx, const REAL *dy, const REAL *mask, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
}
