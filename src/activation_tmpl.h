/* Template body of activation.c: REAL is the element type, SFX(name) appends the dtype suffix.
 * Element-wise kernels are bound by memory bandwidth: one pass, static schedule, no reductions. */

/* x, y are (n,). Overwrites y (may alias x). */
void SFX(cnet_relu_forward)(REAL *y, const REAL *x, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) {
        REAL v = x[i];
        y[i] = v > (REAL)0 ? v : (REAL)0;
    }
}

/* dy, y, dx are (n,); y is the forward output. Overwrites dx (may alias dy). */
void SFX(cnet_relu_backward)(REAL *dx, const REAL *dy, const REAL *y, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) dx[i] = y[i] > (REAL)0 ? dy[i] : (REAL)0;
}
