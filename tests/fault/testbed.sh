# The multi-host testbed (sourced): every controller and broker in its own
# network namespace with its own address on a bridge that lives in a switch
# namespace of its own (so the host's firewall, e.g. Docker's FORWARD DROP,
# never sees the traffic), plus the host on the same bridge for clients.
# Partitions are nftables rules inside a node's namespace. Everything is
# named after this process and removed by tb_down, also on failure. Root only.
#
#   tb_up NODE...            create the namespaces (names like ctl, b1, b2)
#   tb_ip NODE               its address
#   tb_exec NODE CMD...      run a command inside it (exec: $! is the command)
#   tb_cut A B               drop all traffic between A and B (rules in A)
#   tb_cut_oneway A B        drop only what A receives from B
#   tb_heal A                remove A's rules
#   tb_down                  remove everything

TB_P=st$$
# A /24 no interface here has yet (another drill running beside this one).
TB_NET=10.213.$(($$ % 200 + 20))
for _tb_i in $(seq 0 199); do
  ip -4 -o addr show 2>/dev/null | grep -q " 10\.213\.$((($$ + _tb_i) % 200 + 20))\." && continue
  TB_NET=10.213.$((($$ + _tb_i) % 200 + 20))
  break
done
TB_NODES=()
declare -A TB_IPS

tb_up() {
  local i=1 n
  ip netns add "${TB_P}sw" || {
    echo "FAIL: cannot make a network namespace (ip netns add, above; STRATA_FAULT_NO_NETNS=1" \
      "runs the loopback fallback instead)" >&2
    return 1
  }
  # ip netns exec remounts / (mount --make-rslave /): in a chroot whose root
  # is no mount point that fails, and every node would fail with it.
  ip netns exec "${TB_P}sw" true || {
    echo "FAIL: ip netns exec cannot enter a network namespace (above); in a chroot" \
      "its root must be a mount point (mount --bind ROOT ROOT before chroot ROOT)" >&2
    return 1
  }
  ip -n "${TB_P}sw" link add br0 type bridge
  ip -n "${TB_P}sw" link set br0 up
  ip -n "${TB_P}sw" link set lo up
  for n in "$@"; do
    TB_NODES+=("$n")
    TB_IPS[$n]=$TB_NET.$i
    i=$((i + 1))
    ip netns add "$TB_P$n"
    ip link add "$TB_P${n}a" type veth peer name "$TB_P${n}b"
    ip link set "$TB_P${n}a" netns "$TB_P$n"
    ip link set "$TB_P${n}b" netns "${TB_P}sw"
    ip -n "${TB_P}sw" link set "$TB_P${n}b" master br0 up
    ip -n "$TB_P$n" addr add "${TB_IPS[$n]}/24" dev "$TB_P${n}a"
    ip -n "$TB_P$n" link set "$TB_P${n}a" up
    ip -n "$TB_P$n" link set lo up
  done
  ip link add "${TB_P}h" type veth peer name "${TB_P}hb"
  ip link set "${TB_P}hb" netns "${TB_P}sw"
  ip -n "${TB_P}sw" link set "${TB_P}hb" master br0 up
  ip addr add "$TB_NET.254/24" dev "${TB_P}h"
  ip link set "${TB_P}h" up
}

tb_ip() { echo "${TB_IPS[$1]}"; }

tb_exec() {
  local n=$1
  shift
  exec ip netns exec "$TB_P$n" "$@"
}

tb_rules() { # node: make sure its table exists
  ip netns exec "$TB_P$1" nft list table inet strata_fault >/dev/null 2>&1 && return 0
  ip netns exec "$TB_P$1" nft -f - <<NFT
table inet strata_fault {
  chain input { type filter hook input priority 0; policy accept; }
  chain output { type filter hook output priority 0; policy accept; }
}
NFT
}

tb_cut() {
  tb_rules "$1"
  ip netns exec "$TB_P$1" nft add rule inet strata_fault input ip saddr "${TB_IPS[$2]}" drop
  ip netns exec "$TB_P$1" nft add rule inet strata_fault output ip daddr "${TB_IPS[$2]}" drop
}

tb_cut_oneway() {
  tb_rules "$1"
  ip netns exec "$TB_P$1" nft add rule inet strata_fault input ip saddr "${TB_IPS[$2]}" drop
}

tb_heal() { ip netns exec "$TB_P$1" nft delete table inet strata_fault 2>/dev/null || true; }

tb_down() {
  local n
  for n in "${TB_NODES[@]}"; do ip netns del "$TB_P$n" 2>/dev/null || true; done
  ip netns del "${TB_P}sw" 2>/dev/null || true
  ip link del "${TB_P}h" 2>/dev/null || true
}
