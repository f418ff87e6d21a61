#!/usr/bin/env bash
# Deploys to an environment: a thin wrapper around `cargo xtask deploy` for people used
# to a deploy script. Every argument goes to it.
#
# Usage: scripts/deploy.sh <dev|staging|prod> [--tag TAG | --build] [--dry-run] [--yes] [--timeout 5m]
#   e.g. scripts/deploy.sh staging --tag 0123456789ab
set -euo pipefail
if [ $# -eq 0 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  echo
  exec cargo xtask deploy --help
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo xtask deploy "$@"
