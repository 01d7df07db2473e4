// Cells of the unit cube and how they split and are sampled: boxes (k-section along the longest
// side, DIRECT's trisection, 2^d bisection) and FDA's hyperspheres. Pure geometry: no scores,
// no tree, no evaluations.
#pragma once

#include <cstddef>
#include <vector>

#include "fracnas/core/optimizer.hpp"
#include "fracnas/core/rng.hpp"

namespace fracnas::core {

/// An axis-aligned box [lo, hi] inside [0,1]^d.
struct box {
    point lo, hi;
};

/// A ball of the unit cube's space; it may stick out of [0,1]^d (samples are clipped).
struct sphere {
    point centre;
    double radius = 0.0;
};

point centre(const box& b);
/// Half the diagonal's Euclidean length (DIRECT's cell size).
double half_diagonal(const box& b);
/// Half the longest side (the L-infinity size DIRECT-L groups cells by).
double half_longest_side(const box& b);
/// Whether x lies in b; boxes are half-open [lo, hi) except on the cube's upper face, so the
/// children of a split partition their parent.
bool contains(const box& b, const point& x);

/// The dimensions whose side is within a relative 1e-9 of the longest, in increasing order.
std::vector<std::size_t> longest_dims(const box& b);

/// k equal slices along the longest side (lowest index on ties), ordered along that side.
/// Throws config_error when k < 2.
std::vector<box> k_section(const box& b, std::size_t k);

/// DIRECT's division: trisect along each of `dims` in turn, always splitting the middle third
/// again. Returns, for each dim in order, its lower then upper third, and last the centre box;
/// the lower/upper thirds of dims[i] are centred at centre(b) -/+ side_i/3 along dims[i].
std::vector<box> direct_trisection(const box& b, const std::vector<std::size_t>& dims);

/// Every side halved: 2^d children (child j takes the upper half of dim i when bit i of j is set).
/// Throws config_error when d > 16.
std::vector<box> bisect_all(const box& b);

/// FDA's decomposition: 2d children of radius r/(1+sqrt 2) centred at c -/+ (r - r') e_i,
/// ordered (-e_0, +e_0, -e_1, +e_1, ...). They cover the parent's ball only once inflated.
std::vector<sphere> split_sphere(const sphere& s);

/// k points of a Latin hypercube in b: one per row of a k-strata grid in every dimension.
std::vector<point> latin_hypercube(const box& b, std::size_t k, rng& random);
/// A uniform point of b.
point uniform_in(const box& b, rng& random);
/// A uniform point of the ball, clipped to [0,1]^d.
point uniform_in(const sphere& s, rng& random);
/// Promising Hypersphere Search: the centre and centre -/+ radius/sqrt(d) on every coordinate,
/// clipped to [0,1]^d (FDA; radius is already inflated by the caller).
std::vector<point> phs_points(const sphere& s);

}  // namespace fracnas::core
