#!/usr/bin/env bash
# Installs, from Debian packages and only where missing, what building framecast needs on a
# bare machine. With "test" it adds the real clients and tools the tests drive (ffmpeg, VLC,
# Chromium, Firefox ESR, nginx as a TLS proxy, openssl, ss, prlimit, Python's Prometheus
# parser) and systemd-analyze for the unit; with "clients" the players of `make test-clients`
# (mpv, GStreamer, Python with OpenCV and requests); with "bench" the peers `make bench`
# compares framecast with (libvips' CLI, pyvips, Pillow); with "aarch64" the cross toolchain
# and qemu-user.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }

# libjpeg-turbo 3 is built from the turbojpeg-sys crate's bundled source: cmake drives the
# build and nasm assembles its SIMD code (without it decoding is several times slower).
have cmake || need+=(cmake)
have nasm || need+=(nasm)
have pkg-config || need+=(pkg-config)
# libheif 1.23 is built from the libheif-rs crate's embedded source (C++, driven by cmake); it
# decodes HEVC (HEIC) with libde265 and AV1 (AVIF) with dav1d, both from Debian. The build
# takes whichever codecs it finds, so these two must be there before the first cargo build.
have c++ || need+=(g++)
have make || need+=(make)
pc() { have pkg-config && pkg-config --exists "$1"; }
pc libde265 || need+=(libde265-dev)
pc dav1d || need+=(libdav1d-dev)

if [[ "${1:-}" == "test" ]]; then
  have ffmpeg || need+=(ffmpeg)
  have chromium || need+=(chromium)
  have firefox-esr || need+=(firefox-esr)
  # cvlc and the demuxers, decoders and the scene filter the test uses.
  have cvlc || need+=(vlc-bin)
  [[ -e /usr/lib/x86_64-linux-gnu/vlc/plugins/video_filter/libscene_plugin.so ]] ||
    compgen -G "/usr/lib/*/vlc/plugins/video_filter/libscene_plugin.so" >/dev/null ||
    need+=(vlc-plugin-base)
  have setpriv && have prlimit || need+=(util-linux)
  # ss (socket queues and memory), nginx and openssl (the TLS proxy in contrib/nginx).
  have ss || need+=(iproute2)
  [[ -x /usr/sbin/nginx ]] || have nginx || need+=(nginx)
  have openssl || need+=(openssl)
  # heif-enc makes the HEIC and AVIF test files (x265 and aom encoders, through Debian's libheif).
  have heif-enc || need+=(libheif-examples)
  # A real CMYK press profile under a free license (Ghostscript's) for the CMYK TIFF test.
  [[ -e /usr/share/color/icc/ghostscript/default_cmyk.icc ]] || need+=(libgs-common)
  # `systemd-analyze verify` and `security` check contrib/framecast.service; no running
  # systemd is needed (containers and CI have none).
  have systemd-analyze || need+=(systemd)
  # tests/metrics.rs reads /metrics with the Prometheus client library's own parser, run by
  # Debian's Python (the package pulls it in on a machine without one).
  [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
    need+=(python3-prometheus-client)
fi

if [[ "${1:-}" == "clients" ]]; then
  have mpv || need+=(mpv)
  have gst-launch-1.0 || need+=(gstreamer1.0-tools)
  # souphttpsrc, multipartdemux and jpegdec are in -good; videoconvert in -base.
  have gst-inspect-1.0 && gst-inspect-1.0 souphttpsrc >/dev/null 2>&1 ||
    need+=(gstreamer1.0-plugins-good gstreamer1.0-plugins-base)
  have ffmpeg || need+=(ffmpeg)
  # The GStreamer recipe also runs as written, its window on a virtual display.
  have xvfb-run || need+=(xvfb xauth)
  # Debian's own Python takes Debian's packages (it refuses pip installs); another Python
  # on the PATH gets them from PyPI below.
  if ! have python3; then
    need+=(python3 python3-opencv python3-requests)
  elif [[ "$(command -v python3)" == /usr/bin/python3 ]]; then
    python3 -c 'import cv2' 2>/dev/null || need+=(python3-opencv)
    python3 -c 'import requests' 2>/dev/null || need+=(python3-requests)
  fi
fi

if [[ "${1:-}" == "aarch64" ]]; then
  # Debian's cross compilers for the C and C++ the build scripts compile (libjpeg-turbo and
  # libheif through cmake), and qemu-user to run the result on this machine.
  have aarch64-linux-gnu-gcc || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
  have aarch64-linux-gnu-g++ || need+=(g++-aarch64-linux-gnu)
  have qemu-aarch64 || need+=(qemu-user)
  # The AVIF photo `make test-aarch64` decodes on both builds is made with heif-enc.
  have heif-enc || need+=(libheif-examples)
  # HEIC and AVIF support builds libheif from source against Debian's libde265 and dav1d
  # (libheif-sys with embedded-libheif): their arm64 builds come from the archive's arm64
  # architecture, installed next to the native ones (multiarch, /usr/lib/aarch64-linux-gnu),
  # and the Makefile points pkg-config at them. They bring the arm64 glibc and libstdc++ (named
  # here too, as the binary needs them itself): qemu-aarch64 runs the binary against all four,
  # at the paths a Debian arm64 system has them.
  arm64=(libde265-dev:arm64 libdav1d-dev:arm64 libc6:arm64 libstdc++6:arm64)
  if ! dpkg -s "${arm64[@]}" >/dev/null 2>&1; then
    dpkg --print-foreign-architectures | grep -qx arm64 || add_arm64=1
    need+=("${arm64[@]}")
  fi
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
  if [[ -n "${add_arm64:-}" ]]; then
    echo "deps: adding the arm64 architecture to dpkg (for libraries to cross-link)" >&2
    "${sudo[@]}" dpkg --add-architecture arm64
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [[ "${1:-}" == "clients" ]]; then
  python3 -c 'import cv2, requests' 2>/dev/null || {
    echo "deps: installing opencv-python-headless and requests from PyPI" >&2
    python3 -m pip install -q opencv-python-headless requests
  }
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
  if [[ "${1:-}" == "aarch64" ]]; then
    rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
      rustup target add aarch64-unknown-linux-gnu
  fi
fi
