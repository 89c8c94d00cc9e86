#!/usr/bin/env bash
# Builds the `accord` Docker image without any registry: a root filesystem holding the binary and exactly the shared
# libraries it links (as `ldd` lists them, the dynamic loader included), loaded with `docker import`.
#
#   docker/build-image.sh                      # cargo build --release, then the image accord:latest
#   docker/build-image.sh --binary PATH        # an already built binary (the tests pass their debug build)
#   docker/build-image.sh --tag accord:dev     # another tag
#
# The image has no shell and no package manager: its entrypoint is `accord`, and the health check is
# `accord health`. The binary and its libraries come from this machine, so the image runs wherever this machine's
# binaries run (x86_64 Linux with the Docker engine).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tag="accord:latest"
binary=""

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while (($#)); do
    case "$1" in
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --tag) tag="${2:?--tag needs a name}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build-image.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

log() { printf '\033[1;34m[image]\033[0m %s\n' "$*" >&2; }

command -v docker >/dev/null || { echo "build-image.sh: docker is not installed" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build-image.sh: the Docker engine is not reachable (is dockerd running?)" >&2; exit 1; }

if [[ -z "$binary" ]]; then
    # shellcheck source=../scripts/setup.sh
    source "$root/scripts/setup.sh"
    log "building accord (release)"
    (cd "$root" && cargo build --release --locked -p accord-node --bin accord)
    binary="$CARGO_TARGET_DIR/release/accord"
fi
[[ -x "$binary" ]] || { echo "build-image.sh: $binary is not an executable" >&2; exit 1; }

rootfs="$(mktemp -d "${TMPDIR:-/tmp}/accord-rootfs.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT

install -D -m 0755 "$binary" "$rootfs/usr/local/bin/accord"
# Every library the binary loads, at the path the loader looks for it (symlinks resolved to their files).
libs=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[[ -n "$libs" ]] || { echo "build-image.sh: ldd found no libraries for $binary (is it a Linux dynamic binary?)" >&2; exit 1; }
for lib in $libs; do
    install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
done
# What programs expect of a root filesystem: a writable /tmp, users, name resolution order. Docker mounts
# /etc/hosts, /etc/hostname and /etc/resolv.conf itself.
install -d -m 1777 "$rootfs/tmp"
install -d "$rootfs/etc" "$rootfs/node"
printf 'root:x:0:0:root:/root:/usr/local/bin/accord\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

revision="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
log "importing $(du -sh "$rootfs" | cut -f1) root filesystem as $tag (revision $revision)"
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . | docker import \
    --change 'ENTRYPOINT ["/usr/local/bin/accord"]' \
    --change 'CMD ["--help"]' \
    --change 'WORKDIR /node' \
    --change 'ENV PATH=/usr/local/bin RUST_LOG=info' \
    --change 'EXPOSE 8545 9600 30300' \
    --change "LABEL org.opencontainers.image.title=accord org.opencontainers.image.revision=$revision" \
    --message "accord $revision from $binary" \
    - "$tag" >/dev/null
docker run --rm "$tag" --version >/dev/null || { echo "build-image.sh: the image does not run accord --version" >&2; exit 1; }
log "built $tag: $(docker run --rm "$tag" --version)"
