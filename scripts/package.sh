#!/usr/bin/env bash
# The release tarball for x86-64 Linux machines without Swift:
#   dist/zoo-VERSION-linux-x86_64.tar.gz   (and .tar.xz unless --no-xz)
#   zoo-VERSION-linux-x86_64/bin/zoo                 the Swift runtime linked in (--static-swift-stdlib)
#   zoo-VERSION-linux-x86_64/lib/*.so*                every shared library it needs beyond glibc (ldd's closure)
#   zoo-VERSION-linux-x86_64/share/doc/zoo/          README.md, CHANGELOG.md, BUNDLED-LIBRARIES.txt
#   zoo-VERSION-linux-x86_64/share/doc/third-party/  the Debian copyright file of each bundled library
# bin/zoo finds lib/ through DT_RPATH `$ORIGIN/../lib` (not DT_RUNPATH): the loader searches an executable's
# RPATH for the dependencies of its dependencies too (libcurl -> libnghttp2 ...), so the bundled libraries
# need no rpath of their own and no patchelf. It also wins over LD_LIBRARY_PATH: the bundle is what runs.
# glibc (libc6: libc, libm, libpthread, libdl, librt, libresolv, ld-linux ...) is never bundled; the tarball
# needs the glibc version printed at the end (or newer). VERSION is what `zoo --version` prints.
# The build has its own build path (.build-static, or $ZOO_STATIC_BUILD_PATH): it does not disturb .build.
# scripts/package-test.sh checks the result; scripts/deploy-test.sh checks deploy/ against the same binary.
set -euo pipefail
cd "$(dirname "$0")/.."

XZ=1
for arg in "$@"; do
    case "$arg" in
        --no-xz) XZ=0 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; echo "usage: scripts/package.sh [--no-xz]"; exit 0 ;;
        *) echo "package.sh: unknown argument '$arg' (usage: scripts/package.sh [--no-xz])" >&2; exit 2 ;;
    esac
done
for tool in ldd readelf tar gzip; do
    command -v "$tool" >/dev/null || { echo "package.sh: '$tool' is missing (apt-get install binutils tar gzip)" >&2; exit 1; }
done
[ "$XZ" = 0 ] || command -v xz >/dev/null || { echo "package.sh: 'xz' is missing (apt-get install xz-utils, or --no-xz)" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "package.sh: builds the linux-x86_64 tarball; this machine is $(uname -m)" >&2; exit 1; }

BUILD_PATH="${ZOO_STATIC_BUILD_PATH:-.build-static}"
started=$(date +%s)
# shellcheck disable=SC2016  # $ORIGIN is for the dynamic loader, not the shell
swift build -c release --static-swift-stdlib --build-path "$BUILD_PATH" --product zoo \
    -Xlinker --disable-new-dtags -Xlinker -rpath -Xlinker '$ORIGIN/../lib'
built=$(date +%s)
BIN="$BUILD_PATH/release/zoo"

version=$("$BIN" --version)
[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || { echo "package.sh: '$BIN --version' printed '$version', not a version" >&2; exit 1; }
name="zoo-$version-linux-x86_64"

# shellcheck source=scripts/elf-deps.sh
. scripts/elf-deps.sh

mkdir -p dist
stage=$(mktemp -d dist/.stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/lib" "$root/share/doc/zoo" "$root/share/doc/third-party"
# Debug sections out (tens of MB); the symbol table stays, so a crash's backtrace still names functions.
cp "$BIN" "$root/bin/zoo"
strip --strip-debug "$root/bin/zoo" 2>/dev/null || echo "package.sh: note: strip failed; bin/zoo keeps its debug sections" >&2
chmod 755 "$root/bin/zoo"
# SwiftPM resource bundles (Bundle.module looks beside the executable), if any target has resources.
for r in "$BUILD_PATH"/release/*.resources; do
    if [ -e "$r" ]; then cp -R "$r" "$root/bin/"; fi
done

# ldd prints the whole closure (the dependencies of dependencies too), each resolved on this machine.
bundled="$root/share/doc/zoo/BUNDLED-LIBRARIES.txt"
{
    echo "Shared libraries in lib/, copied from the build machine ($(. /etc/os-release && echo "$PRETTY_NAME"))."
    echo "Their licences: share/doc/third-party/PACKAGE.copyright."
    echo
    printf '%-28s %-26s %s\n' SONAME PACKAGE VERSION
} > "$bundled"
closure=$(ldd_closure "$BIN")
# shellcheck disable=SC2046  # one path per word
load_owners $(echo "$closure" | awk '$2 != "not" { print $2 }')
missing=""
while read -r soname path; do
    is_glibc_soname "$soname" && continue
    if [ "$path" = "not" ] || [ ! -e "$path" ]; then missing="$missing $soname"; continue; fi
    cp -L "$path" "$root/lib/$soname"
    chmod 644 "$root/lib/$soname"
    pkg=$(owner_of "$path" || echo "?")
    ver="?"
    if [ "$pkg" != "?" ]; then
        ver=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || echo "?")
        [ -f "/usr/share/doc/$pkg/copyright" ] && cp "/usr/share/doc/$pkg/copyright" "$root/share/doc/third-party/$pkg.copyright"
    fi
    printf '%-28s %-26s %s\n' "$soname" "$pkg" "$ver" >> "$bundled"
done <<< "$closure"
if [ -n "$missing" ]; then
    echo "package.sh: ldd cannot resolve:$missing; install the packages of scripts/debian-packages.txt" >&2
    exit 1
fi

# The newest glibc symbol version anything in the bundle asks for: the oldest glibc it runs on.
glibc=$(for f in "$root/bin/zoo" "$root"/lib/*; do readelf --dyn-syms -W "$f"; done \
    | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n1)
cp README.md CHANGELOG.md "$root/share/doc/zoo/"
cat > "$root/INSTALL.txt" <<EOF
zoo $version for x86-64 Linux with glibc $glibc or newer. No Swift needed.

Unpack anywhere and run bin/zoo (it finds its libraries in lib/ by itself; do not move bin/zoo away from
lib/, link to it instead):

  tar -xzf $name.tar.gz
  $name/bin/zoo demo                 # the whole tool offline, about a minute
  ln -s "\$PWD/$name/bin/zoo" ~/.local/bin/zoo

Downloads over https use the CA certificates at Debian's path (/etc/ssl/certs/ca-certificates.crt); on
other distributions pass --cacert FILE or set SSL_CERT_FILE (Fedora/RHEL: /etc/pki/tls/certs/ca-bundle.crt).
Documentation: share/doc/zoo/README.md. Bundled libraries and their licences: share/doc/zoo/BUNDLED-LIBRARIES.txt.
EOF

# Reproducible archives: sorted names, owner root, files dated from the last commit.
mtime=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
tar_args=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" -C "$stage" "$name")
tar -cf - "${tar_args[@]}" | gzip -n -9 > "dist/$name.tar.gz.incomplete"
mv -f "dist/$name.tar.gz.incomplete" "dist/$name.tar.gz"
outputs=("dist/$name.tar.gz")
if [ "$XZ" = 1 ]; then
    tar -cf - "${tar_args[@]}" | xz -9 -T1 > "dist/$name.tar.xz.incomplete"
    mv -f "dist/$name.tar.xz.incomplete" "dist/$name.tar.xz"
    outputs+=("dist/$name.tar.xz")
fi
(cd dist && sha256sum "${outputs[@]#dist/}" > "$name.sha256.incomplete" && mv -f "$name.sha256.incomplete" "$name.sha256")

done_at=$(date +%s)
echo "package.sh: static build $((built - started)) s, packaging $((done_at - built)) s"
echo "package.sh: $(ls "$root/lib" | wc -l) libraries bundled; needs glibc >= $glibc"
for o in "${outputs[@]}"; do echo "package.sh: $o $(stat -c %s "$o") bytes"; done
