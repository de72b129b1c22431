#!/usr/bin/env bash
# Fetch the ONNX Runtime C/C++ headers (no pip wheel ships them) into third_party/onnxruntime/include.
#
# Debian 13 (trixie) packages them as libonnxruntime-dev (ORT 1.21 API). We download that one .deb with a private
# apt configuration (nothing is installed system-wide, no root needed) and unpack only the headers. A library built
# against the 1.21 API loads into any newer onnxruntime (the C API is versioned and backwards compatible).
#
#   scripts/fetch_ort_headers.sh            # skip when the headers are already there
#   ONNXRUNTIME_INCLUDE_DIR=/path/to/include scripts/fetch_ort_headers.sh   # use those; fetch nothing
#   DEBIAN_MIRROR=http://deb.debian.org/debian scripts/fetch_ort_headers.sh # mirror override
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/third_party/onnxruntime"
HEADER=onnxruntime_cxx_api.h

if [[ -n "${ONNXRUNTIME_INCLUDE_DIR:-}" ]]; then
  if [[ -f "$ONNXRUNTIME_INCLUDE_DIR/$HEADER" || -f "$ONNXRUNTIME_INCLUDE_DIR/onnxruntime/$HEADER" ]]; then
    echo "fetch_ort_headers: using ONNXRUNTIME_INCLUDE_DIR=$ONNXRUNTIME_INCLUDE_DIR (nothing fetched)"
    exit 0
  fi
  echo "fetch_ort_headers: error: ONNXRUNTIME_INCLUDE_DIR=$ONNXRUNTIME_INCLUDE_DIR has no $HEADER" >&2
  exit 1
fi

if [[ -f "$DEST/include/$HEADER" ]]; then
  echo "fetch_ort_headers: headers already in $DEST/include (skipped)"
  exit 0
fi

for tool in apt-get dpkg; do
  if ! command -v "$tool" >/dev/null; then
    echo "fetch_ort_headers: error: '$tool' not found; on a non-Debian system install the ONNX Runtime headers" \
         "and set ONNXRUNTIME_INCLUDE_DIR" >&2
    exit 1
  fi
done

# The mirror the system already uses (first URIs: line of the deb822 sources), else the main Debian mirror.
MIRROR="${DEBIAN_MIRROR:-}"
if [[ -z "$MIRROR" && -f /etc/apt/sources.list.d/debian.sources ]]; then
  MIRROR="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
fi
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
if [[ ! -f "$KEYRING" ]]; then
  echo "fetch_ort_headers: error: $KEYRING missing (package debian-archive-keyring)" >&2
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial" "$WORK/deb"
echo "deb [signed-by=$KEYRING] $MIRROR trixie main" >"$WORK/sources.list"
APT=(apt-get -q
     -o "Dir::Etc::SourceList=$WORK/sources.list" -o "Dir::Etc::SourceParts=-"
     -o "Dir::State::Lists=$WORK/lists" -o "Dir::Cache=$WORK/cache"
     -o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)")

echo "fetch_ort_headers: downloading libonnxruntime-dev (Debian trixie) from $MIRROR"
"${APT[@]}" update >"$WORK/update.log" 2>&1 || { cat "$WORK/update.log" >&2; exit 1; }
(cd "$WORK/deb" && "${APT[@]}" download libonnxruntime-dev >"$WORK/download.log" 2>&1) ||
  { cat "$WORK/download.log" >&2; exit 1; }
DEB="$(ls "$WORK"/deb/libonnxruntime-dev_*.deb)"
dpkg -x "$DEB" "$WORK/x"
SRC="$WORK/x/usr/include/onnxruntime"
if [[ ! -f "$SRC/$HEADER" ]]; then
  echo "fetch_ort_headers: error: $(basename "$DEB") has no usr/include/onnxruntime/$HEADER" >&2
  exit 1
fi

# Publish atomically: a half-copied include dir must never look complete.
mkdir -p "$DEST"
rm -rf "$DEST/include.tmp"
cp -r "$SRC" "$DEST/include.tmp"
echo "$(basename "$DEB")" >"$DEST/include.tmp/SOURCE_PACKAGE"
rm -rf "$DEST/include"
mv "$DEST/include.tmp" "$DEST/include"
echo "fetch_ort_headers: headers from $(basename "$DEB") in $DEST/include"
