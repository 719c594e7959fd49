#!/bin/sh
{{ header }}#
# The same rules as user.rules and user6.rules, as ufw commands, for host {{ host }}.
# Run as root on the host. `ufw --force reset` removes every existing ufw rule first.
set -e
{{ commands }}