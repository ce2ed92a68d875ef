/* pool_blocked.c -- 2x2 max pooling on the channel-blocked layout: pool_blocked_tmpl.h for the baseline
 * ISA, with the public functions of cnet.h, each dispatching to this path or to
 * pool_blocked_avx2.c / pool_blocked_avx512.c. */
#define CNET_ISA _portable
#define CNET_DISPATCHERS
#define CNET_TEMPLATE "pool_blocked_tmpl.h"
#include "instantiate.h"
