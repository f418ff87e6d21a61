#!/usr/bin/env bash
# Builds the api image: a thin wrapper around `cargo xtask build` for people used to a
# build script. Every argument goes to it.
#
# Usage: scripts/build.sh [--push] [--tag TAG] [--registry REGISTRY | --repository REPO] [--engine podman|docker]
#   e.g. scripts/build.sh --push --registry registry.example.com/platform
set -euo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; echo; exec cargo xtask build --help ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo xtask build "$@"
