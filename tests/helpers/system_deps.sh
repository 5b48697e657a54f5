#!/usr/bin/env bash
# System packages the browser and SSH-remote tests need: Debian's chromium (renders `dvc plots show`)
# and openssh-server (a real sshd on 127.0.0.1 for the DVC SSH remote). Called by `make test`.
# Installs them when missing and run as root; otherwise says what is missing and those tests skip.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system_deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "system_deps: missing ${missing[*]} (install them: apt-get install ${missing[*]});" \
         "the browser / SSH-remote tests will skip" >&2
fi
