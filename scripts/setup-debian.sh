#!/bin/sh
# Installs the Debian packages the real-process tests and the benchmark run against (Tomcat 10 nodes, Apache
# httpd, HAProxy, nginx, wrk, h2load, Chromium, openssl, slowhttptest, testssl.sh, Redis and Sentinel, keepalived, logrotate, pebble), then makes sure none of their system services holds ports 80/8080:
# the tests start private instances on free ports. Idempotent, and fast when everything is present.
set -eu

PACKAGES="tomcat10 apache2 haproxy nginx wrk nghttp2-client chromium openssl ca-certificates default-jre-headless slowhttptest testssl.sh redis-server redis-sentinel keepalived logrotate pebble"
SERVICES="apache2 tomcat10 haproxy nginx redis-server redis-sentinel keepalived"

missing=""
for pkg in $PACKAGES; do
  if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing="$missing $pkg"
  fi
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-debian: missing packages:$missing (run this script as root to install them)" >&2
    exit 1
  fi
  echo "setup-debian: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts would start the services; policy-rc.d exit 101 tells invoke-rc.d not to, during this install only.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -q
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  apt-get install -y -q --no-install-recommends $missing
fi

# Stop whatever a package (or an earlier boot) started. Containers have no init system: then there is nothing to stop.
for svc in $SERVICES; do
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl stop "$svc" >/dev/null 2>&1 || true
    systemctl disable "$svc" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1 && [ -x "/etc/init.d/$svc" ]; then
    service "$svc" status >/dev/null 2>&1 && service "$svc" stop >/dev/null 2>&1 || true
  fi
done

for tool in /usr/sbin/apache2 /usr/share/tomcat10/bin/catalina.sh /usr/sbin/haproxy /usr/sbin/nginx wrk h2load chromium openssl java; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup-debian: $tool is still missing after installation" >&2
    exit 1
  fi
done
