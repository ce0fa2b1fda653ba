#include "CRekindleScoring.h"

// Why C: Swift's `Double.squareRoot()` reaches libm's `sqrt` on Linux, which may set errno, so
// every square root is compiled as `x < 0 ? sqrt(x) : sqrtsd x` and the loop is never vectorised
// (seen in the disassembly of Recommender.recommend). `__builtin_elementwise_sqrt` is the IEEE
// square root with no errno, on one double or on a vector of them. No compiler flags are needed:
// the vectors are written out, and `target_clones` compiles an AVX2 copy (4 doubles an
// instruction) beside the SSE2 one (2), picked once at load time on x86-64 Linux.
//
// Square root and division are correctly rounded, and a vector instruction rounds each lane as
// the scalar one does: every term has the bits the scalar loop gave. Neither -ffast-math nor FMA
// contraction applies here (none is enabled, and there is no multiply-add to contract).

typedef double double4 __attribute__((ext_vector_type(4)));

#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
void rekindle_cosine_terms(double *restrict out, ptrdiff_t n, double cs, const int32_t *restrict co,
                           const int32_t *restrict ids, const int32_t *restrict counts,
                           const int32_t *restrict slots) {
    ptrdiff_t i = 0;
    if (slots) {
        for (; i + 4 <= n; i += 4) {
            int32_t j0 = slots[i], j1 = slots[i + 1], j2 = slots[i + 2], j3 = slots[i + 3];
            double4 c = {(double)co[j0], (double)co[j1], (double)co[j2], (double)co[j3]};
            double4 k = {(double)counts[ids[j0]], (double)counts[ids[j1]], (double)counts[ids[j2]],
                         (double)counts[ids[j3]]};
            double4 r = c / __builtin_elementwise_sqrt(cs * k);
            __builtin_memcpy(out + i, &r, sizeof r);
        }
        for (; i < n; i++) {
            int32_t j = slots[i];
            out[i] = (double)co[j] / __builtin_elementwise_sqrt(cs * (double)counts[ids[j]]);
        }
    } else {
        for (; i + 4 <= n; i += 4) {
            double4 c = {(double)co[i], (double)co[i + 1], (double)co[i + 2], (double)co[i + 3]};
            double4 k = {(double)counts[ids[i]], (double)counts[ids[i + 1]], (double)counts[ids[i + 2]],
                         (double)counts[ids[i + 3]]};
            double4 r = c / __builtin_elementwise_sqrt(cs * k);
            __builtin_memcpy(out + i, &r, sizeof r);
        }
        for (; i < n; i++) {
            out[i] = (double)co[i] / __builtin_elementwise_sqrt(cs * (double)counts[ids[i]]);
        }
    }
}
