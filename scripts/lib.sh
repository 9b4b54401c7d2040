# Shared by scripts/demo and scripts/test: make sure the machine has what the
# project needs, installing Debian packages when they are missing.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

require_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "taskscope needs Swift 6.2 or later on PATH (https://swift.org/install)" >&2
        exit 1
    fi
}

# install_packages PACKAGE ...: installs the Debian packages that are missing.
install_packages() {
    command -v dpkg >/dev/null 2>&1 || { echo "not a Debian system: make sure these are installed: $*" >&2; return; }
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "please install: ${missing[*]}" >&2
            exit 1
        fi
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        echo "installing ${missing[*]}" >&2
        $sudo apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}
