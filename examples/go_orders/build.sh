#!/usr/bin/env bash
# Build go_orders once per version of its sources and print the binary's path.
#
# The binary is cached outside the repository, keyed by a hash of go.mod, go.sum, the .go files and the
# Go version: ${OBSCONF_CACHE:-~/.cache/obsconf}/examples/go_orders-<hash>/go_orders. CI rebuilds only
# when one of them changes. go.sum pins every module; the build never edits go.mod or go.sum.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
hash=$( { go env GOVERSION; cat go.mod go.sum; find . -name '*.go' -print0 | sort -z | xargs -0 cat; } \
        | sha256sum | cut -c1-16)
dir="${OBSCONF_CACHE:-$HOME/.cache/obsconf}/examples/go_orders-$hash"
bin="$dir/go_orders"
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  tmp="$dir/.go_orders.$$"
  echo "building go_orders into $bin ..." >&2
  CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -trimpath -o "$tmp" . >&2
  mv -f "$tmp" "$bin"  # atomic: a parallel build never runs half a binary
fi
echo "$bin"
