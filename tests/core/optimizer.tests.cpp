// The ask/tell contract shared by every optimizer: ids, budget, protocol errors, stopping.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "fracnas/core/random_search.hpp"
#include "fracnas/error.hpp"

using namespace fracnas;
using namespace fracnas::core;

TEST_CASE("ask assigns consecutive ids and never exceeds the budget", "[core][optimizer]") {
    random_search opt(3, 7, stopping{10});
    auto a = opt.ask(4);
    auto b = opt.ask(100);
    REQUIRE(a.size() == 4);
    REQUIRE(b.size() == 6);
    for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a[i].id == i);
    REQUIRE(b.front().id == 4);
    REQUIRE(opt.ask(1).empty());
    REQUIRE(opt.outstanding() == 10);
    REQUIRE_FALSE(opt.done());
    for (const auto& t : b) {
        REQUIRE(t.x.size() == 3);
        for (double v : t.x) REQUIRE((v >= 0.0 && v <= 1.0));
    }
}

TEST_CASE("tell accepts any order and failures, and tracks the best ok value", "[core][optimizer]") {
    random_search opt(2, 1, stopping{5});
    auto tasks = opt.ask(5);
    opt.tell({result{4, 3.0}, result{0, 1.5}});
    opt.tell({result{2, -1.0, eval_status::failed}, result{1, 2.0}});
    REQUIRE(opt.best()->value == 1.5);
    REQUIRE(opt.best()->id == 0);
    REQUIRE(opt.best()->x == tasks[0].x);
    REQUIRE(opt.failures() == 1);
    REQUIRE_FALSE(opt.done());
    opt.tell({result{3, 0.5}});
    REQUIRE(opt.done());
    REQUIRE(opt.best()->value == 0.5);
}

TEST_CASE("protocol errors name the id and consume nothing", "[core][optimizer]") {
    random_search opt(2, 1, stopping{4});
    opt.ask(3);
    REQUIRE_THROWS_WITH(opt.tell({result{9, 1.0}}), Catch::Contains("result id 9 was never asked"));
    REQUIRE_THROWS_WITH(opt.tell({result{0, 1.0}, result{0, 2.0}}), Catch::Contains("appears twice"));
    REQUIRE_THROWS_WITH(opt.tell({result{1, std::nan("")}}), Catch::Contains("non-finite"));
    REQUIRE(opt.told() == 0);  // the rejected batches left no trace
    opt.tell({result{0, 1.0}});
    REQUIRE_THROWS_WITH(opt.tell({result{0, 1.0}}), Catch::Contains("result id 0 was already told"));
    REQUIRE_THROWS_AS(opt.tell({result{2, 1.0}, result{7, 1.0}}), protocol_error);
    REQUIRE(opt.told() == 1);
    opt.tell({result{2, 1.0}});  // id 2 was not consumed by the rejected batch
    REQUIRE(opt.told() == 2);
}

TEST_CASE("a reached target stops the offer of new points", "[core][optimizer]") {
    stopping stop{100};
    stop.target = 0.25;
    random_search opt(1, 3, stop);
    auto t = opt.ask(2);
    opt.tell({result{t[0].id, 0.2}});
    REQUIRE(opt.stopped());
    REQUIRE(opt.ask(5).empty());
    REQUIRE_FALSE(opt.done());  // one point is still outstanding
    opt.tell({result{t[1].id, 0.9}});
    REQUIRE(opt.done());
}

TEST_CASE("invalid stopping rules are configuration errors", "[core][optimizer]") {
    REQUIRE_THROWS_WITH(random_search(0, 1, stopping{}), Catch::Contains("dimension"));
    REQUIRE_THROWS_WITH(random_search(2, 1, stopping{0}), Catch::Contains("budget"));
    stopping s{10};
    s.target = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_WITH(random_search(2, 1, s), Catch::Contains("target"));
}
