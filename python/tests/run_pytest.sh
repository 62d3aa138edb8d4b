#!/usr/bin/env bash
# Runs pytest with the given Python; pytest's exit 5 (no test collected) is a
# failure here: a suite that went missing must not pass.
#   run_pytest.sh PYTHON PYTEST_ARGS...
python=$1
shift
"$python" -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "pytest collected no test" >&2
  exit 1
fi
exit $rc
