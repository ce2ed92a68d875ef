/* gemm_plan.c -- every shape decision of cnet's GEMM (gemm_plan.h): the route, the micro-kernel and its
 * cache blocks, the operands read in place, split-K, the threads. docs/gemm.md gives the measurements
 * (Zen 4) and commits behind each number, and which have none recorded. To re-tune one: change it here,
 * rebuild, and time the products it affects on every SIMD path, at 1 and 2 threads, against the
 * previous build. */
#include "gemm_plan.h"

/* ---- blocking ------------------------------------------------------------------------------------
 * gemm_blocked_tmpl.h takes op(B) in KC x NC blocks and, inside one, op(A) in MC x KC blocks; each
 * KC x NR panel of the B block is then met by every MR x KC tile of the A block. The panel is reused
 * MC/MR times back to back (L1, or L2 for the widest), the A block once per panel of the B block (the
 * 1 MiB L2 per core of Zen 4), the B block once per A block (the shared L3, 32 MiB). KC is also the
 * length of a tile's FMA chains between two updates of C. A narrow kernel's N fits one panel: NC = NR.
 * MR x NR is fixed by the kernel's code (its accumulators fill the vector registers): MR below, NR one or
 * two vectors; the comment above each row gives that kernel's B panel, A block and B block in bytes. */
#define AVX2_MR 6
#define AVX2_NARROW_MR 12
#define AVX512_MR 12
#define AVX512_NARROW_MR 24
#define AVX512_M16_MR 16
static const cnet_gemm_blocking BLOCKING[2][CNET_UKR_COUNT] = {
    [0] = { /* float */
        /* 8 KiB, 96 KiB, 2 MiB */
        [CNET_UKR_PORTABLE] = {.mr = CNET_PORTABLE_MR, .nr = CNET_PORTABLE_NR_F32,
                               .mc = 96, .kc = 256, .nc = 2048},
        /* 16 KiB, 144 KiB, 3 MiB */
        [CNET_UKR_AVX2] = {.mr = AVX2_MR, .nr = 16, .mc = 144, .kc = 256, .nc = 3072},
        /* 8 KiB, 240 KiB */
        [CNET_UKR_AVX2_NARROW] = {.mr = AVX2_NARROW_MR, .nr = 8, .mc = 240, .kc = 256, .nc = 8},
        /* 48 KiB, 216 KiB, 4.5 MiB */
        [CNET_UKR_AVX512] = {.mr = AVX512_MR, .nr = 32, .mc = 144, .kc = 384, .nc = 3072},
        /* 24 KiB, 360 KiB */
        [CNET_UKR_AVX512_NARROW] = {.mr = AVX512_NARROW_MR, .nr = 16, .mc = 240, .kc = 384, .nc = 16},
        /* 24 KiB, 216 KiB, 4.5 MiB */
        [CNET_UKR_AVX512_M16] = {.mr = AVX512_M16_MR, .nr = 16, .mc = 144, .kc = 384, .nc = 3072},
    },
    [1] = { /* double */
        /* 8 KiB, 192 KiB, 4 MiB */
        [CNET_UKR_PORTABLE] = {.mr = CNET_PORTABLE_MR, .nr = CNET_PORTABLE_NR_F64,
                               .mc = 96, .kc = 256, .nc = 2048},
        /* 16 KiB, 192 KiB, 4 MiB */
        [CNET_UKR_AVX2] = {.mr = AVX2_MR, .nr = 8, .mc = 96, .kc = 256, .nc = 2048},
        /* 8 KiB, 480 KiB */
        [CNET_UKR_AVX2_NARROW] = {.mr = AVX2_NARROW_MR, .nr = 4, .mc = 240, .kc = 256, .nc = 4},
        /* 32 KiB, 192 KiB, 4 MiB */
        [CNET_UKR_AVX512] = {.mr = AVX512_MR, .nr = 16, .mc = 96, .kc = 256, .nc = 2048},
        /* 16 KiB, 480 KiB */
        [CNET_UKR_AVX512_NARROW] = {.mr = AVX512_NARROW_MR, .nr = 8, .mc = 240, .kc = 256, .nc = 8},
        /* 16 KiB, 192 KiB, 4 MiB */
        [CNET_UKR_AVX512_M16] = {.mr = AVX512_M16_MR, .nr = 8, .mc = 96, .kc = 256, .nc = 2048},
    },
};

/* ---- thresholds ------------------------------------------------------------------------------------ */

/* At most this many rows of C, with a row-major op(B): the row kernels, op(B) read in place, one
 * thread (packing op(B) would copy all of it for a row or two of work). */
#define ROWS_MAX_M 3

/* Split-K, by rules of the shape only (so the chunk sums are added in one order for every n_threads):
 * C of at most SPLITK_MAX_MN elements; chunks of at least SPLITK_MIN_CHUNK of K; at most
 * SPLITK_MAX_CHUNKS chunks (12 keep 1, 2, 3, 4 and 6 threads busy) and SPLITK_MAX_PARTIAL elements of
 * partial products. */
#define SPLITK_MAX_MN 32768
#define SPLITK_MIN_CHUNK 512
#define SPLITK_MAX_CHUNKS 12
#define SPLITK_MAX_PARTIAL (1 << 19)

/* The skinny kernel computes the chunks of a split-K product with op(A) transposed and op(B) row-major
 * (AVX-512) whose C fits in SKINNY_MAX_TILES of its tiles. */
#define SKINNY_MAX_TILES 6

/* Operands read in place rather than packed: a row-major op(A) when N <= DIRECT_A_MAX_N, a transposed
 * one when N is within DIRECT_AT_MAX_PANELS panels (a tile read in place spans KC rows of A, more than
 * L1 holds, so it pays only for a panel or two); a
 * row-major op(B) with rows at most DIRECT_B_MAX_PANELS panels apart, or used by few tiles
 * (M <= DIRECT_B_MAX_M: a convolution's im2col matrix, one pass per filter tile) or with few rows
 * (K <= DIRECT_B_MAX_K). The last two, and op(A), never with a row stride that is a multiple of
 * CNET_GEMM_CONFLICT_STRIDE. */
#define DIRECT_A_MAX_N 512
#define DIRECT_AT_MAX_PANELS 2
#define DIRECT_B_MAX_PANELS 4
#define DIRECT_B_MAX_M 64
#define DIRECT_B_MAX_K 64

/* Below this many multiply-adds a GEMM runs on one thread. */
#define GEMM_MIN_PARALLEL_FMAS (1 << 18)

/* ---- the decisions ------------------------------------------------------------------------------ */

/* Number of K chunks of the split-K route (0: do not split). */
static int64_t splitk_chunks(int64_t M, int64_t N, int64_t K) {
    int64_t mn = M * N;
    if (mn > SPLITK_MAX_MN) return 0;
    int64_t n = imin(imin(K / SPLITK_MIN_CHUNK, SPLITK_MAX_CHUNKS), SPLITK_MAX_PARTIAL / mn);
    if (n >= 12) n -= n % 12; /* divisible by 1, 2, 3, 4, 6 threads */
    else if (n >= 4) n -= n % 2;
    else n = 0;
    return n;
}

/* The skinny kernel for a split-K product (vl: the AVX-512 vector length in elements). */
static int skinny_ok(int simd, int64_t vl, int trans_a, int trans_b, int64_t M, int64_t N) {
    if (!trans_a || trans_b || simd < CNET_SIMD_AVX512) return 0;
    if (N <= vl) return M <= SKINNY_MAX_TILES * CNET_SKINNY_MR_1V;
    return N <= 2 * vl && M <= SKINNY_MAX_TILES * CNET_SKINNY_MR_2V;
}

/* The micro-kernel for this path (vl512, vl256: a vector's elements, the narrow kernels' NR): the narrow
 * one when N fits in its width; with AVX-512, the 16-row one when M is a multiple of 16 that 12-row
 * tiles would pad by more than a tenth (16, 32, 64: a convolution's filters; for M = 128 or 1024 the
 * 12 x 32 tile stays ahead), or, for N within one vector, that 24-row tiles would pad (M a multiple of
 * 16 but not of 24). The tile heights are constants here: a GEMM's call should not pay divisions. */
static cnet_ukr_id pick_ukr(int simd, int64_t vl512, int64_t vl256, int64_t M, int64_t N) {
    if (simd >= CNET_SIMD_AVX512) {
        if (N <= vl512)
            return M % AVX512_M16_MR == 0 && M % AVX512_NARROW_MR != 0 ? CNET_UKR_AVX512_M16
                                                                       : CNET_UKR_AVX512_NARROW;
        if (M % AVX512_M16_MR == 0 && cdiv(M, AVX512_MR) * AVX512_MR * 10 > M * 11)
            return CNET_UKR_AVX512_M16;
        return CNET_UKR_AVX512;
    }
    if (simd >= CNET_SIMD_AVX2) return N <= vl256 ? CNET_UKR_AVX2_NARROW : CNET_UKR_AVX2;
    return CNET_UKR_PORTABLE;
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

cnet_gemm_plan cnet_gemm_make_plan(size_t esize, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                   int64_t lda, int64_t ldb, int n_threads) {
    cnet_gemm_plan p = {0};
    p.simd = cnet_simd_level();
    const int f32 = esize == sizeof(float);
    const int64_t vl512 = f32 ? 16 : 8, vl256 = f32 ? 8 : 4; /* elements per vector */
    if (M <= ROWS_MAX_M && !trans_b) {
        p.route = CNET_GEMM_ROWS;
        p.rowk_width = p.simd >= CNET_SIMD_AVX512 ? CNET_ROWK_VECTORS * vl512
                       : p.simd >= CNET_SIMD_AVX2 ? CNET_ROWK_VECTORS * vl256
                                                  : CNET_PORTABLE_ROWK_WIDTH;
        p.nt = 1;
        return p;
    }
    p.ukr = pick_ukr(p.simd, vl512, vl256, M, N);
    p.blk = BLOCKING[f32 ? 0 : 1][p.ukr];
    const int64_t lda_bytes = lda * (int64_t)esize, ldb_bytes = ldb * (int64_t)esize;
    p.direct_a = (trans_a ? N <= DIRECT_AT_MAX_PANELS * p.blk.nr : N <= DIRECT_A_MAX_N) &&
                 lda_bytes % CNET_GEMM_CONFLICT_STRIDE != 0;
    p.direct_b = !trans_b && (ldb <= DIRECT_B_MAX_PANELS * p.blk.nr ||
                              (ldb_bytes % CNET_GEMM_CONFLICT_STRIDE != 0 &&
                               (M <= DIRECT_B_MAX_M || K <= DIRECT_B_MAX_K)));
    p.packbt = trans_b && p.simd >= CNET_SIMD_AVX512 && p.blk.nr % vl512 == 0;

    int nt = n_threads;
#ifndef _OPENMP
    nt = 1;
#endif
    if ((double)M * N * K < GEMM_MIN_PARALLEL_FMAS) nt = 1;
    p.chunks = splitk_chunks(M, N, K);
    if (p.chunks > 0) {
        p.route = CNET_GEMM_SPLITK;
        p.skinny = skinny_ok(p.simd, vl512, trans_a, trans_b, M, N);
        p.nt = (int)imin(nt, p.chunks);
        return p;
    }
    p.route = CNET_GEMM_BLOCKED;
    const int64_t pm = cdiv(M, p.blk.mr), pn = cdiv(N, p.blk.nr);
    if (nt > pm * pn) nt = (int)(pm * pn);
    p.nt = nt;
    p.tm = 1;
    p.tn = nt;
    if (nt > 1) thread_grid(pm, pn, p.blk.mr, p.blk.nr, K, p.blk.nc, nt, &p.tm, &p.tn);
    return p;
}
