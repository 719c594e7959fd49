#!/bin/sh
{{ header }}#
# The same routes as routes/{{ name }}.ip, for hosts whose network configuration is
# NetworkManager: install as /etc/NetworkManager/dispatcher.d/90-netc-routes (owned by root,
# mode 0755). NetworkManager runs it with an interface and an action; when an interface comes
# up, it adds the routes that leave by that interface (`replace`: running it twice is
# harmless), so they come back whenever NetworkManager brings the interface up again.
[ "$2" = up ] || exit 0
case "$1" in
{%- for (dev, routes) in devs %}
"{{ dev }}")
{%- for (to, via) in routes %}
	ip route replace {{ to }} via {{ via }} dev {{ dev }}
{%- endfor %}
	;;
{%- endfor %}
esac
