#!/bin/bash
# Replacing a controller whose machine is gone (issue 14, KIP-853), with real
# processes: the peer links follow the voter set in effect. 3 controllers
# and 3 brokers (scripts/cluster.sh, STRATA_CONTROLLERS=3, all on
# 127.0.0.1); a 4th controller with a NEW node id (4) on another address
# (127.0.0.4) is started with controller.quorum.voters naming the three, so
# it is an observer (answered at the address its messages carry);
# `add-voter` adds it at that address, then `remove-voter` drops one of the
# original three (whose link the others close) and that one is stopped;
# kill -9 of another original leaves controller 4 and one original: a
# majority of three only if controller 4 votes and is dialled at the
# VotersRecord's address (no controller.quorum.voters names it). An active
# controller is elected, the topic made before is there and a new one can
# be made (the brokers, whose controller list names 1..3, follow the
# NOT_CONTROLLER hints to controller 4 when it leads).
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
S=$STRATA_BIN
dir=$(mktemp -d /tmp/strata-votersmove.XXXXXX)
pid4=
trap '[ -n "$pid4" ] && kill -9 "$pid4" 2>/dev/null; scripts/cluster.sh purge >/dev/null 2>&1; rm -rf "$dir"' EXIT

export STRATA_CONTROLLERS=3
strata_cluster_up "$dir" 3 || exit 1
P=$STRATA_CLUSTER_PORT
C=$STRATA_CLUSTER_DIR
export STRATA_BOOTSTRAP=127.0.0.1:$P
port_of() { strata_ctl_port "$P" "$1"; }
VOTERS=$(strata_quorum_voters "$P")
ADDR4=127.0.0.4:$(strata_ctl_port "$P" 1) # controller 1's port, another address: only the address tells them apart
CTLS=127.0.0.1:$(port_of 1),127.0.0.1:$(port_of 2),127.0.0.1:$(port_of 3),$ADDR4
ctl() { "$S" --bootstrap "$CTLS" controller "$@"; }
status() { "$S" cluster status --timeout 3000 2>/dev/null; }
active() { status | sed -n 's/^controller \([0-9]*\) (active).*/\1/p'; }
dir_id() { sed -n 's/^directory.id //p' "$C/controller-$1/quorum-meta" 2>/dev/null; }
wait_for() { # seconds command...: until the command succeeds
  local s=$1 _
  shift
  for _ in $(seq $((s * 5))); do "$@" && return 0; sleep 0.2; done
  return 1
}
has_active() { a=$(active); [ -n "$a" ]; }

wait_for 15 has_active && ok "controller $a active" || { bad "no active controller"; status; }
"$S" topic create before-move --partitions 3 --replication-factor 3 >"$dir/out" 2>&1 &&
  ok "topic made with controllers 1..3" || { bad "topic create"; cat "$dir/out"; }

# controller 4: a new id on a new address, not in anyone's controller.quorum.voters
"$STRATA_BUILD/strata-controller" --set node.id=4 --set data.dir="$C/controller-4" \
  --set listeners=$ADDR4 --set admin.listeners=127.0.0.4:$(strata_ctl_aport "$P" 1) \
  --set controller.quorum.voters="$VOTERS" >>"$C/controller-4.log" 2>&1 &
pid4=$!
disown
strata_wait_port 127.0.0.4 "$(strata_ctl_port "$P" 1)" 15 && ok "controller 4 listens on $ADDR4" ||
  { bad "controller 4 did not start"; tail -5 "$C/controller-4.log"; }
new=$(dir_id 4)
observer() { status | grep -E "^controller 4 .* observer .* dir $new" >/dev/null; }
wait_for 15 observer && ok "controller 4 fetches as an observer (dir $new)" ||
  { bad "no observer line for controller 4"; status; tail -5 "$C/controller-4.log"; }
added() { ctl add-voter --id 4 --directory-id "$new" --address "$ADDR4" >"$dir/out" 2>&1; }
wait_for 10 added && ok "add-voter (4, $new) at $ADDR4: $(cat "$dir/out")" || { bad "add-voter"; cat "$dir/out"; }
voter4() { status | grep -E "^controller 4 .* (follower|leader) .* dir $new" >/dev/null; }
wait_for 10 voter4 && ok "controller 4 is a voter" || { bad "controller 4 not a voter"; status; }

# remove-voter one of the original three (not the active one) and stop it
has_active
r=1; [ "$a" = 1 ] && r=2
rdir=$(dir_id $r)
ctl remove-voter --id $r --directory-id "$rdir" >"$dir/out" 2>&1 &&
  ok "remove-voter ($r, $rdir): $(cat "$dir/out")" || { bad "remove-voter $r"; cat "$dir/out"; }
closed() { grep -q "link to controller $r .* closed: no longer a voter" "$C/controller-$a.log"; }
wait_for 5 closed && ok "controller $a closed its link to the removed controller $r" ||
  { bad "controller $a kept its link to controller $r"; grep "quorum: link" "$C/controller-$a.log"; }
scripts/cluster.sh kill "controller-$r" >/dev/null
gone4=$(grep -c "link to controller 4 .* closed" "$C/controller-$a.log")
[ "$gone4" = 0 ] && ok "controller $a's link to controller 4 stays" || bad "controller $a closed its link to 4"

# kill -9 another original: controller 4 and one original are left
has_active
victim=$a
[ "$victim" = 4 ] && { victim=1; [ $r = 1 ] && victim=2; }
for k in 1 2 3; do [ $k != $r ] && [ $k != "$victim" ] && left=$k; done
scripts/cluster.sh kill "controller-$victim" >/dev/null
active_left() { a=$(active); [ "$a" = 4 ] || [ "$a" = "$left" ]; }
wait_for 20 active_left && ok "controller-$victim killed: controller $a active (controllers $left and 4 vote)" ||
  { bad "no active controller among $left and 4"; status; }
"$S" topic list >"$dir/out" 2>&1 && grep -q before-move "$dir/out" &&
  ok "the topic made before is there" || { bad "metadata after the move"; cat "$dir/out"; }
made() { # a retry after an answer lost with a leader change may find it made
  "$S" topic create after-move --partitions 1 --replication-factor 3 >"$dir/out" 2>&1 ||
    grep -qi "already exists" "$dir/out"
}
wait_for 10 made && ok "topic create works with controllers $left and 4 only" ||
  { bad "topic create after"; cat "$dir/out"; }

echo "voters_move: $fails failure(s)"
[ $fails = 0 ]
