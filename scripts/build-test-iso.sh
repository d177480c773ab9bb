#!/usr/bin/env bash
# Builds OUTPUT_DIR/hangar-test.iso: the host's Debian kernel and a busybox initramfs that
# prints HANGAR-TEST-GUEST-READY on ttyS0, runs a shell there and powers off on the ACPI
# power button. Boots with BIOS and UEFI. Nothing is downloaded.
# Usage: scripts/build-test-iso.sh OUTPUT_DIR | scripts/build-test-iso.sh --kernel-version
set -euo pipefail

readonly MARKER='HANGAR-TEST-GUEST-READY'
readonly ISO_NAME='hangar-test.iso'
# Load order matters only between a module and its own dependencies, which modprobe resolves.
readonly MODULES=(button evdev virtio_pci virtio_blk virtio_net virtio_console virtio_rng virtio_balloon)

die() { echo "build-test-iso: $*" >&2; exit 1; }
need_package() { die "$1 is missing: install the Debian package $2 (apt-get install $2)."; }

# The newest installed Debian kernel that has its modules, e.g. 6.1.0-56-amd64.
kernel_version() {
  local image version newest=''
  for image in /boot/vmlinuz-*-amd64; do
    [ -f "$image" ] || continue
    version="${image#/boot/vmlinuz-}"
    [ -f "/lib/modules/$version/modules.dep" ] || continue
    newest="$(printf '%s\n%s\n' "$newest" "$version" | sed '/^$/d' | sort -V | tail -n 1)"
  done
  [ -n "$newest" ] || need_package 'a kernel at /boot/vmlinuz-*-amd64 with its modules' linux-image-amd64
  echo "$newest"
}

check_tools() {
  command -v grub-mkrescue >/dev/null || need_package grub-mkrescue grub-common
  [ -f /usr/lib/grub/i386-pc/cdboot.img ] || need_package 'GRUB for BIOS (/usr/lib/grub/i386-pc)' grub-pc-bin
  [ -f /usr/lib/grub/x86_64-efi/linux.mod ] || need_package 'GRUB for UEFI (/usr/lib/grub/x86_64-efi)' grub-efi-amd64-bin
  command -v xorriso >/dev/null || need_package xorriso xorriso
  command -v mformat >/dev/null || need_package 'mformat (for the UEFI boot image)' mtools
  command -v cpio >/dev/null || need_package cpio cpio
  command -v modprobe >/dev/null || PATH="$PATH:/usr/sbin:/sbin"
  command -v modprobe >/dev/null || need_package modprobe kmod
  [ -x /bin/busybox ] || need_package /bin/busybox busybox-static
  # The initramfs has no C library: a dynamically linked busybox (package busybox) cannot run there.
  if ldd /bin/busybox >/dev/null 2>&1; then need_package 'a statically linked /bin/busybox' busybox-static; fi
}

# Copies a module (decompressed: busybox insmod reads plain .ko) into the initramfs.
copy_module() {
  local source="$1" target="$2"
  case "$source" in
    *.ko) cp "$source" "$target" ;;
    *.ko.xz) command -v xz >/dev/null || need_package xz xz-utils; xz -dc "$source" >"$target" ;;
    *.ko.zst) command -v zstd >/dev/null || need_package zstd zstd; zstd -qdc "$source" >"$target" ;;
    *.ko.gz) gzip -dc "$source" >"$target" ;;
    *) die "unexpected module file $source" ;;
  esac
}

write_init() {
  cat >"$1" <<EOF
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
exec </dev/console >/dev/console 2>&1
while read -r module; do insmod "/lib/modules/\$module" 2>/dev/null || echo "init: insmod \$module failed"; done </etc/modules
# The power button (button.ko) reports through evdev; acpid runs /etc/acpi/PWRF/00000080.
acpid -c /etc/acpi -l /dev/null
echo '$MARKER'
echo '$MARKER (the shell is on the serial port)' >/dev/tty0 2>/dev/null
# A session of its own makes ttyS0 the shell's controlling terminal (job control, Ctrl-C).
while :; do setsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1'; done
EOF
  chmod 755 "$1"
}

build_initramfs() {
  local kver="$1" root="$2" output="$3" module depends line source name
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc/acpi/PWRF,lib/modules}
  cp /bin/busybox "$root/bin/busybox"
  for name in $(/bin/busybox --list); do
    [ "$name" = busybox ] || ln -s busybox "$root/bin/$name"
  done
  : >"$root/etc/modules"
  for module in "${MODULES[@]}"; do
    depends="$(modprobe -S "$kver" --show-depends "$module")" || die "module $module not found for kernel $kver"
    # Lines are "insmod /lib/modules/…/x.ko [params]" or "builtin x": builtins need nothing.
    while read -r line; do
      case "$line" in insmod\ *) ;; *) continue ;; esac
      source="$(echo "$line" | cut -d' ' -f2)"
      name="$(basename "$source")"
      name="${name%.xz}"; name="${name%.zst}"; name="${name%.gz}"
      if [ ! -f "$root/lib/modules/$name" ]; then
        copy_module "$source" "$root/lib/modules/$name"
        echo "$name" >>"$root/etc/modules"
      fi
    done <<<"$depends"
  done
  printf '#!/bin/sh\nexec poweroff -f\n' >"$root/etc/acpi/PWRF/00000080"
  chmod 755 "$root/etc/acpi/PWRF/00000080"
  write_init "$root/init"
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -6 -n) >"$output"
}

write_grub_cfg() {
  cat >"$1" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
# UEFI: without a video driver loaded, GRUB hands the kernel no frame buffer and the screen stays dark.
insmod all_video
menuentry 'Hangar test guest' {
  linux /boot/vmlinuz console=tty0 console=ttyS0,115200 quiet
  initrd /boot/initrd.gz
}
EOF
}

main() {
  case "${1:-}" in
    --kernel-version) kernel_version; return ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; return ;;
    ''|-*) echo "build-test-iso: usage: $0 OUTPUT_DIR (try --help)" >&2; exit 2 ;;
  esac
  local output_dir="$1" kver work
  check_tools
  kver="$(kernel_version)"
  mkdir -p "$output_dir"
  work="$(mktemp -d "${TMPDIR:-/tmp}/hangar-test-iso.XXXXXX")"
  trap "rm -rf -- '$work'" EXIT
  mkdir -p "$work/iso/boot/grub"
  cp "/boot/vmlinuz-$kver" "$work/iso/boot/vmlinuz"
  build_initramfs "$kver" "$work/initramfs" "$work/iso/boot/initrd.gz"
  write_grub_cfg "$work/iso/boot/grub/grub.cfg"
  # Only the GRUB modules this menu uses (and the part_* ones the UEFI image insists on
  # loading), no fonts, themes or translations: a small, quick ISO.
  grub-mkrescue --output="$work/$ISO_NAME" \
    --install-modules="linux normal iso9660 serial terminal all_video echo test $(echo part_{acorn,amiga,apple,bsd,dfly,dvh,gpt,msdos,plan,sun,sunpc})" \
    --fonts='' --themes='' --locales='' --compress=xz \
    "$work/iso" -- -volid HANGAR_TEST >"$work/grub-mkrescue.log" 2>&1 \
    || { cat "$work/grub-mkrescue.log" >&2; die 'grub-mkrescue failed'; }
  # Rename within the output directory, so a reader never sees a half-written ISO.
  mv "$work/$ISO_NAME" "$output_dir/.$ISO_NAME.$$"
  mv -f "$output_dir/.$ISO_NAME.$$" "$output_dir/$ISO_NAME"
  echo "build-test-iso: $output_dir/$ISO_NAME (kernel $kver, $(du -k "$output_dir/$ISO_NAME" | cut -f1) KiB)"
}

main "$@"
