# Small disks for the drills' disk faults (sourced): an ext4 filesystem on a
# loop file, mounted over one broker's log.dir, that can be filled to the last
# block and freed again; where the kernel has device-mapper's delay target,
# the same through a dm-delay device whose delay can be changed while mounted.
# Every mount, dm device and loop device is recorded and removed by disk_down,
# also on failure. Root only.
#
#   disk_up DIR MB           an ext4 filesystem of MB MiB mounted at DIR
#   disk_up_delayed DIR MB   the same through a dm-delay device (no delay yet)
#   disk_fill DIR            take every free block (a filler file)
#   disk_free DIR            remove the filler
#   disk_avail DIR           free bytes
#   disk_delay_ok            0 when dm-delay works here; else says why on stdout
#   disk_delay DIR MS        every read and write on DIR's device waits MS ms
#   disk_down                unmount, remove the dm devices, detach the loops

DISK_MOUNTS=()
DISK_LOOPS=()
DISK_DMS=()
declare -A DISK_DM_OF DISK_LOOP_OF

# A loop device over a new sparse file of MB MiB beside DIR (not inside it:
# the mount hides DIR's contents).
disk_loop() {
  local dir=$1 mb=$2 loop
  truncate -s "${mb}M" "$dir.img"
  loop=$(losetup -f --show "$dir.img")
  DISK_LOOPS+=("$loop")
  DISK_LOOP_OF[$dir]=$loop
}

disk_mount() {
  local dev=$1 dir=$2
  mkfs.ext4 -q -F -m 0 -E nodiscard "$dev" # -m 0: root (the broker) gets no reserve
  mkdir -p "$dir"
  mount -t ext4 "$dev" "$dir"
  DISK_MOUNTS+=("$dir")
}

disk_up() {
  disk_loop "$1" "$2"
  disk_mount "${DISK_LOOP_OF[$1]}" "$1"
}

disk_delay_ok() {
  if [ ! -x /usr/sbin/dmsetup ] && ! command -v dmsetup >/dev/null; then
    echo "no dmsetup"
    return 1
  fi
  if ! dmsetup version >/dev/null 2>&1; then
    modprobe dm_delay >/dev/null 2>&1 || true
    if ! dmsetup version >/dev/null 2>&1; then
      echo "this kernel has no device-mapper (no /dev/mapper/control, no modules to load)"
      return 1
    fi
  fi
  dmsetup targets 2>/dev/null | grep -q '^delay' && return 0
  modprobe dm_delay >/dev/null 2>&1 || true
  dmsetup targets 2>/dev/null | grep -q '^delay' && return 0
  echo "device-mapper has no delay target (dm_delay not built or loadable)"
  return 1
}

# The dm table of DIR's device: a linear pass-through with MS ms of delay on
# every read and write.
disk_table() {
  local loop=${DISK_LOOP_OF[$1]}
  echo "0 $(blockdev --getsz "$loop") delay $loop 0 $2"
}

disk_up_delayed() {
  local dir=$1 name
  disk_loop "$dir" "$2"
  name="${TB_P:-st$$}disk${#DISK_DMS[@]}"
  disk_table "$dir" 0 | dmsetup create "$name"
  DISK_DMS+=("$name")
  DISK_DM_OF[$dir]=$name
  disk_mount "/dev/mapper/$name" "$dir"
}

# Swap the table under the mounted filesystem: suspend waits for in-flight
# I/O, resume lets the new delay apply to everything after.
disk_delay() {
  local name=${DISK_DM_OF[$1]}
  dmsetup suspend "$name"
  disk_table "$1" "$2" | dmsetup reload "$name"
  dmsetup resume "$name"
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
  for i in "${DISK_DMS[@]+"${DISK_DMS[@]}"}"; do
    dmsetup resume "$i" 2>/dev/null || true # a suspended device cannot be removed
    dmsetup remove "$i" 2>/dev/null || dmsetup remove --force "$i" 2>/dev/null || true
  done
  for i in "${DISK_LOOPS[@]+"${DISK_LOOPS[@]}"}"; do losetup -d "$i" 2>/dev/null || true; done
  DISK_MOUNTS=() DISK_LOOPS=() DISK_DMS=()
}
