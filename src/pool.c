/* pool.c -- 2-D max and average pooling, forward and backward: pool_tmpl.h for the baseline ISA, with
 * the public functions of cnet.h, each dispatching to this path or to pool_avx2.c / pool_avx512.c. */
#define CNET_ISA _portable
#define CNET_DISPATCHERS
#define CNET_TEMPLATE "pool_tmpl.h"
#include "instantiate.h"
