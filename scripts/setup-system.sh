#!/usr/bin/env bash
# Installs the system pieces WebGPU needs in Node on a machine without a GPU driver:
# Vulkan loader + Mesa lavapipe >= 24 (Debian 12: from bookworm-backports), Debian's
# Fashion-MNIST (dataset-fashion-mnist, /usr/share/datasets/fashion-mnist) for the image
# pipeline, a font for the charts' text (fonts-dejavu-core; resvg draws with it), and, with
# --browser, Debian's Chromium for the browser tests.
# Idempotent; quiet when all is there.
set -euo pipefail
want_browser=0
for a in "$@"; do [ "$a" = "--browser" ] && want_browser=1; done

have_lvp() { ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 -o -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ]; }
mesa_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 24
}
# Proprietary GPU drivers (Mesa's own ICDs need Mesa >= 24 like lavapipe, checked above).
vendor_icd() { ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>/dev/null | grep -qiE '^(nvidia|amd)'; }
need_vk=1
if have_lvp && mesa_ok; then need_vk=0; fi
# A GPU vendor's Vulkan driver (NVIDIA, AMD, Intel) serves Dawn without lavapipe.
if [ $need_vk = 1 ] && vendor_icd && ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then need_vk=0; fi
need_chromium=0
if [ $want_browser = 1 ] && ! [ -x /usr/bin/chromium ]; then need_chromium=1; fi
need_fmnist=0
if ! ls /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte* >/dev/null 2>&1; then need_fmnist=1; fi
need_fonts=0
# the fonts src/io/render_node.ts looks for (DejaVu Sans, else Liberation Sans)
if ! [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && ! [ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ]; then need_fonts=1; fi
[ $need_vk = 0 ] && [ $need_chromium = 0 ] && [ $need_fmnist = 0 ] && [ $need_fonts = 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  [ $need_vk = 1 ] && echo "scoregpu: WebGPU needs a Vulkan driver. Install libvulkan1 and a Mesa >= 24 lavapipe (mesa-vulkan-drivers), or a GPU vendor's Vulkan driver." >&2
  [ $need_chromium = 1 ] && echo "scoregpu: browser tests need Chromium at /usr/bin/chromium." >&2
  [ $need_fmnist = 1 ] && echo "scoregpu: --data fashion-mnist needs Debian's dataset-fashion-mnist (or pass the IDX files by path)." >&2
  [ $need_fonts = 1 ] && echo "scoregpu: chart text needs a font: install fonts-dejavu-core (or set SCOREGPU_CHART_FONT=/path/to/font.ttf)." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")
if [ $need_vk = 1 ] && [ "$codename" = bookworm ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "scoregpu: adding the bookworm-backports apt source (Mesa >= 24 for lavapipe)"
    cat > /etc/apt/sources.list.d/bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
fi
apt-get update -qq >/dev/null
pkgs=()
if [ $need_vk = 1 ]; then
  if [ "$codename" = bookworm ]; then
    apt-get install -y -qq -t bookworm-backports libvulkan1 mesa-vulkan-drivers >/dev/null
  else
    apt-get install -y -qq libvulkan1 mesa-vulkan-drivers >/dev/null
  fi
fi
[ $need_chromium = 1 ] && apt-get install -y -qq chromium >/dev/null
if [ $need_fmnist = 1 ]; then
  apt-get install -y -qq dataset-fashion-mnist >/dev/null || echo "scoregpu: could not install dataset-fashion-mnist; --data fashion-mnist will not find its files." >&2
fi
[ $need_fonts = 1 ] && { apt-get install -y -qq fonts-dejavu-core >/dev/null || echo "scoregpu: could not install fonts-dejavu-core; charts will draw text with any system font resvg finds." >&2; }
if [ $need_vk = 1 ] && ! mesa_ok; then
  echo "scoregpu: installed mesa-vulkan-drivers is older than 24; Dawn may find no adapter." >&2
fi
exit 0
