#!/usr/bin/env bash
# framecast against the tools a user would otherwise pick (libvips in-process and as a CLI,
# Pillow with JPEG draft), in one run, on the same real camera photos, all on 2 cores:
# photos/s of the whole batch (process start included), PSNR against a careful Pillow render,
# framecast's speed relative to the fastest peer, and framecast's peak memory.
#
#   BENCH_PHOTOS=DIR  folder of JPEG photos (default: the camera fixtures, each twice)
#   RUNS=N            timed runs per tool, best one kept (default 3)
set -euo pipefail

cd "$(dirname "$0")/.."

WIDTH=1920
HEIGHT=1080
QUALITY=85
THREADS=2
RUNS=${RUNS:-3}
FRAMECAST=target/release/framecast
TOOLS=(framecast pyvips vips-cli pillow)

die() {
  echo "vs_peers: $*" >&2
  exit 1
}

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"

# --- dependencies: say everything that is missing at once --------------------------------------
missing=()
command -v python3 >/dev/null || missing+=("python3")
command -v vips >/dev/null || missing+=("vips (Debian package libvips-tools)")
if command -v python3 >/dev/null; then
  python3 -c 'import PIL' 2>/dev/null || missing+=("Pillow (python3 -m pip install pillow)")
  python3 -c 'import pyvips' 2>/dev/null ||
    missing+=("pyvips (python3 -m pip install pyvips; needs Debian package libvips42)")
fi
[[ -x /usr/bin/time ]] || missing+=("/usr/bin/time (Debian package time: apt-get install time)")
if ((${#missing[@]})); then
  echo "vs_peers: missing, ./scripts/deps.sh bench installs most of them:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi

if [[ ! -x $FRAMECAST ]]; then
  echo "vs_peers: $FRAMECAST is missing, building it" >&2
  cargo build --release
fi

# A pyenv-style shim in front of python3 would add its own start-up to every Python run.
PY=$(python3 -c 'import sys; print(sys.executable)')

# `strip` became `keep=none` in libvips 8.15 (the old name still works there, with a warning).
if "$PY" -c 'import pyvips, sys; sys.exit(0 if pyvips.at_least_libvips(8, 15) else 1)'; then
  VIPS_SAVE_OPTS="Q=$QUALITY,keep=none"
else
  VIPS_SAVE_OPTS="Q=$QUALITY,strip"
fi

# "2 cores" must hold on a bigger machine too, where libvips' thread pools and framecast's
# I/O would otherwise spread out: pin every tool to two CPUs when there are more.
pin=()
cpus=$("$PY" -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0))[:2])))')
if (($(nproc) > THREADS)); then
  command -v taskset >/dev/null || die "more than $THREADS CPUs and no taskset to pin the tools"
  pin=(taskset -c "$cpus")
fi

work=$(mktemp -d -t framecast-vs-peers.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- photos -------------------------------------------------------------------------------------
if [[ -n ${BENCH_PHOTOS:-} ]]; then
  [[ -d $BENCH_PHOTOS ]] || die "BENCH_PHOTOS=$BENCH_PHOTOS is not a folder"
  photos=$(cd "$BENCH_PHOTOS" && pwd)
else
  # Each fixture twice, as in the baseline measurement: 16 photos keep both workers busy long
  # enough for process start-up not to dominate.
  photos=$work/photos
  mkdir -p "$photos"
  shopt -s nullglob
  fixtures=(tests/fixtures/camera/*.jpg)
  shopt -u nullglob
  ((${#fixtures[@]})) || die "no photos in tests/fixtures/camera/"
  for f in "${fixtures[@]}"; do
    name=$(basename "$f" .jpg)
    cp "$f" "$photos/$name.jpg"
    cp "$f" "$photos/$name-2.jpg"
  done
fi
list=$work/photos.list
count=$("$PY" benches/vs_peers.py list "$photos" "$list")

# --- the tools, each as `run_TOOL OUT` -----------------------------------------------------------
run_framecast() {
  "${pin[@]}" "$FRAMECAST" render "$photos" --out "$1" \
    --size "${WIDTH}x$HEIGHT" --quality "$QUALITY" --threads "$THREADS"
}

run_pyvips() {
  "${pin[@]}" "$PY" benches/vs_peers.py pyvips "$photos" "$list" "$1" "$WIDTH" "$HEIGHT" "$QUALITY"
}

run_pillow() {
  "${pin[@]}" "$PY" benches/vs_peers.py pillow "$photos" "$list" "$1" "$WIDTH" "$HEIGHT" "$QUALITY"
}

# What a shell user would write: thumbnail to a .v file (libvips' own uncompressed format, the
# cheapest hand-over between two commands), then letterbox and save, two photos at a time.
# $$ of each `sh -c` names its .v file, so the two at once never share one.
run_vips_cli() {
  mkdir -p "$work/vips-tmp"
  SRC=$photos DST=$1 TMP=$work/vips-tmp SAVE=$VIPS_SAVE_OPTS W=$WIDTH H=$HEIGHT \
    "${pin[@]}" xargs -0 -P "$THREADS" -n 1 -a "$list" sh -c '
      rel=$1 out=$DST/${1%.*}.jpg tmp=$TMP/$$.v
      case $rel in */*) mkdir -p "${out%/*}" ;; esac
      vips thumbnail "$SRC/$rel" "$tmp" "$W" --height "$H" &&
        vips gravity "$tmp" "$out[$SAVE]" centre "$W" "$H" --extend black &&
        rm -f "$tmp"' sh
}

# One timed run of a tool into a fresh folder; appends "TOOL MICROSECONDS" to $work/times.
timed_run() {
  local tool=$1 out=$work/out/$1 log=$work/$1.log t0 t1 made
  rm -rf "$out"
  mkdir -p "$out"
  # EPOCHREALTIME with its separator dropped is microseconds, whatever the locale's decimal mark.
  t0=${EPOCHREALTIME/[.,]/}
  if ! "run_${tool//-/_}" "$out" >"$log" 2>&1; then
    echo "vs_peers: $tool failed; the end of its output:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  t1=${EPOCHREALTIME/[.,]/}
  echo "$tool $((t1 - t0))" >>"$work/times"
  # A run that quietly skipped photos would look fast; the report checks every frame in detail.
  made=$(find "$out" -type f -print0 | tr -dc '\0' | wc -c)
  ((made == count)) || die "$tool made $made files for $count photos"
}

echo "vs_peers: $count photos from $photos -> ${WIDTH}x$HEIGHT q$QUALITY on $THREADS cores," \
  "best of $RUNS runs${pin:+ (pinned to CPUs $cpus)}"
# Tools take turns within each round, so a slow spell of the machine hits them all alike.
for ((run = 1; run <= RUNS; run++)); do
  for tool in "${TOOLS[@]}"; do
    timed_run "$tool"
  done
  echo "vs_peers: round $run of $RUNS done"
done
echo "vs_peers: framecast said: $(grep -m1 '^rendered' "$work/framecast.log" || tail -n 1 "$work/framecast.log")"

# Peak memory in a run of its own, so /usr/bin/time is not part of any timed run.
/usr/bin/time -v -o "$work/framecast.rss" "${pin[@]}" "$FRAMECAST" render "$photos" \
  --out "$work/out/framecast-rss" --size "${WIDTH}x$HEIGHT" --quality "$QUALITY" \
  --threads "$THREADS" >/dev/null 2>&1 || die "framecast failed under /usr/bin/time"

outputs=()
for tool in "${TOOLS[@]}"; do outputs+=("$tool=$work/out/$tool"); done
"$PY" benches/vs_peers.py report "$photos" "$list" "$work/times" "$work/framecast.rss" \
  "$WIDTH" "$HEIGHT" "${outputs[@]}"
