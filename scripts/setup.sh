#!/usr/bin/env bash
# Idempotent machine setup: the Debian packages the stack and its tests run for real, then the npm tree
# (which brings Node 24 as a devDependency, so every npm script runs on it whatever node the machine has).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have redis-server || need+=(redis-server)
have redis-cli || need+=(redis-tools)
have ffmpeg || need+=(ffmpeg)
have nginx || need+=(nginx-light)
have chromium || need+=(chromium)
have wrk || need+=(wrk)
have openssl || need+=(openssl)

if ((${#need[@]})); then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "setup: installing Debian packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Debian starts nginx and redis as services on install; the project starts its own on ephemeral ports.
for svc in nginx redis-server; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

npm ci --no-audit --no-fund
echo "setup: done (node $(./node_modules/.bin/node --version))"
