#!/usr/bin/env bash
# Validates docs/openapi.json as an OpenAPI 3.1 document with openapi-spec-validator (PyPI, pinned), installed
# once into a git-ignored venv (.build-venv/openapi). Test tooling only: nothing of it ships.
# OpenAPIDocumentTests (swift test) checks the document against the router and the wire types.
set -euo pipefail
cd "$(dirname "$0")/.."
VALIDATOR_VERSION=0.9.0
venv=.build-venv/openapi
python=/usr/bin/python3
[ -x "$python" ] || python=python3
installed() {
    "$venv/bin/python" -c "import importlib.metadata as m, sys
sys.exit(m.version('openapi-spec-validator') != '$VALIDATOR_VERSION')" 2>/dev/null
}
if ! installed; then
    rm -rf "$venv"
    if ! "$python" -m venv "$venv"; then
        echo "check-openapi: python3 -m venv failed (apt-get install python3-venv)" >&2
        exit 1
    fi
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==$VALIDATOR_VERSION" \
        >"$venv.log" 2>&1; then
        cat "$venv.log" >&2
        echo "check-openapi: could not install openapi-spec-validator $VALIDATOR_VERSION from PyPI" >&2
        exit 1
    fi
fi
# On an error the validator prints the whole document after the message: keep the message.
if ! output=$("$venv/bin/openapi-spec-validator" docs/openapi.json 2>&1); then
    echo "$output" | head -20 | cut -c1-300 >&2
    echo "check-openapi: docs/openapi.json is not a valid OpenAPI 3.1 document" >&2
    exit 1
fi
echo "$output"
