# Shared by images/build and images/test-boot (sourced, not run).

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$IMAGES_DIR")

# The system RAUC compatible string: a bundle for another one is refused.
COMPATIBLE=land-hall-x86_64

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs "$@" and prints how long it took, as "step NAME: S s" (collected for the summary).
STEP_TIMES=()
step() {
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    local took
    took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    STEP_TIMES+=("$name: $took s")
    log "step $name: $took s"
}

print_step_times() {
    local line
    for line in "${STEP_TIMES[@]}"; do printf '  %s\n' "$line"; done
}

# The image version: the workspace version and the number of commits, e.g. 0.1.0.412 — dotted
# numbers, increasing along main (usr/lib/land-hall/rauc-pre-install compares them).
default_version() {
    local workspace commits
    workspace=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$REPO_DIR/Cargo.toml")
    commits=$(git -C "$REPO_DIR" rev-list --count HEAD 2>/dev/null || echo 0)
    echo "$workspace.$commits"
}

# Makes the development signing key and certificate in DIR unless they exist. Never
# committed (images/out/ is ignored); docs/operations.md says how a bureau makes its
# production key instead.
ensure_dev_key() {
    local dir=$1 name=${2:-dev}
    [ -s "$dir/$name.key.pem" ] && [ -s "$dir/$name.cert.pem" ] && return 0
    mkdir -p "$dir"
    chmod 700 "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/O=Land Hall/CN=Land Hall $name update signing (development, $(hostname))" \
        -addext "keyUsage=critical,digitalSignature" \
        -addext "extendedKeyUsage=codeSigning" \
        -keyout "$dir/$name.key.pem" -out "$dir/$name.cert.pem" 2>/dev/null
    chmod 600 "$dir/$name.key.pem"
    log "made the $name signing key $dir/$name.key.pem (development only)"
}

# make_bundle ROOTFS_EXT4 VERSION CERT KEY OUT [COMPATIBLE]: a signed verity bundle of one
# root filesystem image. The payload is compressed with zstd (level 3: a tenth of the time of
# the default level for a few percent more bytes). mksquashfs takes its times from
# SOURCE_DATE_EPOCH.
make_bundle() {
    local rootfs=$1 version=$2 cert=$3 key=$4 out=$5 compatible=${6:-$COMPATIBLE}
    local dir
    dir=$(mktemp -d "${out%/*}/.bundle.XXXXXX")
    ln "$rootfs" "$dir/rootfs.ext4" 2>/dev/null || cp --sparse=always "$rootfs" "$dir/rootfs.ext4"
    cat > "$dir/manifest.raucm" <<MANIFEST
[update]
compatible=$compatible
version=$version
description=Land Hall $version
build=$(git -C "$REPO_DIR" describe --always --dirty 2>/dev/null || echo unknown)

[bundle]
format=verity

[image.rootfs]
filename=rootfs.ext4
MANIFEST
    rm -f "$out"
    # Verified against the signing certificate with the terminals' purpose check right away.
    rauc -c "$IMAGES_DIR/rauc-host.conf" bundle --cert "$cert" --key "$key" --keyring "$cert" \
        --mksquashfs-args="-comp zstd -Xcompression-level 3" \
        "$dir" "$out" > /dev/null 2>&1 || die "rauc bundle failed for $out"
    rm -rf "$dir"
}

human() { numfmt --to=iec-i --suffix=B --format='%.1f' "$1"; }
