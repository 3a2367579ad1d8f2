#!/usr/bin/env bash
# The banned-function gate (STYLE.md 9): no strcpy, strcat, sprintf, strtok, atoi,
# gets or alloca in the project's C sources.
set -u
cd "$(dirname "$0")/.."
hits=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|gets|alloca)[[:space:]]*\(' \
    --include='*.c' --include='*.h' include lib sensor center tests bench tools 2>/dev/null)
if [ -n "$hits" ]; then
    echo "banned functions used:"
    echo "$hits"
    exit 1
fi
echo "banned-function gate: 0 hits"
