/* gemm_splitk_tmpl.h -- the split-K route of the GEMM, for a small C over a long K (weight gradients):
 * the template (instantiate.h) that gemm.c instantiates after gemm_blocked_tmpl.h. K is cut into
 * chunks whose number depends on the shape only (gemm_plan.c); each chunk's product goes to its own
 * scratch matrix, by the blocked loop or by the skinny kernel (gemm_internal.h: both operands read in
 * place, where packing would copy both for a few multiply-adds per element), and the chunks are added
 * in chunk order: every element of C is the same for every n_threads. */
#ifndef CNET_GEMM_SPLITK_SHARED
#define CNET_GEMM_SPLITK_SHARED

#include "gemm_plan.h"

#endif /* CNET_GEMM_SPLITK_SHARED */

/* Chunk [k0, k1) of K into part (M x N, overwritten): the rows of C in tiles of (nearly) equal height,
 * each one pass of the skinny kernel over the chunk. */
static void SFX(skinny_chunk)(const SFX(gemm_t) *g, int64_t M, int64_t N, int64_t k0, int64_t k1,
                              REAL *part) {
#if defined(__x86_64__)
    const int64_t vl = 64 / (int64_t)sizeof(REAL); /* an AVX-512 vector */
    const int64_t mr = N <= vl ? CNET_SKINNY_MR_1V : CNET_SKINNY_MR_2V;
    const int64_t tiles = cdiv(M, mr);
    for (int64_t t = 0; t < tiles; ++t) {
        const int64_t i0 = M * t / tiles, i1 = M * (t + 1) / tiles;
        SFX(cnet_gemm_skinny_avx512)(k1 - k0, g->A + k0 * g->lda + i0, g->lda, g->B + k0 * g->ldb, g->ldb,
                                     part + i0 * N, N, i1 - i0, N, g->alpha);
    }
#else
    (void)g, (void)M, (void)N, (void)k0, (void)k1, (void)part;
#endif
}

/* Split-K, part 1: chunks [c0, c1) of K, chunk c to part[c] (M x N, beta 0, no epilogue), with the
 * buffers of rect_buffers(g, M, N, chunk). */
static void SFX(splitk_products)(const SFX(gemm_t) *g, int64_t M, int64_t N, int64_t K, int64_t chunk,
                                 int64_t c0, int64_t c1, REAL *part, REAL *abuf, REAL *bbuf) {
    for (int64_t c = c0; c < c1; ++c) {
        const int64_t k0 = c * chunk, k1 = imin(K, (c + 1) * chunk);
        if (g->skinny) SFX(skinny_chunk)(g, M, N, k0, k1, part + c * M * N);
        else SFX(gemm_rect)(g, 0, M, 0, N, k0, k1, part + c * M * N, N, (REAL)0, NULL, 0, abuf, bbuf);
    }
}

/* Split-K, part 2: rows [i0, i1) of C = sum_c part[c] in chunk order, then beta, bias, relu. */
static void SFX(splitk_sum)(const REAL *part, int64_t nch, int64_t M, int64_t N, int64_t i0, int64_t i1,
                            REAL beta, REAL *C, int64_t ldc, const REAL *bias, int relu) {
    const int64_t mn = M * N;
    for (int64_t i = i0; i < i1; ++i) {
        REAL *ci = C + i * ldc;
        for (int64_t j = 0; j < N; ++j) {
            REAL s = part[i * N + j];
            for (int64_t c = 1; c < nch; ++c) s += part[c * mn + i * N + j];
            REAL v = beta == (REAL)0 ? s : beta * ci[j] + s;
            if (bias) v += bias[j];
            if (relu) v = v < (REAL)0 ? (REAL)0 : v;
            ci[j] = v;
        }
    }
}

/* Split-K: thread t of nth computes the static block [nch*t/nth, nch*(t+1)/nth) of the chunks, then,
 * after a barrier, rows [M*t/nth, M*(t+1)/nth) of the chunk sum. */
static int SFX(gemm_splitk)(const SFX(gemm_t) *g, int64_t M, int64_t N, int64_t K, int64_t nch, REAL beta,
                            REAL *C, int64_t ldc, const REAL *bias, int relu, int nt) {
    const int64_t chunk = cdiv(K, nch);
    nch = cdiv(K, chunk);
    REAL *part = cnet_scratch_alloc(sizeof(REAL) * (size_t)(nch * M * N));
    if (!part) return CNET_ERR_NOMEM;
    int failed = 0;
    if (nt <= 1) {
        REAL *abuf = NULL, *bbuf = NULL;
        if (!g->skinny) failed = SFX(rect_buffers)(g, M, N, chunk, &abuf, &bbuf);
        if (!failed) {
            SFX(splitk_products)(g, M, N, K, chunk, 0, nch, part, abuf, bbuf);
            SFX(splitk_sum)(part, nch, M, N, 0, M, beta, C, ldc, bias, relu);
        }
        cnet_scratch_free(abuf);
        cnet_scratch_free(bbuf);
    } else {
#pragma omp parallel num_threads(nt)
        {
#ifdef _OPENMP
            const int t = omp_get_thread_num(), nth = omp_get_num_threads();
#else
            const int t = 0, nth = 1;
#endif
            const int64_t c0 = nch * t / nth, c1 = nch * (t + 1) / nth;
            REAL *abuf = NULL, *bbuf = NULL;
            if (c1 > c0 && !g->skinny && SFX(rect_buffers)(g, M, N, chunk, &abuf, &bbuf) != CNET_OK)
                cnet_flag_raise(&failed);
#pragma omp barrier
            const int ok = !cnet_flag_read(&failed);
            if (ok) SFX(splitk_products)(g, M, N, K, chunk, c0, c1, part, abuf, bbuf);
            cnet_scratch_free(abuf);
            cnet_scratch_free(bbuf);
#pragma omp barrier
            if (ok)
                SFX(splitk_sum)(part, nch, M, N, M * t / nth, M * (t + 1) / nth, beta, C, ldc, bias, relu);
        }
    }
    cnet_scratch_free(part);
    return failed ? CNET_ERR_NOMEM : CNET_OK;
}
