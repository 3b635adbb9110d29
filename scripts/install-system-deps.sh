#!/usr/bin/env bash
# Debian packages the test suite and the examples use: Chromium (the drawing app's browser
# test), Fashion-MNIST, and the English word list (examples/words.py).  Installs only what is
# missing; needs root (as in CI) or sudo.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
[ -f /usr/share/dict/words ] || missing+=(wamerican)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
