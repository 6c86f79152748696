# Small disks for the drills' disk faults (sourced): an ext4 filesystem on a
# loop file, mounted over one broker's log.dir, that can be filled to the last
# block and freed again. (A slow disk is tests/shim/slow_disk.c, an LD_PRELOAD
# shim: it needs no kernel feature.) Every mount and loop device is recorded
# and removed by disk_down, also on failure. Root only.
#
#   disk_up DIR MB           an ext4 filesystem of MB MiB mounted at DIR
#   disk_fill DIR            take every free block (a filler file)
#   disk_free DIR            remove the filler
#   disk_avail DIR           free bytes
#   disk_down                unmount, detach the loops

DISK_MOUNTS=()
DISK_LOOPS=()

# The loop file lies beside DIR, not inside it: the mount hides DIR's contents.
disk_up() {
  local dir=$1 mb=$2 loop
  truncate -s "${mb}M" "$dir.img"
  loop=$(losetup -f --show "$dir.img")
  DISK_LOOPS+=("$loop")
  mkfs.ext4 -q -F -m 0 -E nodiscard "$loop" # -m 0: root (the broker) gets no reserve
  mkdir -p "$dir"
  mount -t ext4 "$loop" "$dir"
  DISK_MOUNTS+=("$dir")
}

disk_avail() { df -B1 --output=avail "$1" | tail -1 | tr -d ' '; }

# fallocate takes most of the space at once; dd then writes the last blocks
# until ENOSPC, so nothing the broker could allocate is left.
disk_fill() {
  local dir=$1 avail
  avail=$(disk_avail "$dir")
  fallocate -l $((avail > 1048576 ? avail - 1048576 : 0)) "$dir/.filler" 2>/dev/null || true
  dd if=/dev/zero of="$dir/.filler2" bs=4096 conv=fsync status=none 2>/dev/null || true
  sync -f "$dir"
}

disk_free() {
  rm -f "$1/.filler" "$1/.filler2"
  sync -f "$1"
}

disk_down() {
  local i
  for ((i = ${#DISK_MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${DISK_MOUNTS[$i]}" 2>/dev/null || umount -l "${DISK_MOUNTS[$i]}" 2>/dev/null || true
    rm -f "${DISK_MOUNTS[$i]}.img"
  done
  for i in "${DISK_LOOPS[@]+"${DISK_LOOPS[@]}"}"; do losetup -d "$i" 2>/dev/null || true; done
  DISK_MOUNTS=() DISK_LOOPS=()
}
