/* activation.c -- element-wise activations (ReLU, sigmoid, tanh) and the row softmax, forward and backward.
 * The bodies are written once in activation_tmpl.h and instantiated for float and double, here for the
 * baseline ISA and in activation_avx2.c / activation_avx512.c for the wider ones; the public functions
 * below pick one per call (elementwise_dispatch.h). exp and tanh are the vectorizable versions of
 * activation_vexp.h. */
#define CNET_EW_ISA _portable
#include "activation_tmpl.h"

#define FWD(T) (T *y, const T *x, int64_t n, int n_threads), (y, x, n, n_threads)
#define BWD(T) (T *dx, const T *dy, const T *y, int64_t n, int n_threads), (dx, dy, y, n, n_threads)
#define SMF(T) (T *y, const T *x, int64_t rows, int64_t L, int n_threads), (y, x, rows, L, n_threads)
#define SMB(T) (T *dx, const T *dy, const T *y, int64_t rows, int64_t L, int n_threads), \
    (dx, dy, y, rows, L, n_threads)
#define DISPATCH(name, dt, sig) CNET_EW_DISPATCH_(name, dt, sig)
#define CNET_EW_DISPATCH_(name, dt, params, args) CNET_EW_DISPATCH(name, dt, params, args)

DISPATCH(cnet_relu_forward, f32, FWD(float))
DISPATCH(cnet_relu_forward, f64, FWD(double))
DISPATCH(cnet_relu_backward, f32, BWD(float))
DISPATCH(cnet_relu_backward, f64, BWD(double))
DISPATCH(cnet_sigmoid_forward, f32, FWD(float))
DISPATCH(cnet_sigmoid_forward, f64, FWD(double))
DISPATCH(cnet_sigmoid_backward, f32, BWD(float))
DISPATCH(cnet_sigmoid_backward, f64, BWD(double))
DISPATCH(cnet_tanh_forward, f32, FWD(float))
DISPATCH(cnet_tanh_forward, f64, FWD(double))
DISPATCH(cnet_tanh_backward, f32, BWD(float))
DISPATCH(cnet_tanh_backward, f64, BWD(double))
DISPATCH(cnet_softmax_forward, f32, SMF(float))
DISPATCH(cnet_softmax_forward, f64, SMF(double))
DISPATCH(cnet_softmax_backward, f32, SMB(float))
DISPATCH(cnet_softmax_backward, f64, SMB(double))
