// What a search space knows about the unit cube that a tree of cells can use (issue 11): where
// each coordinate's decoded value changes, which coordinates matter inside a box, how much a
// coordinate changes the decoded point, and whether a box can hold a feasible point at all.
// The tree asks these questions; it never decodes a point. Implemented outside core (the space
// codec, the GPT space); docs/core.md says how the fractal tree uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "fracnas/core/geometry.hpp"

namespace fracnas::core {

class cube_structure {
public:
    virtual ~cube_structure() = default;
    /// n > 0: inside b, coordinate i is discrete with n levels, level k covering [k/n, (k+1)/n)
    /// (the last one [(n-1)/n, 1]); 0: continuous. A coordinate whose grid depends on another
    /// one (an FFN width's grid on the model width) answers for b; most ignore b.
    virtual std::uint64_t levels(std::size_t i, const box& b) const = 0;
    /// Whether coordinate i can change the decoded point anywhere in b (false, for instance, for
    /// a layer's width when every depth b allows is shallower than that layer).
    virtual bool active(std::size_t i, const box& b) const = 0;
    /// How much coordinate i's whole range changes the decoded point, relative to the other
    /// coordinates (for instance how many layers it sets). Positive; 1 by default.
    virtual double weight(std::size_t i) const {
        (void)i;
        return 1.0;
    }
    /// false when no point of b can satisfy the problem's constraint: such a cell is closed
    /// without a sample. true by default.
    virtual bool may_be_feasible(const box& b) const {
        (void)b;
        return true;
    }
    /// The point of b that a tree samples for it (the centre sampler): b's centre by default. A
    /// space whose constraint is monotone can answer a point on the constraint's boundary, where
    /// a constrained optimum lies (nas::gpt_structure). Must lie in b.
    virtual point representative(const box& b) const { return centre(b); }
    /// Whether representative() is more than the centre: a cell that holds any sample then is
    /// not sampled again (its sample tells about it as much as a new one would).
    virtual bool has_representatives() const { return false; }
};

/// The level of a discrete coordinate of n levels at x in [0, 1]: the largest k < n with
/// double(k) / double(n) <= x (the quotients are the boundaries, exactly).
std::uint64_t level_of(double x, std::uint64_t n);

/// The first and last level of a discrete coordinate of n levels that [lo, hi) meets (hi = 1
/// included); lo < hi.
std::pair<std::uint64_t, std::uint64_t> level_span(double lo, double hi, std::uint64_t n);

/// How much of coordinate i is left to split in b, times its weight: for a discrete coordinate
/// (levels in b - 1) / (n - 1), for a continuous one the side's length; 0 when i is inactive in
/// b or holds one level there.
double split_priority(const box& b, std::size_t i, const cube_structure& s);

/// Whether x and y decode alike as far as b's structure tells: the same level on every discrete
/// coordinate active in b, the same value on every continuous one.
bool same_decoded(const box& b, const point& x, const point& y, const cube_structure& s);

/// Splits b along the coordinate of highest split_priority (the lowest index on ties) into at
/// most k children, ordered along it, whose faces lie on level boundaries: one child per level
/// when b holds at most k levels of it, else k children of as equal level counts as the
/// boundaries allow (a continuous coordinate: k equal slices). Empty when every coordinate's
/// priority is 0: all of b decodes to one point, a leaf. Throws config_error when k < 2.
std::vector<box> structured_section(const box& b, std::size_t k, const cube_structure& s);

}  // namespace fracnas::core
