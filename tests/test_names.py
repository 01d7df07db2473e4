"""Every Catch2 test name under tests/ must reach ctest whole.

catch_discover_tests (Catch2 v2) splits a test's name at ';', so a name holding one becomes two
ctest entries that match no test, which Catch2 answers with 'No tests ran' and exit 0: ctest then
counts a test that never ran as passed (24 cases were lost so until 2026-12-04). A name that
starts with '-' is read as an option. This check lists such names and fails.

Usage: test_names.py TESTS_DIR           check every *.tests.cpp below TESTS_DIR
       test_names.py --self-test         the check finds a bad name in a sample
"""
import pathlib
import re
import sys

# TEST_CASE( "name" ... ), the name possibly on the next line, "..." "..." pieces joined
NAME = re.compile(r'TEST_CASE\s*\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', re.S)


def bad_names(text):
    out = []
    for m in NAME.finditer(text):
        name = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
        if ";" in name or name.startswith("-"):
            out.append(name)
    return out


def main(argv):
    if argv[1:] == ["--self-test"]:
        sample = 'TEST_CASE("fine, this one", "[x]") {}\nTEST_CASE(\n    "broken; at the semicolon" "", "[x]") {}\n'
        found = bad_names(sample)
        if found != ["broken; at the semicolon"]:
            print("FAIL  the check missed the sample's bad name:", found)
            return 1
        print("ok    the check finds a name with ';' split over lines")
        return 0
    if len(argv) != 2:
        print(__doc__)
        return 2
    failed = 0
    for path in sorted(pathlib.Path(argv[1]).rglob("*.tests.cpp")):
        for name in bad_names(path.read_text(encoding="utf-8")):
            print(f"FAIL  {path}: test name {name!r} holds ';' or starts with '-': ctest would never run it")
            failed += 1
    print(f"{'FAIL' if failed else 'ok'}    {failed} bad test name(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
