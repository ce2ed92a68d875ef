/* gemm_blocked_tmpl.h -- the blocked loop of the GEMM, BLIS-style, and its thread grid: the template
 * (instantiate.h) that gemm.c instantiates after gemm_pack_tmpl.h.
 *
 * op(B) is taken in KC x NC blocks of NR-wide panels, op(A) in MC x KC blocks of MR-high tiles
 * (gemm_plan.c gives the sizes and why). Packing pays only where a packed panel or tile is reused, so
 * the plan has full tiles and panels read in place where few others use them; partial edge tiles and
 * panels are always packed. The micro-kernel updates one MR x NR tile of C per call; beta is applied
 * with the first K block, bias and ReLU with the last one, so C is touched once per K block and never
 * in an extra pass. */
#ifndef CNET_GEMM_BLOCKED_SHARED
#define CNET_GEMM_BLOCKED_SHARED

#include "gemm_plan.h"

#endif /* CNET_GEMM_BLOCKED_SHARED */

/* K block size for a K range of length k: at most kc_max, blocks of (nearly) equal length. */
static inline int64_t SFX(kc_for)(const SFX(gemm_t) *g, int64_t k) {
    int64_t nb = cdiv(k, g->k.kc);
    return cdiv(k, nb);
}

/* The serial blocked loop on C[m0:m1, n0:n1] over K range [k0, k1). abuf holds mc x kc, bbuf kc x nc
 * (rounded up to MR / NR). beta applies with the first K block, bias/relu with the last. Full MR-row
 * tiles of op(A) and full NR-column panels of op(B) are read in place where g says so; the rest is
 * packed (a partial last tile or panel into the start of its buffer). */
static void SFX(gemm_rect)(const SFX(gemm_t) *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                           int64_t k0, int64_t k1, REAL *C, int64_t ldc, REAL beta, const REAL *bias,
                           int relu, REAL *abuf, REAL *bbuf) {
    const SFX(kernel_t) *k = &g->k;
    const int64_t kcb = SFX(kc_for)(g, k1 - k0), lda = g->lda;
    /* in-place op(A): element (i, p) at A[i*rs + p*cs] */
    const int64_t ars = g->trans_a ? 1 : lda, acs = g->trans_a ? lda : 1;
    for (int64_t jc = n0; jc < n1; jc += k->nc) {
        const int64_t nc = imin(k->nc, n1 - jc);
        const int64_t nfull = g->direct_b ? nc / k->nr * k->nr : 0; /* columns read in place */
        for (int64_t pc = k0; pc < k1; pc += kcb) {
            const int64_t kc = imin(kcb, k1 - pc);
            const REAL beta_k = pc == k0 ? beta : (REAL)1;
            const int last = pc + kc == k1;
            if (nfull < nc) SFX(pack_b)(bbuf, g, pc, kc, jc + nfull, nc - nfull);
            for (int64_t ic = m0; ic < m1; ic += k->mc) {
                const int64_t mc = imin(k->mc, m1 - ic);
                const int64_t mfull = g->direct_a ? mc / k->mr * k->mr : 0; /* rows read in place */
                const int64_t ld = SFX(rows_ld)(kc);
                /* the packed rows: MR-high panels (op(A) transposed), or copied rows (row-major) */
                if (mfull < mc) {
                    if (g->trans_a) SFX(pack_a)(abuf, g, ic + mfull, mc - mfull, pc, kc);
                    else SFX(pack_a_rows)(abuf, g, ic + mfull, mc - mfull, pc, kc, ld);
                }
                const int64_t rs = g->trans_a ? 1 : ld, cs = g->trans_a ? k->mr : 1;
                const int64_t pstride = g->trans_a ? kc : ld;
                for (int64_t jr = 0; jr < nc; jr += k->nr) {
                    const int64_t n = imin(k->nr, nc - jr);
                    const REAL *bias_t = last && bias ? bias + jc + jr : NULL;
                    const REAL *bp = jr < nfull ? g->B + pc * g->ldb + jc + jr : bbuf + (jr - nfull) * kc;
                    const int64_t rs_b = jr < nfull ? g->ldb : k->nr;
                    for (int64_t ir = 0; ir < mfull; ir += k->mr)
                        k->ukr(kc, g->A + (ic + ir) * ars + pc * acs, ars, acs, bp, rs_b,
                               C + (ic + ir) * ldc + jc + jr, ldc, k->mr, n, g->alpha, beta_k, bias_t,
                               last && relu);
                    for (int64_t ir = mfull; ir < mc; ir += k->mr)
                        k->ukr(kc, abuf + (ir - mfull) * pstride, rs, cs, bp, rs_b,
                               C + (ic + ir) * ldc + jc + jr, ldc, imin(k->mr, mc - ir), n, g->alpha,
                               beta_k, bias_t, last && relu);
                }
            }
        }
    }
}

/* Allocates the scratch of gemm_rect on an m x n rectangle (or any smaller one) with K range length k
 * (or any shorter one: a shorter range can have longer K blocks, kc_for(510) > kc_for(513) with 256,
 * so the block length is bounded by min(k, kc) rather than taken from k). An operand read in place
 * packs only its partial edge tile or panel: one MR x kc tile, one kc x NR panel. Returns CNET_OK, or
 * CNET_ERR_NOMEM with both buffers NULL. */
static int SFX(rect_buffers)(const SFX(gemm_t) *g, int64_t m, int64_t n, int64_t k, REAL **abuf,
                             REAL **bbuf) {
    const int64_t kc = imin(k, g->k.kc);
    const int64_t mc = g->direct_a ? g->k.mr : cdiv(imin(g->k.mc, m), g->k.mr) * g->k.mr;
    const int64_t nc = g->direct_b ? g->k.nr : cdiv(imin(g->k.nc, n), g->k.nr) * g->k.nr;
    *abuf = cnet_scratch_alloc(sizeof(REAL) * (size_t)(mc * SFX(rows_ld)(kc)));
    *bbuf = cnet_scratch_alloc(sizeof(REAL) * (size_t)(kc * nc));
    if (*abuf && *bbuf) return CNET_OK;
    cnet_scratch_free(*abuf);
    cnet_scratch_free(*bbuf);
    *abuf = *bbuf = NULL;
    return CNET_ERR_NOMEM;
}

/* Rectangle t of the tm x tn thread grid over the pm x pn micro-tiles of C: rows [m0, m1), columns
 * [n0, n1) (empty when the grid has more rows or columns than C has tiles). */
static void SFX(grid_rect)(const SFX(gemm_t) *g, int64_t M, int64_t N, int64_t pm, int64_t pn, int tm,
                           int tn, int t, int64_t *m0, int64_t *m1, int64_t *n0, int64_t *n1) {
    const int64_t ti = t / tn, tj = t % tn;
    *m0 = imin(M, pm * ti / tm * g->k.mr);
    *m1 = imin(M, pm * (ti + 1) / tm * g->k.mr);
    *n0 = imin(N, pn * tj / tn * g->k.nr);
    *n1 = imin(N, pn * (tj + 1) / tn * g->k.nr);
}

/* The blocked route on C (M x N) over all of K: on the calling thread (nt <= 1), or on the plan's
 * tm x tn grid of MR/NR-aligned rectangles of C, each thread running the serial loop on its own
 * rectangles with its own packing buffers -- every element of C is computed by the same operations in
 * the same order for every nt. Every thread allocates its buffers before any computes; if one
 * allocation fails, no thread computes and the GEMM returns CNET_ERR_NOMEM. */
static int SFX(gemm_blocked)(const SFX(gemm_t) *g, int64_t M, int64_t N, int64_t K, REAL beta, REAL *C,
                             int64_t ldc, const REAL *bias, int relu, int nt, int tm, int tn) {
    if (nt <= 1) {
        REAL *abuf, *bbuf;
        if (SFX(rect_buffers)(g, M, N, K, &abuf, &bbuf) != CNET_OK) return CNET_ERR_NOMEM;
        SFX(gemm_rect)(g, 0, M, 0, N, 0, K, C, ldc, beta, bias, relu, abuf, bbuf);
        cnet_scratch_free(abuf);
        cnet_scratch_free(bbuf);
        return CNET_OK;
    }
    const int64_t pm = cdiv(M, g->k.mr), pn = cdiv(N, g->k.nr);
    int failed = 0;
#pragma omp parallel num_threads(tm * tn)
    {
#ifdef _OPENMP
        const int t0 = omp_get_thread_num(), nth = omp_get_num_threads();
#else
        const int t0 = 0, nth = 1;
#endif
        /* rectangles t0, t0 + nth, ... of the tm x tn grid (several when the runtime grants fewer
         * threads); one pair of buffers, sized for the largest, allocated before anyone computes */
        int64_t m0, m1, n0, n1, mmax = 0, nmax = 0;
        for (int t = t0; t < tm * tn; t += nth) {
            SFX(grid_rect)(g, M, N, pm, pn, tm, tn, t, &m0, &m1, &n0, &n1);
            if (m1 <= m0 || n1 <= n0) continue;
            mmax = imax(mmax, m1 - m0);
            nmax = imax(nmax, n1 - n0);
        }
        REAL *abuf = NULL, *bbuf = NULL;
        if (mmax > 0 && SFX(rect_buffers)(g, mmax, nmax, K, &abuf, &bbuf) != CNET_OK)
            cnet_flag_raise(&failed);
#pragma omp barrier
        if (!cnet_flag_read(&failed))
            for (int t = t0; t < tm * tn; t += nth) {
                SFX(grid_rect)(g, M, N, pm, pn, tm, tn, t, &m0, &m1, &n0, &n1);
                if (m1 <= m0 || n1 <= n0) continue;
                SFX(gemm_rect)(g, m0, m1, n0, n1, 0, K, C, ldc, beta, bias, relu, abuf, bbuf);
            }
        cnet_scratch_free(abuf);
        cnet_scratch_free(bbuf);
    }
    return failed ? CNET_ERR_NOMEM : CNET_OK;
}
