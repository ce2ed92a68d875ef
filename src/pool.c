/* pool.c -- 2-D max and average pooling, forward and backward (pool_tmpl.h). */
#define CNET_TEMPLATE "pool_tmpl.h"
#include "instantiate.h"
