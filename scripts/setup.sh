#!/usr/bin/env bash
# Installs everything Paceline's demo, tests and benchmarks need on a fresh Debian machine:
# the real system tools the agents drive and the Pacemaker tools and keepalived we compare against
# (as root, from Debian's packages), then the npm dependencies. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(iproute2 iputils-arping iputils-ping rsync nftables tcpdump procps psmisc pacemaker-cli-utils resource-agents libxml2-utils keepalived)
# The reference cluster's services, run by the typed service agents and the live lab (agents/*, npm run lab).
DEBS+=(samba smbclient cyrus-imapd cyrus-admin cyrus-clients sasl2-bin sendmail-bin sendmail-cf m4 nginx-light apache2 bind9 bind9-dnsutils freeradius freeradius-utils)
# npm run bench:daemon:scale:pacemaker runs a real Pacemaker + corosync cluster in two namespaces (issue 13).
DEBS+=(pacemaker corosync pacemaker-resource-agents)
# The web view's browser test (Playwright drives Debian's Chromium: a browser download fails here).
DEBS+=(chromium)
# npm ci builds the unix-dgram addon (systemd readiness, packages/runtime/src/sd-notify.ts) with node-gyp.
DEBS+=(g++ make python3)
# paceline:mirror's change tracker runs its inotify watcher (agents/mirror/watch, standard library only) with python3.
DEBS+=(python3)
# npm run bench:scheduler measures each process's CPU time and peak memory with GNU time.
DEBS+=(time)
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Installing a service package must not start its daemon: Paceline starts them, one instance per
    # node namespace. A policy-rc.d that refuses every start does that; remove it after if we made it.
    made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
  else
    echo "setup: not root (or no apt-get): skipping Debian packages ${missing[*]}; tests that need them will say so and skip" >&2
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
# npm ci links a package's bin only when its target exists, and dist/ is built after it: link
# `paceline` now (node_modules/.bin/paceline, for `npx paceline`); no scripts run.
npm rebuild @paceline/cli --ignore-scripts --silent
