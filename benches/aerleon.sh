#!/usr/bin/env bash
# netc side by side with Aerleon on the same policy, at several sizes, on this machine.
# Installs aerleon in a virtualenv (target/aerleon-venv), generates plans with `netc generate`
# (hosts without firewalls: the router carries the whole policy, as Aerleon's one filter
# does), converts each to an Aerleon policy (benches/to_aerleon.py) and times:
#   generation of nftables      netc compile --target nftables   vs  aclgen
#   one reachability question   netc query                       vs  aclcheck
#   shadowed-rule analysis      netc check                       vs  aclgen --shade_check
#   kernel load of the ruleset  nft -c -f netc's router file     vs  nft -c -f Aerleon's file
# Prints a Markdown table; docs/performance.md records it. Usage: benches/aerleon.sh [SIZES]
# NETC_AERLEON_SKIP_SHADE=1 skips Aerleon's shade check (quadratic: about an hour at 10,000
# terms); NETC_AERLEON_TIMEOUT (seconds, default 900) bounds every command;
# NETC_AERLEON_LAYOUT=scattered uses `netc generate --layout scattered` (hosts scattered over
# shared VLANs, overlapping networks, 300 services with port ranges).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-"1000 5000 10000"}
TIMEOUT=${NETC_AERLEON_TIMEOUT:-900}
cargo build --release -q
NETC=target/release/netc
VENV=target/aerleon-venv
[ -x $VENV/bin/aclgen ] || { python3 -m venv $VENV && $VENV/bin/pip install -q aerleon; }
WORK=target/aerleon-bench
timed() {
  local s=$(date +%s.%N) rc=0
  timeout "$TIMEOUT" "$@" >/dev/null 2>&1 || rc=$?
  # Exit 1 is an answer for `netc query` ("no"), not a failure.
  if [ $rc = 0 ] || { [ $rc = 1 ] && [ "${QUERY:-}" = 1 ]; }; then echo "$(date +%s.%N) - $s" | bc; elif [ $rc = 124 ]; then echo "timeout"; else echo "failed"; fi
}
ratio() { case "$1$2" in *timeout*|*failed*|*skipped*) echo "-";; *) echo "scale=1; $1 / $2" | bc;; esac; }
echo "(nft -c runs in a network namespace as root; \"failed\" means nft refused the file)"
echo
echo "| flows | hosts | netc nftables (s) | aclgen nftables (s) | ratio | netc query (s) | aclcheck (s) | ratio | netc check (s) | aclgen --shade_check (s) | ratio | nft -c netc (s) | nft -c Aerleon (s) | ratio | netc rules / elements | Aerleon chains / rules |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for flows in $SIZES; do
  hosts=$((flows / 5)); tiers=$((flows / 200 < 10 ? 10 : flows / 200)); vlans=$(( (hosts + 998) / 999 )); [ $vlans -lt 5 ] && vlans=5
  dir=$WORK/$flows; rm -rf $dir; mkdir -p $dir
  if [ "${NETC_AERLEON_LAYOUT:-}" = scattered ]; then
    $NETC generate --layout scattered --flows $flows --hosts $hosts --tiers $tiers --vlans $(( hosts / 200 < 2 ? 2 : hosts / 200 )) --services 300 --host-firewall none > $dir/plan.netc
  else
    $NETC generate --flows $flows --hosts $hosts --tiers $tiers --vlans $vlans --services 200 --host-firewall none > $dir/plan.netc
  fi
  # The question's addresses: h1's first and the first host of t1.
  src_ip=$(grep -m1 '^host h1 ' $dir/plan.netc | grep -oE '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+' | head -1)
  dst_ip=$(grep -m1 -E '^host h[0-9]+ in t1 ' $dir/plan.netc | grep -oE '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+' | head -1)
  $NETC export $dir/plan.netc | python3 benches/to_aerleon.py $dir/aerleon
  t_netc=$(timed $NETC compile $dir/plan.netc --out $dir/netc --target nftables)
  t_aer=$(cd $dir/aerleon && mkdir -p out && timed ../../../../$VENV/bin/aclgen --base_directory . --definitions_directory def --output_directory out)
  q_netc=$(QUERY=1 timed $NETC query $dir/plan.netc "can h1 reach t1 on tcp/10021")
  q_aer=$(cd $dir/aerleon && timed ../../../../$VENV/bin/aclcheck -p pol/netc.pol --definitions-directory def -s $src_ip -d $dst_ip --proto tcp --dport 10021)
  c_netc=$(timed $NETC check $dir/plan.netc)
  if [ -n "${NETC_AERLEON_SKIP_SHADE:-}" ]; then c_aer=skipped; else
    c_aer=$(cd $dir/aerleon && mkdir -p out-shade && timed ../../../../$VENV/bin/aclgen --base_directory . --definitions_directory def --output_directory out-shade --shade_check)
  fi
  ns=netc-aerleon-$$; ip netns add $ns
  l_netc=$(timed ip netns exec $ns nft -c -f $dir/netc/nftables/routers/core.nft)
  aerfile=$(ls $dir/aerleon/out/*.nft 2>/dev/null | head -1 || true)
  if [ -n "$aerfile" ]; then l_aer=$(timed ip netns exec $ns nft -c -f "$aerfile"); a_size="$(grep -c '^\s*chain ' "$aerfile") / $(grep -cE 'accept|drop' "$aerfile")"; else l_aer=timeout; a_size="-"; fi
  ip netns del $ns
  n_size="$(grep -cE 'vmap|@to_|@icmp_' $dir/netc/nftables/routers/core.nft) / $(grep -cE ' comment ' $dir/netc/nftables/routers/core.nft)"
  echo "| $flows | $hosts | $t_netc | $t_aer | $(ratio $t_aer $t_netc) | $q_netc | $q_aer | $(ratio $q_aer $q_netc) | $c_netc | $c_aer | $(ratio $c_aer $c_netc) | $l_netc | $l_aer | $(ratio $l_aer $l_netc) | $n_size | $a_size |"
done
