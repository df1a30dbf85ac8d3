#!/usr/bin/env bash
# Installs, from Debian packages and only where missing, what building framecast needs on a
# bare machine. With "test" it adds the real clients the tests drive (ffmpeg, VLC, Chromium)
# and systemd-analyze for the unit; with "bench" the peers `make bench` compares framecast with
# (libvips' CLI, pyvips, Pillow).
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }

# libjpeg-turbo 3 is built from the turbojpeg-sys crate's bundled source: cmake drives the
# build and nasm assembles its SIMD code (without it decoding is several times slower).
have cmake || need+=(cmake)
have nasm || need+=(nasm)
have pkg-config || need+=(pkg-config)

if [[ "${1:-}" == "test" ]]; then
  have ffmpeg || need+=(ffmpeg)
  have chromium || need+=(chromium)
  # cvlc and the demuxers, decoders and the scene filter the test uses.
  have cvlc || need+=(vlc-bin)
  [[ -e /usr/lib/x86_64-linux-gnu/vlc/plugins/video_filter/libscene_plugin.so ]] ||
    compgen -G "/usr/lib/*/vlc/plugins/video_filter/libscene_plugin.so" >/dev/null ||
    need+=(vlc-plugin-base)
  have setpriv || need+=(util-linux)
  # `systemd-analyze verify` and `security` check contrib/framecast.service; no running
  # systemd is needed (containers and CI have none).
  have systemd-analyze || need+=(systemd)
fi

if [[ "${1:-}" == "bench" ]]; then
  have vips || need+=(libvips-tools)
  [[ -x /usr/bin/time ]] || need+=(time)
  dpkg -s libvips42 >/dev/null 2>&1 || need+=(libvips42)
  have pip3 || have pip || need+=(python3-pip)
fi

if ((${#need[@]})); then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "deps: installing ${need[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [[ "${1:-}" == "bench" ]]; then
  python3 - <<'PY' 2>/dev/null || { echo "deps: installing pyvips and Pillow from PyPI" >&2; python3 -m pip install -q pyvips pillow; }
import PIL, pyvips
PY
fi

# The lint step needs the toolchain's formatter and linter.
if have rustup; then
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
fi
