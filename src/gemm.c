/* gemm.c -- cnet's GEMM driver: C = alpha * op(A) . op(B) + beta * C (+ bias, ReLU); see cnet.h.
 *
 * BLIS-style: op(B) is taken in KC x NC blocks of NR-wide panels, op(A) in MC x KC blocks of MR-high
 * tiles. Packing pays only where a packed panel or tile is reused: a row-major op(B) is read in place
 * when its rows are close or few tiles use it, otherwise packed (a transposed one always, by register
 * transposes with AVX-512); op(A)'s full tiles are read in place when few panels use them (row-major:
 * N <= DIRECT_A_MAX_N; transposed: one or two panels), otherwise a transposed op(A) is packed into
 * MR-high panels and a row-major one has its rows copied with a harmless row stride; partial edge
 * tiles and panels are always packed. A register-blocked micro-kernel (gemm_internal.h) updates one
 * MR x NR tile of C per call (AVX-512 f32: 12 x 32, 24 x 16 and 16 x 16 tiles). beta is applied with
 * the first K block, bias and ReLU with the last one, so C is touched once per K block and never in an
 * extra pass. A small C over a long K with a transposed op(A) goes to the skinny kernel instead (no
 * packing at all, see gemm_skinny_ok), and at most 3 rows with a row-major op(B) to the row kernels.
 *
 * Threads: C is cut into a grid of MR/NR-aligned rectangles, one per thread, and every thread runs the
 * serial blocked loop on its own rectangle with its own packing buffers. When C is small and K large
 * (weight gradients), K is cut instead into chunks whose size depends on the shape only; each chunk's
 * product goes to its own scratch matrix and the chunks are added in chunk order. Either way an
 * element of C is computed by the same operations in the same order for every n_threads.
 *
 * Scratch: every thread allocates its buffers before any thread computes; if one allocation fails, no
 * thread computes and the GEMM returns CNET_ERR_NOMEM (see cnet_flag_raise in cnet_internal.h).
 *
 * The body is written once, below the #else, and instantiated for float and double by including this
 * file into itself. */
#ifndef CNET_GEMM_TEMPLATE

#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"

/* Fixed K chunk bounds of the split-K path and when it is used (shape-only rules). */
#define SPLITK_MAX_MN 32768      /* C at most this many elements */
#define SPLITK_MIN_CHUNK 512     /* K per chunk at least this */
/* 12 chunks keep 1, 2, 3, 4 and 6 threads busy; 48 cost 10-20 % on 288 x 32768 x 32 at 2 threads in
 * partial sums (measured against no split-K, which in turn left 2 threads no faster than 1 on
 * 200 x 50000 x 16). */
#define SPLITK_MAX_CHUNKS 12
#define SPLITK_MAX_PARTIAL (1 << 19) /* chunks * M * N elements of scratch at most */
/* op(A) not transposed and N at most this: A is read in place, not packed -- unless its row stride is
 * a multiple of 2 KiB, when the MR rows fall into a few L1 sets and evict each other (measured: square
 * 1024 lost 25 %). */
#ifndef DIRECT_A_MAX_N
#define DIRECT_A_MAX_N 512
#endif
#ifndef DIRECT_AT_MAX_PANELS
#define DIRECT_AT_MAX_PANELS 2
#endif
#ifndef DIRECT_B_MAX_PANELS
#define DIRECT_B_MAX_PANELS 4
#endif
#ifndef SKINNY_MAX_TILES
#define SKINNY_MAX_TILES 6
#endif
/* Below this many multiply-adds a GEMM runs on one thread. */
#define GEMM_MIN_PARALLEL_FMAS (1 << 18)

static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Number of K chunks of the split-K path (0: do not split). Depends on the shape only. */
static int64_t splitk_chunks(int64_t M, int64_t N, int64_t K) {
    int64_t mn = M * N;
    if (mn > SPLITK_MAX_MN) return 0;
    int64_t n = imin(imin(K / SPLITK_MIN_CHUNK, SPLITK_MAX_CHUNKS), SPLITK_MAX_PARTIAL / mn);
    if (n >= 12) n -= n % 12; /* divisible by 1, 2, 3, 4, 6 threads */
    else if (n >= 4) n -= n % 2;
    else n = 0;
    return n;
}

/* Threads for a grid of pm x pn micro-tiles: picks tm x tn = nt minimizing the largest per-thread cost
 * (multiply-adds / 16 + elements packed). */
static void thread_grid(int64_t pm, int64_t pn, int64_t mr, int64_t nr, int64_t K, int64_t nc, int nt,
                        int *tm_out, int *tn_out) {
    double best = -1;
    for (int tm = 1; tm <= nt; ++tm) {
        if (nt % tm) continue;
        int tn = nt / tm;
        if (tm > pm || tn > pn) continue;
        double mt = (double)cdiv(pm, tm) * mr, ntl = (double)cdiv(pn, tn) * nr;
        double cost = mt * ntl * K / 16.0 + mt * K * (double)cdiv((int64_t)ntl, nc) + ntl * K;
        if (best < 0 || cost < best) {
            best = cost;
            *tm_out = tm;
            *tn_out = tn;
        }
    }
}

#define CNET_GEMM_TEMPLATE
#define T float
#define SFX(name) name##_f32
#define PMR 4
#define PNR 8
#define KERNEL_AVX512 {cnet_gemm_ukr_avx512_f32, CNET_AVX512_MR_F32, CNET_AVX512_NR_F32, 144, 384, 3072}
#define KERNEL_AVX512_NARROW                                                                        \
    {cnet_gemm_ukr_avx512_narrow_f32, CNET_AVX512_NARROW_MR_F32, CNET_AVX512_NARROW_NR_F32, 240, 384, 16}
#define KERNEL_AVX512_M16                                                                           \
    {cnet_gemm_ukr_avx512_m16_f32, CNET_AVX512_M16_MR_F32, CNET_AVX512_M16_NR_F32, 144, 384, 3072}
#define KERNEL_AVX2 {cnet_gemm_ukr_avx2_f32, CNET_AVX2_MR_F32, CNET_AVX2_NR_F32, 144, 256, 3072}
#define KERNEL_AVX2_NARROW                                                                          \
    {cnet_gemm_ukr_avx2_narrow_f32, CNET_AVX2_NARROW_MR_F32, CNET_AVX2_NARROW_NR_F32, 240, 256, 8}
#define ROWK_AVX512 cnet_gemm_rowk_avx512_f32
#define ROWK_AVX512_WIDTH CNET_AVX512_ROWK_F32
#define ROWK_AVX2 cnet_gemm_rowk_avx2_f32
#define ROWK_AVX2_WIDTH CNET_AVX2_ROWK_F32
#define SKINNY_AVX512 cnet_gemm_skinny_avx512_f32
#define SKINNY_VL 16
#define PACKBT_AVX512 cnet_gemm_packbt_avx512_f32
#include "gemm.c"

#define T double
#define SFX(name) name##_f64
#define PMR 4
#define PNR 4
#define KERNEL_AVX512 {cnet_gemm_ukr_avx512_f64, CNET_AVX512_MR_F64, CNET_AVX512_NR_F64, 96, 256, 2048}
#define KERNEL_AVX512_NARROW                                                                        \
    {cnet_gemm_ukr_avx512_narrow_f64, CNET_AVX512_NARROW_MR_F64, CNET_AVX512_NARROW_NR_F64, 240, 256, 8}
#define KERNEL_AVX512_M16                                                                           \
    {cnet_gemm_ukr_avx512_m16_f64, CNET_AVX512_M16_MR_F64, CNET_AVX512_M16_NR_F64, 96, 256, 2048}
#define KERNEL_AVX2 {cnet_gemm_ukr_avx2_f64, CNET_AVX2_MR_F64, CNET_AVX2_NR_F64, 96, 256, 2048}
#define KERNEL_AVX2_NARROW                                                                          \
    {cnet_gemm_ukr_avx2_narrow_f64, CNET_AVX2_NARROW_MR_F64, CNET_AVX2_NARROW_NR_F64, 240, 256, 4}
#define ROWK_AVX512 cnet_gemm_rowk_avx512_f64
#define ROWK_AVX512_WIDTH CNET_AVX512_ROWK_F64
#define ROWK_AVX2 cnet_gemm_rowk_avx2_f64
#define ROWK_AVX2_WIDTH CNET_AVX2_ROWK_F64
#define SKINNY_AVX512 cnet_gemm_skinny_avx512_f64
#define SKINNY_VL 8
#define PACKBT_AVX512 cnet_gemm_packbt_avx512_f64
#include "gemm.c"
#undef CNET_GEMM_TEMPLATE

#else /* ---- the body, instantiated for T = float and T = double ------------------------------- */

typedef void (*SFX(ukr_fn))(CNET_UKR_ARGS(T));
typedef void (*SFX(rowk_fn))(CNET_ROWK_ARGS(T));

/* c (m x n, row stride ldc) = update(ab (row stride nr)); the tile update of gemm_internal.h. */
static void SFX(tile_update)(T *c, int64_t ldc, const T *ab, int64_t nr, int64_t m, int64_t n,
                             T alpha, T beta, const T *bias, int relu) {
    for (int64_t i = 0; i < m; ++i) {
        T *ci = c + i * ldc;
        const T *abi = ab + i * nr;
        for (int64_t j = 0; j < n; ++j) {
            T v = abi[j];
            if (alpha != (T)1) v = v * alpha;
            if (beta == (T)1) v = ci[j] + v;
            else if (beta != (T)0) v = beta * ci[j] + v;
            if (bias) v += bias[j];
            if (relu) v = v < (T)0 ? (T)0 : v;
            ci[j] = v;
        }
    }
}

/* Portable micro-kernel (PMR x PNR), plain C that compilers vectorize for the baseline ISA. */
static void SFX(ukr_portable)(CNET_UKR_ARGS(T)) {
    T ab[PMR * PNR];
    for (int i = 0; i < PMR * PNR; ++i) ab[i] = 0;
    for (int64_t p = 0; p < kc; ++p) {
        const T *ap = a + p * cs_a, *bp = b + p * rs_b;
        for (int i = 0; i < PMR; ++i) {
            const T ai = ap[i * rs_a];
            for (int j = 0; j < PNR; ++j) ab[i * PNR + j] += ai * bp[j];
        }
    }
    SFX(tile_update)(c, ldc, ab, PNR, m, n, alpha, beta, bias, relu);
}

typedef struct {
    SFX(ukr_fn) ukr;
    int64_t mr, nr, mc, kc, nc; /* register block and cache block sizes */
} SFX(kernel_t);

/* The kernel for this CPU; the narrow one when N fits in its width; with AVX-512, the 16-row one when
 * M is a multiple of 16 that 12-row tiles would pad by more than a tenth (16, 32, 64: a convolution's
 * filters; measured 6-28 % faster on the bundled nets' convolutions, while for M = 128 or 1024 the
 * 12 x 32 tile stays ahead), or, for N within one vector, that 24-row tiles would pad (128 x 128 x 10:
 * no empty rows). Depends on the shape only. */
static SFX(kernel_t) SFX(pick_kernel)(int64_t M, int64_t N) {
    SFX(kernel_t) k = {SFX(ukr_portable), PMR, PNR, 96, 256, 2048};
#if defined(__x86_64__)
    const int level = cnet_simd_level();
    if (level >= CNET_SIMD_AVX512) {
        k = (SFX(kernel_t))KERNEL_AVX512;
        if (N <= ((SFX(kernel_t))KERNEL_AVX512_NARROW).nr)
            k = M % 16 == 0 && M % 24 != 0 ? (SFX(kernel_t))KERNEL_AVX512_M16 : (SFX(kernel_t))KERNEL_AVX512_NARROW;
        else if (M % 16 == 0 && cdiv(M, 12) * 12 * 10 > M * 11) k = (SFX(kernel_t))KERNEL_AVX512_M16;
    } else if (level >= CNET_SIMD_AVX2) {
        k = (SFX(kernel_t))KERNEL_AVX2;
        if (N <= ((SFX(kernel_t))KERNEL_AVX2_NARROW).nr) k = (SFX(kernel_t))KERNEL_AVX2_NARROW;
    }
#endif
    return k;
}

typedef struct {
    int trans_a, trans_b;
    const T *A, *B;
    int64_t lda, ldb;
    T alpha;
    SFX(kernel_t) k;
    int direct_a; /* read full MR-row tiles of op(A) in place instead of packing them */
    int direct_b; /* read full NR-column panels of a row-major op(B) in place */
    int skinny;   /* split-K chunks computed by the skinny kernel (gemm_skinny_ok) */
    void (*packbt)(CNET_PACKBT_ARGS(T)); /* SIMD packing of a transposed op(B), or NULL */
} SFX(gemm_t);

/* d[0 : w] = s[0 : w]. The widths of the kernels' tiles and panels are copied by constant-size memcpy,
 * which compiles to inlined moves (a call to memcpy cost most of packing 12 elements at a time). */
static inline void SFX(copy_n)(T *restrict d, const T *restrict s, int64_t w) {
    switch (w) {
    case 4: memcpy(d, s, sizeof(T) * 4); break;
    case 6: memcpy(d, s, sizeof(T) * 6); break;
    case 8: memcpy(d, s, sizeof(T) * 8); break;
    case 12: memcpy(d, s, sizeof(T) * 12); break;
    case 16: memcpy(d, s, sizeof(T) * 16); break;
    case 24: memcpy(d, s, sizeof(T) * 24); break;
    case 32: memcpy(d, s, sizeof(T) * 32); break;
    default: memcpy(d, s, sizeof(T) * (size_t)w);
    }
}

/* Packs op(A)[i0 : i0+mc, p0 : p0+kc] into MR-high panels: dst[panel][p][i] (op(A) transposed,
 * i.e. A is (K, M) and op(A)[i][p] = A[p*lda + i]). p outer: each row of A is read sequentially. */
static void SFX(pack_a)(T *restrict dst, const SFX(gemm_t) *g, int64_t i0, int64_t mc, int64_t p0,
                        int64_t kc) {
    const int64_t mr = g->k.mr, lda = g->lda, mfull = mc / mr * mr;
    for (int64_t p = 0; p < kc; ++p) {
        const T *src = g->A + (p0 + p) * lda + i0;
        for (int64_t ir = 0; ir < mfull; ir += mr) SFX(copy_n)(dst + ir * kc + p * mr, src + ir, mr);
        if (mfull < mc) {
            T *d = dst + mfull * kc + p * mr;
            for (int64_t i = 0; i < mr; ++i) d[i] = mfull + i < mc ? src[mfull + i] : (T)0;
        }
    }
}

/* Row stride of A rows copied by pack_a_rows: kc rounded up to a cache line, and not a multiple of
 * 2 KiB (see DIRECT_A_MAX_N). */
static inline int64_t SFX(rows_ld)(int64_t kc) {
    int64_t ld = cdiv(kc, 64 / (int64_t)sizeof(T)) * (64 / (int64_t)sizeof(T));
    if ((ld * (int64_t)sizeof(T)) % 2048 == 0) ld += 64 / (int64_t)sizeof(T);
    return ld;
}

/* Copies rows i0 : i0+mc of a row-major op(A), columns p0 : p0+kc, to dst with row stride ld (a
 * plain copy, much cheaper than packing panels), and zero rows up to a multiple of MR. */
static void SFX(pack_a_rows)(T *restrict dst, const SFX(gemm_t) *g, int64_t i0, int64_t mc, int64_t p0,
                             int64_t kc, int64_t ld) {
    const int64_t mr = g->k.mr;
    for (int64_t i = 0; i < mc; ++i) memcpy(dst + i * ld, g->A + (i0 + i) * g->lda + p0, sizeof(T) * kc);
    for (int64_t i = mc; i < cdiv(mc, mr) * mr; ++i) memset(dst + i * ld, 0, sizeof(T) * kc);
}

/* Packs op(B)[p0 : p0+kc, j0 : j0+nc] into NR-wide panels: dst[panel][p][j]. */
static void SFX(pack_b)(T *restrict dst, const SFX(gemm_t) *g, int64_t p0, int64_t kc, int64_t j0,
                        int64_t nc) {
    const int64_t nr = g->k.nr, ldb = g->ldb;
    for (int64_t jr = 0; jr < nc; jr += nr) {
        const int64_t n = imin(nr, nc - jr);
        T *restrict d = dst + jr * kc;
        if (!g->trans_b) { /* op(B)[p][j] = B[p*ldb + j] */
            const T *src = g->B + p0 * ldb + j0 + jr;
            if (n == nr)
                for (int64_t p = 0; p < kc; ++p) SFX(copy_n)(d + p * nr, src + p * ldb, nr);
            else
                for (int64_t p = 0; p < kc; ++p)
                    for (int64_t j = 0; j < nr; ++j) d[p * nr + j] = j < n ? src[p * ldb + j] : 0;
        } else if (g->packbt) { /* op(B)[p][j] = B[j*ldb + p]: blocks transposed in registers */
            g->packbt(d, g->B + (j0 + jr) * ldb + p0, ldb, kc, n, nr);
        } else {
            /* p outer: the panel is written contiguously, the n rows of B are read as n streams */
            const T *src = g->B + (j0 + jr) * ldb + p0;
            for (int64_t p = 0; p < kc; ++p) {
                for (int64_t j = 0; j < n; ++j) d[p * nr + j] = src[j * ldb + p];
                for (int64_t j = n; j < nr; ++j) d[p * nr + j] = 0;
            }
        }
    }
}

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
                           int64_t k0, int64_t k1, T *C, int64_t ldc, T beta, const T *bias, int relu,
                           T *abuf, T *bbuf) {
    const SFX(kernel_t) *k = &g->k;
    const int64_t kcb = SFX(kc_for)(g, k1 - k0), lda = g->lda;
    /* in-place op(A): element (i, p) at A[i*rs + p*cs] */
    const int64_t ars = g->trans_a ? 1 : lda, acs = g->trans_a ? lda : 1;
    for (int64_t jc = n0; jc < n1; jc += k->nc) {
        const int64_t nc = imin(k->nc, n1 - jc);
        const int64_t nfull = g->direct_b ? nc / k->nr * k->nr : 0; /* columns read in place */
        for (int64_t pc = k0; pc < k1; pc += kcb) {
            const int64_t kc = imin(kcb, k1 - pc);
            const T beta_k = pc == k0 ? beta : (T)1;
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
                    const T *bias_t = last && bias ? bias + jc + jr : NULL;
                    const T *bp = jr < nfull ? g->B + pc * g->ldb + jc + jr : bbuf + (jr - nfull) * kc;
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
static int SFX(rect_buffers)(const SFX(gemm_t) *g, int64_t m, int64_t n, int64_t k, T **abuf, T **bbuf) {
    const int64_t kc = imin(k, g->k.kc);
    const int64_t mc = g->direct_a ? g->k.mr : cdiv(imin(g->k.mc, m), g->k.mr) * g->k.mr;
    const int64_t nc = g->direct_b ? g->k.nr : cdiv(imin(g->k.nc, n), g->k.nr) * g->k.nr;
    *abuf = cnet_scratch_alloc(sizeof(T) * (size_t)(mc * SFX(rows_ld)(kc)));
    *bbuf = cnet_scratch_alloc(sizeof(T) * (size_t)(kc * nc));
    if (*abuf && *bbuf) return CNET_OK;
    cnet_scratch_free(*abuf);
    cnet_scratch_free(*bbuf);
    *abuf = *bbuf = NULL;
    return CNET_ERR_NOMEM;
}

/* C = beta * C (+ bias, relu): the K == 0 case. */
static void SFX(scale_c)(T *C, int64_t ldc, int64_t M, int64_t N, T beta, const T *bias, int relu) {
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
            T v = beta == (T)0 ? (T)0 : beta * C[i * ldc + j];
            if (bias) v += bias[j];
            if (relu) v = v < (T)0 ? (T)0 : v;
            C[i * ldc + j] = v;
        }
}

static void SFX(naive_rows)(int trans_a, int trans_b, int64_t i0, int64_t i1, int64_t N, int64_t K,
                            T alpha, const T *A, int64_t lda, const T *B, int64_t ldb, T beta, T *C,
                            int64_t ldc, const T *bias, int relu) {
    for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = 0; j < N; ++j) {
            T s = 0;
            for (int64_t p = 0; p < K; ++p)
                s += (trans_a ? A[p * lda + i] : A[i * lda + p]) *
                     (trans_b ? B[j * ldb + p] : B[p * ldb + j]);
            T v = alpha * s;
            if (beta != (T)0) v += beta * C[i * ldc + j];
            if (bias) v += bias[j];
            if (relu) v = v < (T)0 ? (T)0 : v;
            C[i * ldc + j] = v;
        }
}

/* The reference triple loop (same contract as cnet_gemm_*): one sequential sum per element. */
void SFX(cnet_gemm_naive)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                          const T *A, int64_t lda, const T *B, int64_t ldb, T beta, T *C, int64_t ldc,
                          const T *bias, int epilogue, int n_threads) {
    const int relu = epilogue == CNET_EPI_RELU;
    if (n_threads <= 1 || M < 2) {
        SFX(naive_rows)(trans_a, trans_b, 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t i = 0; i < M; ++i)
        SFX(naive_rows)(trans_a, trans_b, i, i + 1, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
}

/* The skinny path: op(A) transposed and op(B) row-major, both read in place by the skinny kernel
 * (gemm_internal.h), for a small C over a long K, where packing would copy both operands for a few
 * multiply-adds per element (measured: a first convolution's weight gradient, 9 x 86528 x 32, ran at a
 * third to four fifths of OpenBLAS's speed through packed 12-row panels). AVX-512 only. */
static int SFX(gemm_skinny_ok)(int trans_a, int trans_b, int64_t M, int64_t N) {
#if defined(__x86_64__)
    if (!trans_a || trans_b || cnet_simd_level() < CNET_SIMD_AVX512) return 0;
    const int64_t tiles = SKINNY_MAX_TILES;
    if (N <= SKINNY_VL) return M <= tiles * CNET_SKINNY_MR_1V;
    return N <= 2 * SKINNY_VL && M <= tiles * CNET_SKINNY_MR_2V;
#else
    (void)trans_a, (void)trans_b, (void)M, (void)N;
    return 0;
#endif
}

/* Chunk [k0, k1) of K into part (M x N, overwritten): the rows of C in tiles of (nearly) equal height,
 * each one pass of the skinny kernel over the chunk. */
static void SFX(skinny_chunk)(const SFX(gemm_t) *g, int64_t M, int64_t N, int64_t k0, int64_t k1, T *part) {
#if defined(__x86_64__)
    const int64_t mr = N <= SKINNY_VL ? CNET_SKINNY_MR_1V : CNET_SKINNY_MR_2V;
    const int64_t tiles = cdiv(M, mr);
    for (int64_t t = 0; t < tiles; ++t) {
        const int64_t i0 = M * t / tiles, i1 = M * (t + 1) / tiles;
        SKINNY_AVX512(k1 - k0, g->A + k0 * g->lda + i0, g->lda, g->B + k0 * g->ldb, g->ldb, part + i0 * N, N,
                      i1 - i0, N, g->alpha);
    }
#else
    (void)g, (void)M, (void)N, (void)k0, (void)k1, (void)part;
#endif
}

/* Split-K, part 1: chunks [c0, c1) of K, chunk c to part[c] (M x N, beta 0, no epilogue), with the
 * buffers of rect_buffers(g, M, N, chunk). */
static void SFX(splitk_products)(const SFX(gemm_t) *g, int64_t M, int64_t N, int64_t K, int64_t chunk,
                                 int64_t c0, int64_t c1, T *part, T *abuf, T *bbuf) {
    for (int64_t c = c0; c < c1; ++c) {
        const int64_t k0 = c * chunk, k1 = imin(K, (c + 1) * chunk);
        if (g->skinny) SFX(skinny_chunk)(g, M, N, k0, k1, part + c * M * N);
        else SFX(gemm_rect)(g, 0, M, 0, N, k0, k1, part + c * M * N, N, (T)0, NULL, 0, abuf, bbuf);
    }
}

/* Split-K, part 2: rows [i0, i1) of C = sum_c part[c] in chunk order, then beta, bias, relu. */
static void SFX(splitk_sum)(const T *part, int64_t nch, int64_t M, int64_t N, int64_t i0, int64_t i1,
                            T beta, T *C, int64_t ldc, const T *bias, int relu) {
    const int64_t mn = M * N;
    for (int64_t i = i0; i < i1; ++i) {
        T *ci = C + i * ldc;
        for (int64_t j = 0; j < N; ++j) {
            T s = part[i * N + j];
            for (int64_t c = 1; c < nch; ++c) s += part[c * mn + i * N + j];
            T v = beta == (T)0 ? s : beta * ci[j] + s;
            if (bias) v += bias[j];
            if (relu) v = v < (T)0 ? (T)0 : v;
            ci[j] = v;
        }
    }
}

/* Split-K: thread t of nth computes the static block [nch*t/nth, nch*(t+1)/nth) of the chunks, then,
 * after a barrier, rows [M*t/nth, M*(t+1)/nth) of the chunk sum. */
static int SFX(gemm_splitk)(const SFX(gemm_t) *g, int64_t M, int64_t N, int64_t K, int64_t nch, T beta,
                            T *C, int64_t ldc, const T *bias, int relu, int nt) {
    const int64_t chunk = cdiv(K, nch);
    nch = cdiv(K, chunk);
    T *part = cnet_scratch_alloc(sizeof(T) * (size_t)(nch * M * N));
    if (!part) return CNET_ERR_NOMEM;
    int failed = 0;
    if (nt <= 1) {
        T *abuf = NULL, *bbuf = NULL;
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
            T *abuf = NULL, *bbuf = NULL;
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

/* GEMMs with at most SMALL_M_MAX rows and a row-major op(B): row by row with a row kernel
 * (gemm_internal.h) that reads B in place. Packing B would copy all of it for one or two rows of work
 * (a dense layer predicting one sample). One thread: such a product is a pass over B. */
#define SMALL_M_MAX 3
#define PORTABLE_ROWK_WIDTH 64

/* Portable row kernel: acc[j] += a_p * b[p][j] for a block of PORTABLE_ROWK_WIDTH columns. */
static void SFX(rowk_portable)(CNET_ROWK_ARGS(T)) {
    T acc[PORTABLE_ROWK_WIDTH];
    for (int64_t j = 0; j < PORTABLE_ROWK_WIDTH; ++j) acc[j] = 0;
    for (int64_t p = 0; p < k; ++p) {
        const T ap = a[p * cs_a], *bp = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) acc[j] += ap * bp[j];
    }
    SFX(tile_update)(c, 0, acc, 0, 1, n, alpha, beta, bias, relu);
}

static void SFX(gemm_small_m)(int trans_a, int64_t M, int64_t N, int64_t K, T alpha, const T *A,
                              int64_t lda, const T *B, int64_t ldb, T beta, T *C, int64_t ldc,
                              const T *bias, int relu) {
    SFX(rowk_fn) rowk = SFX(rowk_portable);
    int64_t width = PORTABLE_ROWK_WIDTH;
#if defined(__x86_64__)
    const int level = cnet_simd_level();
    if (level >= CNET_SIMD_AVX512) rowk = ROWK_AVX512, width = ROWK_AVX512_WIDTH;
    else if (level >= CNET_SIMD_AVX2) rowk = ROWK_AVX2, width = ROWK_AVX2_WIDTH;
#endif
    const int64_t rs_a = trans_a ? 1 : lda, cs_a = trans_a ? lda : 1;
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j0 = 0; j0 < N; j0 += width)
            rowk(K, A + i * rs_a, cs_a, B + j0, ldb, C + i * ldc + j0, imin(width, N - j0), alpha, beta,
                 bias ? bias + j0 : NULL, relu);
}

int SFX(cnet_gemm)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T *A,
                   int64_t lda, const T *B, int64_t ldb, T beta, T *C, int64_t ldc, const T *bias,
                   int epilogue, int n_threads) {
    const int relu = epilogue == CNET_EPI_RELU;
    if (M <= 0 || N <= 0) return CNET_OK;
    if (K <= 0 || alpha == (T)0) {
        SFX(scale_c)(C, ldc, M, N, beta, bias, relu);
        return CNET_OK;
    }
    if (M <= SMALL_M_MAX && !trans_b) { /* one thread: at most a few rows of work */
        SFX(gemm_small_m)(trans_a, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
        return CNET_OK;
    }
    SFX(gemm_t) g = {trans_a, trans_b, A, B, lda, ldb, alpha, SFX(pick_kernel)(M, N), 0, 0, 0, NULL};
    /* Packing A pays when a packed panel serves many tiles of N; otherwise read A in place (a transposed
     * A only for one or two panels of N: its tile's kc rows then span more than L1). Packing B pays
     * when its rows are far apart and each panel serves many tiles. Read in place: rows at most 4
     * panels apart (a weight gradient's dY, a dense layer's W with 128 units; packing them was a third
     * of the time of 288 x 32768 x 32), and a B used by few tiles (M <= 64: a convolution's im2col
     * matrix, used once per filter tile; measured 5-17 % faster convolution forward) or with few rows
     * (K <= 64) -- unless its row stride is a multiple of 2 KiB (set conflicts, as for A). */
    const int64_t lda_bytes = lda * (int64_t)sizeof(T);
    g.direct_a = (g.trans_a ? N <= DIRECT_AT_MAX_PANELS * g.k.nr : N <= DIRECT_A_MAX_N) && lda_bytes % 2048 != 0;
    g.direct_b = !trans_b && (ldb <= DIRECT_B_MAX_PANELS * g.k.nr ||
                              ((ldb * (int64_t)sizeof(T)) % 2048 != 0 && (M <= 64 || K <= 64)));
#if defined(__x86_64__)
    if (trans_b && cnet_simd_level() >= CNET_SIMD_AVX512 && g.k.nr % SKINNY_VL == 0) g.packbt = PACKBT_AVX512;
#endif
    int nt = n_threads;
#ifndef _OPENMP
    nt = 1;
#endif
    if ((double)M * N * K < GEMM_MIN_PARALLEL_FMAS) nt = 1;

    const int64_t nch = splitk_chunks(M, N, K);
    g.skinny = nch > 0 && SFX(gemm_skinny_ok)(trans_a, trans_b, M, N);
    if (nch > 0) return SFX(gemm_splitk)(&g, M, N, K, nch, beta, C, ldc, bias, relu, (int)imin(nt, nch));
    const int64_t pm = cdiv(M, g.k.mr), pn = cdiv(N, g.k.nr);
    if (nt > pm * pn) nt = (int)(pm * pn);
    if (nt <= 1) {
        T *abuf, *bbuf;
        if (SFX(rect_buffers)(&g, M, N, K, &abuf, &bbuf) != CNET_OK) return CNET_ERR_NOMEM;
        SFX(gemm_rect)(&g, 0, M, 0, N, 0, K, C, ldc, beta, bias, relu, abuf, bbuf);
        cnet_scratch_free(abuf);
        cnet_scratch_free(bbuf);
        return CNET_OK;
    }
    int tm = 1, tn = nt;
    thread_grid(pm, pn, g.k.mr, g.k.nr, K, g.k.nc, nt, &tm, &tn);
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
            SFX(grid_rect)(&g, M, N, pm, pn, tm, tn, t, &m0, &m1, &n0, &n1);
            if (m1 <= m0 || n1 <= n0) continue;
            mmax = imax(mmax, m1 - m0);
            nmax = imax(nmax, n1 - n0);
        }
        T *abuf = NULL, *bbuf = NULL;
        if (mmax > 0 && SFX(rect_buffers)(&g, mmax, nmax, K, &abuf, &bbuf) != CNET_OK)
            cnet_flag_raise(&failed);
#pragma omp barrier
        if (!cnet_flag_read(&failed))
            for (int t = t0; t < tm * tn; t += nth) {
                SFX(grid_rect)(&g, M, N, pm, pn, tm, tn, t, &m0, &m1, &n0, &n1);
                if (m1 <= m0 || n1 <= n0) continue;
                SFX(gemm_rect)(&g, m0, m1, n0, n1, 0, K, C, ldc, beta, bias, relu, abuf, bbuf);
            }
        cnet_scratch_free(abuf);
        cnet_scratch_free(bbuf);
    }
    return failed ? CNET_ERR_NOMEM : CNET_OK;
}

/* this instantiation's parameters, defined by the includer */
#undef T
#undef SFX
#undef PMR
#undef PNR
#undef KERNEL_AVX512
#undef KERNEL_AVX512_NARROW
#undef KERNEL_AVX512_M16
#undef KERNEL_AVX2
#undef KERNEL_AVX2_NARROW
#undef ROWK_AVX512
#undef ROWK_AVX512_WIDTH
#undef ROWK_AVX2
#undef ROWK_AVX2_WIDTH
#undef SKINNY_AVX512
#undef SKINNY_VL
#undef PACKBT_AVX512

#endif /* CNET_GEMM_TEMPLATE */
