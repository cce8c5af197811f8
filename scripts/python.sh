#!/usr/bin/env bash
# Print the Python that `make install` builds the virtualenv from (docs/decisions.md,
# "The interpreter the virtualenv is made from").
#
# The operating system's own CPython comes first: distributions build it with
# profile-guided optimisation and link-time optimisation, and on the project's machines
# it ran the engine and the user view about 12 % faster than a pyenv build of the same
# minor version, which pyenv compiles without them unless asked. Any Python 3.11 or newer
# that can make a virtualenv with pip will do; `make PYTHON=/path/to/python` chooses one.
set -euo pipefail
usable() {
  "$1" - <<'PY' > /dev/null 2>&1
import sys
import ensurepip, venv  # noqa: F401  a virtualenv with pip can be made
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
}
for candidate in /usr/bin/python3 python3; do
  if command -v "$candidate" > /dev/null 2>&1 && usable "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done
echo python3  # none usable: let `python3 -m venv` say why
