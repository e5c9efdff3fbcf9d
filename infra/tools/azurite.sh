#!/usr/bin/env bash
# Install Azurite (Microsoft's Azure Storage emulator, an npm package) under build/azurite (ignored by
# git) for the object-store tests and bench/store.py: build/azurite/node_modules/.bin/azurite-blob.
# Nothing is installed globally. Re-running is a no-op while build/azurite/.stamp matches this script.
# The tests start it on loopback only, always with --disableTelemetry (tests/azurite.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST="${LAM_AZURITE_DIR:-build/azurite}"
VERSION="3.35.0"
want="$(sha256sum infra/tools/azurite.sh | cut -d' ' -f1)"
if [ -f "$DEST/.stamp" ] && [ "$(cat "$DEST/.stamp")" = "$want" ] && [ -x "$DEST/node_modules/.bin/azurite-blob" ]; then
  exit 0
fi
for cmd in node npm; do
  command -v "$cmd" >/dev/null || {
    echo "infra/tools/azurite.sh: $cmd is required for Azurite (the Azure Blob emulator of the store tests);" \
      "install Node.js 18+ with npm (e.g. apt-get install nodejs npm, or https://nodejs.org) and re-run make" >&2
    exit 1
  }
done
start=$(date +%s)
echo "installing Azurite $VERSION into $DEST ..."
rm -rf "$DEST"
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-audit --no-fund --silent --no-save "azurite@$VERSION" >/dev/null
"$DEST/node_modules/.bin/azurite-blob" --version >/dev/null
echo "$want" > "$DEST/.stamp"
echo "Azurite installed in $(( $(date +%s) - start ))s"
