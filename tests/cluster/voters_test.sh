#!/bin/bash
# Replacing a controller whose disk was lost (issue 14, KIP-853), with real
# processes: 3 controllers and 3 brokers (scripts/cluster.sh,
# STRATA_CONTROLLERS=3). controller-3's data directory is wiped and it is
# started again, on another machine (address 127.0.0.3 instead of
# 127.0.0.1; its controller.quorum.voters still names the old one): a new
# directory id, an observer that cannot vote, answered at the address its
# messages carry.
# `strata controller remove-voter` drops the old (id, directory id) and
# `add-voter` adds the new one at its new address once it has caught up;
# then kill -9 of another controller leaves two of three, a majority only
# because controller-3 votes again, dialled at the VotersRecord's address: an active controller is elected and the metadata
# (a topic made before the wipe) is there and can be added to. The CLI's
# refusals are checked on the way (unknown voter, duplicate, not caught up).
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
S=$STRATA_BIN
dir=$(mktemp -d /tmp/strata-voterstest.XXXXXX)
pid3=
trap '[ -n "$pid3" ] && kill -9 "$pid3" 2>/dev/null; scripts/cluster.sh purge >/dev/null 2>&1; rm -rf "$dir"' EXIT

export STRATA_CONTROLLERS=3
strata_cluster_up "$dir" 3 || exit 1
P=$STRATA_CLUSTER_PORT
C=$STRATA_CLUSTER_DIR
export STRATA_BOOTSTRAP=127.0.0.1:$P
VOTERS=$(strata_quorum_voters "$P")
ADDR3=127.0.0.3:$(strata_ctl_port "$P" 3) # controller-3's new machine
CTLS=127.0.0.1:$(strata_ctl_port "$P" 1),127.0.0.1:$(strata_ctl_port "$P" 2),$ADDR3
ctl() { "$S" --bootstrap "$CTLS" controller "$@"; }
status() { "$S" cluster status --timeout 3000 2>/dev/null; }
active() { status | sed -n 's/^controller \([0-9]*\) (active).*/\1/p'; }
dir_id() { sed -n 's/^directory.id //p' "$C/controller-$1/quorum-meta"; }
wait_for() { # seconds command...: until the command succeeds
  local s=$1 _
  shift
  for _ in $(seq $((s * 5))); do "$@" && return 0; sleep 0.2; done
  return 1
}
has_active() { a=$(active); [ -n "$a" ]; }

wait_for 15 has_active && ok "controller $a active" || { bad "no active controller"; status; }
"$S" topic create before-wipe --partitions 3 --replication-factor 3 >"$dir/out" 2>&1 &&
  ok "topic made before the wipe" || { bad "topic create"; cat "$dir/out"; }
old=$(dir_id 3)
[ ${#old} = 32 ] && ok "controller-3's directory id $old" || bad "no directory id for controller-3"

# the disk is lost: controller-3 comes back empty, with a new directory id,
# on another address (the same controller.quorum.voters: no one else's changes)
scripts/cluster.sh kill controller-3 >/dev/null
rm -rf "${C:?}/controller-3"
"$STRATA_BUILD/strata-controller" --set node.id=3 --set data.dir="$C/controller-3" \
  --set listeners=$ADDR3 --set admin.listeners=127.0.0.3:$(strata_ctl_aport "$P" 3) \
  --set controller.quorum.voters="$VOTERS" >>"$C/controller-3.log" 2>&1 &
pid3=$!
disown
strata_wait_port 127.0.0.3 $(strata_ctl_port "$P" 3) 15 || bad "start controller-3 at $ADDR3"
new=$(dir_id 3)
[ ${#new} = 32 ] && [ "$new" != "$old" ] && ok "wiped controller-3 has a new directory id $new" ||
  bad "directory id after the wipe: '$new'"
observer() { status | grep -E "^controller 3 .* observer .* dir $new" >/dev/null; }
wait_for 15 observer && ok "cluster status lists controller 3 as an observer with the new id" ||
  { bad "no observer line for the new directory id"; status; tail -n 15 "$C/controller-3.log"; grep "quorum: link" "$C"/controller-[12].log; }

# refusals, each with its reason
ctl add-voter --id 3 --directory-id "$new" --address $ADDR3 >"$dir/out" 2>&1 &&
  bad "add-voter of an id that is a voter accepted" ||
  { grep -q DUPLICATE_VOTER "$dir/out" && ok "add-voter while id 3 votes: refused ($(cut -c1-90 "$dir/out")...)" ||
    { bad "duplicate message"; cat "$dir/out"; }; }
ctl remove-voter --id 3 --directory-id "$new" >"$dir/out" 2>&1 &&
  bad "remove-voter of an unknown key accepted" ||
  { grep -q VOTER_NOT_FOUND "$dir/out" && ok "remove-voter (3, new id): not a voter, refused" ||
    { bad "not-found message"; cat "$dir/out"; }; }

# sent to a controller that is not the active one: its NOT_CONTROLLER hint is followed
has_active
f=1; [ "$a" = 1 ] && f=2
fport=$(strata_ctl_port "$P" "$f")
"$S" --bootstrap 127.0.0.1:$fport controller remove-voter --id 3 --directory-id "$old" >"$dir/out" 2>&1 &&
  ok "remove-voter (3, $old) sent to controller $f, not the active $a: $(cat "$dir/out")" ||
  { bad "remove-voter"; cat "$dir/out"; }
ctl add-voter --id 3 --directory-id 0123456789abcdef0123456789abcdef --address $ADDR3 \
  >"$dir/out" 2>&1 && bad "add-voter of a directory id no one fetches with accepted" ||
  { grep -q VOTER_NOT_CAUGHT_UP "$dir/out" && ok "add-voter of an unknown observer: not caught up, refused" ||
    { bad "not-caught-up message"; cat "$dir/out"; }; }
added() { ctl add-voter --id 3 --directory-id "$new" --address $ADDR3 >"$dir/out" 2>&1; }
wait_for 10 added && ok "add-voter (3, $new) at $ADDR3: $(cat "$dir/out")" || { bad "add-voter"; cat "$dir/out"; }
voter3() { status | grep -E "^controller 3 .* (follower|leader) .* dir $new" >/dev/null; }
wait_for 10 voter3 && ok "controller 3 is a voter again (new directory id)" || { bad "controller 3 not a voter"; status; }
for k in 1 2; do # the link to the old address went with the old voter, one to the new came
  grep -q "link to controller 3 (127.0.0.1:$(strata_ctl_port "$P" 3)) closed: no longer a voter" "$C/controller-$k.log" &&
    grep -q "link to controller 3 at $ADDR3" "$C/controller-$k.log" &&
    ok "controller-$k: link to 127.0.0.1:$(strata_ctl_port "$P" 3) closed, controller 3 dialled at $ADDR3" ||
    { bad "controller-$k's links to controller 3"; grep "quorum: .*controller 3" "$C/controller-$k.log"; }
done

# kill -9 another controller: two of three left, a majority only with controller-3's vote
has_active
victim=$a
[ "$victim" = 3 ] && victim=1
scripts/cluster.sh kill "controller-$victim" >/dev/null
active_not_victim() { a=$(active); [ -n "$a" ] && [ "$a" != "$victim" ]; }
wait_for 20 active_not_victim && ok "controller-$victim killed: controller $a active (controller-3 voted)" ||
  { bad "no active controller with controller-3 and one other"; status; }
"$S" topic list >"$dir/out" 2>&1 && grep -q before-wipe "$dir/out" &&
  ok "the topic made before the wipe is there" || { bad "metadata after the replacement"; cat "$dir/out"; }
"$S" topic create after-replace --partitions 1 --replication-factor 3 >"$dir/out" 2>&1 &&
  ok "topic create works with controller $a (controller-$victim down)" || { bad "topic create after"; cat "$dir/out"; }
# restarted, every controller reads the voter set from its log
scripts/cluster.sh start "controller-$victim" >/dev/null || bad "start controller-$victim"
three() { [ "$(status | grep -cE '^controller [0-9].* (follower|leader) ')" = 3 ]; }
wait_for 15 three && ok "controller-$victim back: three voters" || { bad "voters after restart"; status; }

echo "voters: $fails failure(s)"
[ $fails = 0 ]
