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

# install_packages COMMAND=PACKAGE ...: installs PACKAGE with apt-get when COMMAND is missing.
install_packages() {
    local missing=()
    for pair in "$@"; do
        local command="${pair%%=*}" package="${pair#*=}"
        if ! command -v "$command" >/dev/null 2>&1 && ! dpkg -s "$package" >/dev/null 2>&1; then
            missing+=("$package")
        fi
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
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}
