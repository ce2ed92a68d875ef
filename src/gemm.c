/* gemm.c -- cnet's GEMM: C = alpha * op(A) . op(B) + beta * C (+ bias, ReLU); see cnet.h.
 *
 * The pieces, in the order they are instantiated (instantiate.h) for float and double:
 *   gemm_update_tmpl.h, gemm_portable_tmpl.h  the portable micro-kernel and row kernel (the AVX2 and
 *                         AVX-512 ones are gemm_avx2.c and gemm_avx512.c; contract: gemm_internal.h)
 *   gemm_pack_tmpl.h      one product as the loops see it, and the packing of its operands
 *   gemm_blocked_tmpl.h   the blocked loop (BLIS-style) and its thread grid
 *   gemm_splitk_tmpl.h    split-K: a small C over a long K, the chunks added in a fixed order
 *   gemm_tmpl.h           the entry, cnet_gemm_f32/f64: follows the plan of the product
 * and gemm_plan.c makes every shape decision (route, kernel, cache blocks, operands read in place,
 * split-K, threads): docs/gemm.md. An element of C is computed by the same operations in the same
 * order for every n_threads. */
#define CNET_TEMPLATE "gemm_update_tmpl.h"
#include "instantiate.h"
#define CNET_TEMPLATE "gemm_portable_tmpl.h"
#include "instantiate.h"
#define CNET_TEMPLATE "gemm_pack_tmpl.h"
#include "instantiate.h"
#define CNET_TEMPLATE "gemm_blocked_tmpl.h"
#include "instantiate.h"
#define CNET_TEMPLATE "gemm_splitk_tmpl.h"
#include "instantiate.h"
#define CNET_TEMPLATE "gemm_tmpl.h"
#include "instantiate.h"
