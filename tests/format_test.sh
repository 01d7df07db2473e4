#!/usr/bin/env bash
# Every tracked C++ file of the repository follows .clang-format (issue 23: the style applied once
# and kept). Formatting differs between clang-format releases: the check runs with the release the
# style was applied with (Debian 12's clang-format 14, which cmake/dev.sh installs) and is skipped
# (exit 77) with another.
#   tests/format_test.sh CLANG_FORMAT          # from the repository's root
set -euo pipefail
clang_format=${1:?usage: format_test.sh CLANG_FORMAT}
major=$("$clang_format" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
if [ "$major" != 14 ]; then
  echo "skipped: clang-format $major here; the style was applied with clang-format 14"
  exit 77
fi
bad=()
while IFS= read -r f; do
  "$clang_format" --dry-run -Werror "$f" > /dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cpp' '*.hpp' '*.h')
if [ ${#bad[@]} -gt 0 ]; then
  echo "FAIL ${#bad[@]} file(s) differ from .clang-format; fix them with: clang-format -i ${bad[*]}"
  exit 1
fi
echo "every tracked C++ file follows .clang-format"
