#!/usr/bin/env bash
# Checks the release tarball of scripts/package.sh as a machine without Swift would use it: unpacked in a
# temporary folder, run with a clean environment (env -i, no LD_LIBRARY_PATH), through a symlink too.
# 1. layout: bin/zoo, lib/, INSTALL.txt, the docs and the bundled libraries' list;
# 2. bin/zoo links no Swift runtime library and has only $ORIGIN-relative rpaths (no build or toolchain path);
# 3. `ldd bin/zoo` resolves every library that is not glibc's inside the tarball's lib/, and lib/ holds
#    nothing that ldd does not load;
# 4. `zoo --version` is the tarball's version; `zoo demo` (fetch from a 127.0.0.1 mirror through libcurl,
#    convert through libzip, reproduce through OpenBLAS and libturbojpeg/libpng, vis) succeeds at the smallest
#    size, and its outputs exist;
# 5. as root: the same demo inside a chroot holding only glibc (no Swift, none of the bundled libraries,
#    no /usr/share, no /etc), in a private mount namespace.
# Usage: scripts/package-test.sh [TARBALL]   (default: the newest dist/zoo-*-linux-x86_64.tar.gz)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/elf-deps.sh
. scripts/elf-deps.sh

TARBALL="${1:-$(ls -t dist/zoo-*-linux-x86_64.tar.gz 2>/dev/null | head -n1 || true)}"
[ -n "$TARBALL" ] && [ -f "$TARBALL" ] || { echo "package-test: no tarball (run scripts/package.sh first, or pass one)" >&2; exit 1; }
name=$(basename "$TARBALL" .tar.gz)
version=${name#zoo-}; version=${version%-linux-x86_64}

failures=0
fail() { echo "package-test: FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "package-test: ok: $*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zoo-package-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
started=$(date +%s%N)
seconds_since() { local t=$(( ($(date +%s%N) - $1) / 1000000 )); printf '%d.%03d' $((t / 1000)) $((t % 1000)); }
tar -xzf "$TARBALL" -C "$tmp"
DIR="$tmp/$name"
[ -d "$DIR" ] || { echo "package-test: $TARBALL does not unpack to $name/" >&2; exit 1; }

# ---- 1. layout ------------------------------------------------------------------------------------------
for f in bin/zoo INSTALL.txt share/doc/zoo/README.md share/doc/zoo/CHANGELOG.md share/doc/zoo/BUNDLED-LIBRARIES.txt; do
    [ -f "$DIR/$f" ] || fail "$name/$f is missing"
done
[ -x "$DIR/bin/zoo" ] || fail "$name/bin/zoo is not executable"
others=$(cd "$DIR" && find . -mindepth 1 -maxdepth 1 | sort | xargs)
[ "$others" = "./INSTALL.txt ./bin ./lib ./share" ] || fail "unexpected top level in $name/: $others"
nlibs=$(find "$DIR/lib" -maxdepth 1 -type f -name '*.so*' | wc -l)
[ "$nlibs" -gt 0 ] || fail "$name/lib holds no library"

# ---- 2. no Swift runtime, relative rpaths only ----------------------------------------------------------
dyn=$(readelf -d "$DIR/bin/zoo")
swift_libs=$(echo "$dyn" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -E '^(libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime)' || true)
[ -z "$swift_libs" ] && ok "bin/zoo links no Swift runtime library" || fail "bin/zoo links $(echo $swift_libs)"
rpath=$(echo "$dyn" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')
runpath=$(echo "$dyn" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
# shellcheck disable=SC2016
case ":$rpath:" in *':$ORIGIN/../lib:'*) ok "bin/zoo has DT_RPATH $rpath" ;; *) fail "bin/zoo's DT_RPATH is '$rpath', without \$ORIGIN/../lib" ;; esac
[ -z "$runpath" ] || fail "bin/zoo has a DT_RUNPATH ($runpath): it hides DT_RPATH from the libraries' own dependencies"
for p in ${rpath//:/ }; do
    # shellcheck disable=SC2016
    case "$p" in '$ORIGIN'|'$ORIGIN/'*) ;; *) fail "bin/zoo's rpath holds '$p', a path of the build machine" ;; esac
done

# ---- 3. every library from lib/ -------------------------------------------------------------------------
closure=$(env -i PATH=/usr/bin:/bin ldd "$DIR/bin/zoo" | awk '$2 == "=>" { print $1, $3 }')
libdir=$(cd "$DIR/lib" && pwd -P)
outside="" used=""
while read -r soname path; do
    if [ "$path" = "not" ]; then fail "ldd: $soname not found"; continue; fi
    is_glibc_soname "$soname" && continue
    real=$(readlink -f "$path")
    if [ "$(dirname "$real")" = "$libdir" ]; then used="$used $(basename "$real")"; else outside="$outside $soname=>$path"; fi
done <<< "$closure"
[ -z "$outside" ] && ok "ldd resolves all $(echo $used | wc -w) non-glibc libraries inside $name/lib" \
    || fail "libraries resolved outside $name/lib:$outside"
unused=$(comm -23 <(ls "$DIR/lib" | sort) <(echo $used | tr ' ' '\n' | sort -u) | xargs)
[ -z "$unused" ] || fail "$name/lib holds libraries nothing loads: $unused"

# ---- 4. it runs: --version, then the demo, with a clean environment and through a symlink --------------
ln -s "$DIR/bin/zoo" "$tmp/zoo-link"
got=$(env -i PATH=/usr/bin:/bin HOME="$tmp/home" "$tmp/zoo-link" --version 2>&1) || fail "zoo --version through a symlink failed: $got"
[ "$got" = "$version" ] && ok "zoo --version: $got" || fail "zoo --version printed '$got', the tarball is $version"

mkdir -p "$tmp/home"
demo_started=$(date +%s%N)
set +e
env -i PATH=/usr/bin:/bin HOME="$tmp/home" "$DIR/bin/zoo" demo --dir "$tmp/demo" --images 1 --size 320x192 --scale 320x192 \
    > "$tmp/demo.log" 2>&1
rc=$?
set -e
demo_s=$(seconds_since "$demo_started")
if [ "$rc" -ne 0 ]; then
    fail "zoo demo exited $rc with a clean environment; its output:"
    sed 's/^/    /' "$tmp/demo.log" >&2
else
    for f in reproduce/pan_seg.json reproduce/scores.json; do [ -s "$tmp/demo/$f" ] || fail "zoo demo wrote no $f"; done
    ls "$tmp/demo/reproduce/vis/"*.jpg >/dev/null 2>&1 || fail "zoo demo drew no overlay (reproduce/vis/*.jpg)"
    grep -q '^demo done' "$tmp/demo.log" || fail "zoo demo did not print 'demo done'"
    ok "zoo demo --images 1 --size 320x192 --scale 320x192 with env -i: ${demo_s} s"
fi

# ---- 5. in a root that holds nothing but glibc (as root, where unshare and chroot are allowed) ------------
# A machine without Swift and without any of the bundled libraries: a chroot with the loader, glibc's
# libraries that ldd names, the unpacked tarball and /proc (the loader finds $ORIGIN through /proc/self/exe).
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v chroot >/dev/null \
    && unshare -m --propagation private true 2>/dev/null; then
    jail="$tmp/jail"
    mkdir -p "$jail/proc" "$jail/tmp" "$jail/opt"
    loader=$(env -i PATH=/usr/bin:/bin ldd "$DIR/bin/zoo" | awk '$1 ~ /^\/.*ld-linux/ { print $1 }')
    for f in $loader $(echo "$closure" | while read -r soname path; do is_glibc_soname "$soname" && [ "$path" != not ] && echo "$path"; done); do
        mkdir -p "$jail$(dirname "$f")"
        cp -L "$f" "$jail$f"
    done
    cp -a "$DIR" "$jail/opt/"
    jail_started=$(date +%s%N)
    set +e
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp unshare -m --propagation private sh -c \
        'mount -t proc proc "$1/proc" && exec chroot "$1" "/opt/$2/bin/zoo" demo --dir /tmp/demo --images 1 --size 320x192 --scale 320x192' \
        sh "$jail" "$name" > "$tmp/jail.log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -eq 0 ] && [ -s "$jail/tmp/demo/reproduce/pan_seg.json" ]; then
        ok "zoo demo in a root holding only glibc ($(find "$jail" -name '*.so*' -not -path "$jail/opt/*" | wc -l) files) and the tarball: $(seconds_since "$jail_started") s"
    else
        fail "zoo demo in a root holding only glibc and the tarball exited $rc; its output:"
        sed 's/^/    /' "$tmp/jail.log" >&2
    fi
else
    echo "package-test: note: not root or no unshare/chroot here: the glibc-only root check is skipped"
fi

total=$(seconds_since "$started")
if [ "$failures" -gt 0 ]; then
    echo "package-test: $failures check(s) failed ($TARBALL)" >&2
    exit 1
fi
echo "package-test: all checks passed in ${total} s ($TARBALL, $(stat -c %s "$TARBALL") bytes)"
