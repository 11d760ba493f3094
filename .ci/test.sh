#!/usr/bin/env bash
# LabDesk's test command: the README and CI (.ci/run) both run exactly this.
#
#   .ci/test.sh                 # whole suite
#   .ci/test.sh tests/unit      # extra arguments go to pytest
#   .ci/test.sh -m "not postgres and not cups"
#
# PostgreSQL tests use LABDESK_TEST_PG_URL; when it is unset and a server answers on
# 127.0.0.1:5432 (see .ci/start-services.sh) the standard test database is used, otherwise
# they are skipped. LABDESK_REQUIRE_PG=1 (CI) turns that skip into a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEFAULT_PG_URL="postgresql+psycopg://labdesk:labdesk@127.0.0.1:5432/labdesk_test"

export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
export PYTHONDONTWRITEBYTECODE="${PYTHONDONTWRITEBYTECODE:-1}"
if [ -z "${LABDESK_TEST_PG_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 \
        && pg_isready -q -h 127.0.0.1 -p 5432; then
    export LABDESK_TEST_PG_URL="$DEFAULT_PG_URL"
fi

# Use the project's virtual environment when one exists and none is active.
if [ -n "${PYTHON:-}" ]; then
    py="$PYTHON"
elif [ -z "${VIRTUAL_ENV:-}" ] && [ -x .venv/bin/python ]; then
    py=.venv/bin/python
else
    py=python3
fi

if [ -n "${LABDESK_TEST_PG_URL:-}" ]; then
    echo "test.sh: PostgreSQL tests on (${LABDESK_TEST_PG_URL%%://*}://…@${LABDESK_TEST_PG_URL##*@})"
else
    echo "test.sh: PostgreSQL tests off (LABDESK_TEST_PG_URL unset, no server on 127.0.0.1:5432)"
fi

rc=0
"$py" -m pytest -q "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "test.sh: ERROR: pytest collected no tests (exit 5); check the paths and -m/-k filters." >&2
    exit 1
fi
if [ "$rc" -ge 128 ]; then
    echo "test.sh: ERROR: pytest was killed by signal $((rc - 128)) (a crash in native code, e.g." \
        "Qt); no summary was printed. Find the test with: .ci/test.sh -v -x $*" >&2
fi
exit "$rc"
