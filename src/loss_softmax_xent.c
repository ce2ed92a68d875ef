/* loss_softmax_xent.c -- fused softmax + cross-entropy over the rows of a logits matrix
 * (loss_softmax_xent_tmpl.h). The probabilities are cnet_softmax_forward's own (activation.c, called
 * per chunk of rows), so that a model's predict() and its loss see the same probabilities to the bit on
 * every SIMD path; the loss comes from log-sum-exp, which stays finite where a probability underflows
 * to 0. */
#define CNET_TEMPLATE "loss_softmax_xent_tmpl.h"
#include "instantiate.h"
