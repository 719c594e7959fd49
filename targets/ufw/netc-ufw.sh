#!/bin/sh
{{ header }}#
# Installs user.rules and user6.rules, the files beside this script, as the ufw rules of
# host {{ host }}, and loads them. Run as root on the host. The host is never open on the way:
#  1. the new files are checked by iptables-restore --test (ip6tables-restore where the
#     kernel has IPv6) before anything changes;
#  2. the default incoming policy is set to deny first, and the default outgoing policy to
#     {{ outgoing }} (the plan: {% if outgoing == "deny" %}the host's tier filters egress{% else %}the host may send anything{% endif %});
#  3. the previous files are kept, the new ones are put in place by rename (each file is the
#     old one or the new one, never a mix);
#  4. `ufw --force enable` (if ufw was off) and `ufw reload` load them.
# If any step fails, the previous files are put back and loaded again, and the script exits 1.
# UFW_ETC and UFW_CMD (default /etc/ufw and ufw) name another configuration, for tests.
set -u
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd) || exit 1
etc=${UFW_ETC:-/etc/ufw}
ufw=${UFW_CMD:-ufw}
fail() {
	echo "netc-ufw.sh: $1; nothing was changed" >&2
	exit 1
}
iptables-restore --test <"$here/user.rules" || fail "iptables-restore refuses user.rules"
if [ -e /proc/net/if_inet6 ]; then
	ip6tables-restore --test <"$here/user6.rules" || fail "ip6tables-restore refuses user6.rules"
fi
$ufw default deny incoming >/dev/null || fail "ufw default deny incoming failed"
$ufw default {{ outgoing }} outgoing >/dev/null || fail "ufw default {{ outgoing }} outgoing failed"
backup=$(mktemp -d) || fail "no temporary directory"
for f in user.rules user6.rules; do
	if [ -e "$etc/$f" ]; then
		cp -p "$etc/$f" "$backup/$f" || fail "cannot keep a copy of $etc/$f"
	fi
done
rollback() {
	for f in user.rules user6.rules; do
		if [ -e "$backup/$f" ]; then
			cp -p "$backup/$f" "$etc/$f.netc-old" && mv -f "$etc/$f.netc-old" "$etc/$f"
		fi
	done
	$ufw reload >/dev/null 2>&1
	rm -rf "$backup"
	echo "netc-ufw.sh: $1; the previous rules were put back" >&2
	exit 1
}
for f in user.rules user6.rules; do
	cp "$here/$f" "$etc/$f.netc-new" || rollback "cannot copy $f"
	chmod 0640 "$etc/$f.netc-new" || rollback "cannot set the mode of $f"
	mv -f "$etc/$f.netc-new" "$etc/$f" || rollback "cannot install $f"
done
$ufw --force enable >/dev/null || rollback "ufw enable failed"
$ufw reload >/dev/null || rollback "ufw reload failed"
rm -rf "$backup"
