#!/usr/bin/env bash
# Installs the system packages Hangar needs: QEMU for x86_64, qemu-img, UEFI firmware
# (OVMF), swtpm, the OpenSSH client (the Terminal tab's SSH) and the compilers npm ci uses
# to build node-pty. With --dev, also what the test suite needs (Debian/Ubuntu only); with
# --bench, also libvirt and virt-install, the peers `npm run bench` measures Hangar against.
# Usage: scripts/setup-host.sh [--dev] [--bench]
set -euo pipefail

dev=false
bench=false
for arg in "$@"; do
  case "$arg" in
    --dev) dev=true ;;
    --bench) bench=true ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-host: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi

. /etc/os-release
family="${ID} ${ID_LIKE:-}"

case " $family " in
  *" debian "*|*" ubuntu "*)
    packages=(qemu-system-x86 qemu-utils ovmf swtpm swtpm-tools)
    # ssh for SSH terminals into guests; python3, make and g++ for node-gyp (node-pty has no Linux prebuild).
    packages+=(openssh-client python3 make g++)
    # gcc and the C library's headers build each running VM's holder (src-main/qemu/holder/hangar-holder.c),
    # which every build (npm start, npm run web) makes.
    packages+=(gcc libc6-dev)
    # Debian's Chromium drives the end-to-end tests (playwright-core uses it, never downloads one);
    # a kernel, busybox and GRUB build the tiny bootable test ISO (scripts/build-test-iso.sh);
    # rsvg-convert renders the app's icons for packaging (scripts/build-icons.sh) and
    # desktop-file-validate checks the packages' desktop entries (test/integration/packaging.test.ts);
    # memtest86+ and ipxe ship real tool ISOs the ISO detection is tested on (test/unit/media).
    if $dev; then packages+=(chromium linux-image-amd64 busybox-static grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools cpio kmod librsvg2-bin desktop-file-utils memtest86+ ipxe); fi
    # The peer benchmark (bench/peers.bench.ts) starts its own libvirt session daemon (no
    # systemd, so not libvirt-daemon-system) and defines domains with virt-install. CI does
    # not run the bench, so these stay out of --dev.
    if $bench; then packages+=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients virtinst); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}"
    ;;
  *" fedora "*|*" rhel "*)
    "${sudo[@]}" dnf install -y qemu-system-x86-core qemu-img edk2-ovmf swtpm swtpm-tools openssh-clients python3 make gcc-c++
    if $dev; then "${sudo[@]}" dnf install -y chromium librsvg2-tools desktop-file-utils; fi
    if $bench; then "${sudo[@]}" dnf install -y libvirt-daemon libvirt-daemon-driver-qemu libvirt-client virt-install; fi
    ;;
  *" arch "*)
    "${sudo[@]}" pacman -S --needed --noconfirm qemu-system-x86 qemu-img edk2-ovmf swtpm openssh python make gcc
    if $dev; then "${sudo[@]}" pacman -S --needed --noconfirm chromium librsvg desktop-file-utils; fi
    if $bench; then "${sudo[@]}" pacman -S --needed --noconfirm libvirt virt-install; fi
    ;;
  *)
    echo "setup-host: $PRETTY_NAME is not one we know. Install QEMU for x86_64, qemu-img, OVMF and swtpm with your package manager." >&2
    exit 1
    ;;
esac

echo "setup-host: done. Next: npm ci, then scripts/link-hangar.sh for the hangar command, then: hangar doctor"
