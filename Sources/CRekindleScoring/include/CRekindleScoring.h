#ifndef CREKINDLE_SCORING_H
#define CREKINDLE_SCORING_H

#include <stddef.h>
#include <stdint.h>

/// The exact scoring's cosine terms of one seed (Recommender.recommend): for i in 0..<n, with
/// j = slots ? slots[i] : i,
///     out[i] = (double)co[j] / sqrt(cs * (double)counts[ids[j]])
/// each term the same IEEE operations, in the same order, as the Swift expression
/// `Double(co[j]) / (cs * Double(counts[k])).squareRoot()`, so the same bits.
void rekindle_cosine_terms(double *_Nonnull out, ptrdiff_t n, double cs, const int32_t *_Nonnull co,
                           const int32_t *_Nonnull ids, const int32_t *_Nonnull counts,
                           const int32_t *_Nullable slots);

#endif
