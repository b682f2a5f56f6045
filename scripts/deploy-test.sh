#!/usr/bin/env bash
# Checks deploy/ without a container engine or a cluster (scripts/test.sh runs it after scripts/package.sh):
# 1. deploy/runtime-packages.txt is exactly what the binary links: its library lines' sonames equal the
#    DT_NEEDED entries of the --static-swift-stdlib build minus glibc's (the libraries package libc6 owns), and
#    on a bookworm host (the image's base) its package names equal `dpkg -S` of those libraries; every library
#    ldd loads is in the Debian dependency closure of the list (so apt-get install of the list brings them all);
#    no Swift runtime library is linked.
# 2. deploy/Dockerfile builds with the Swift this repository is tested with (the major.minor of `swift
#    --version`, at least Package.swift's tools version), installs scripts/debian-packages.txt through
#    scripts/install-deps.sh, links --static-swift-stdlib, and runs on debian:bookworm-slim with the list's
#    packages (its own extraction command is run here on the list), as a non-root user, ENTRYPOINT zoo.
# 3. deploy/k8s/reproduce-indexed-job.yaml: completionMode Indexed, `--shards N` equal to `completions`,
#    parallelism <= completions, a CPU limit equal to its request, the volume claim of data-pvc.yaml, and
#    merge-job.yaml merging the folder the shards write (`-o`).
# Usage: scripts/deploy-test.sh [BINARY]   (default .build-static/release/zoo, which scripts/package.sh builds)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${1:-${ZOO_STATIC_BUILD_PATH:-.build-static}/release/zoo}"
LIST=deploy/runtime-packages.txt
DOCKERFILE=deploy/Dockerfile
JOB=deploy/k8s/reproduce-indexed-job.yaml
MERGE=deploy/k8s/merge-job.yaml
PVC=deploy/k8s/data-pvc.yaml

failures=0
fail() { echo "deploy-test: FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "deploy-test: ok: $*"; }

[ -x "$BIN" ] || { echo "deploy-test: no binary at $BIN: run scripts/package.sh first (or pass the binary)" >&2; exit 1; }
for f in "$LIST" "$DOCKERFILE" "$JOB" "$MERGE" "$PVC"; do [ -f "$f" ] || { echo "deploy-test: $f is missing" >&2; exit 1; }; done

# shellcheck source=scripts/elf-deps.sh
. scripts/elf-deps.sh

# ---- 1. the runtime package list against the binary ----------------------------------------------------
# The list: library lines (PACKAGE SONAME[,SONAME]) and data lines (PACKAGE data: ...).
list_pkgs=$(sed -e 's/#.*//' "$LIST" | awk 'NF && $2 != "data:" { print $1 }' | sort)
list_sonames=$(sed -e 's/#.*//' "$LIST" | awk 'NF && $2 != "data:" { n = split($2, s, ","); for (i = 1; i <= n; i++) print s[i] }' | sort)
all_pkgs=$(sed -e 's/#.*//' "$LIST" | awk 'NF { print $1 }' | sort)
[ -n "$list_pkgs" ] || fail "$LIST names no library package"
bad_lines=$(sed -e 's/#.*//' "$LIST" | awk 'NF && (NF < 2 || ($2 != "data:" && NF != 2))' || true)
[ -z "$bad_lines" ] || fail "$LIST: lines not of the form 'PACKAGE SONAMES' or 'PACKAGE data: WHY': $bad_lines"
dups=$(echo "$all_pkgs" | uniq -d)
[ -z "$dups" ] || fail "$LIST names these packages twice: $dups"

# ldd's resolution of every library (the whole closure), as "soname path".
ldd_map=$(ldd_closure "$BIN")
# shellcheck disable=SC2046  # one path per word
load_owners $(echo "$ldd_map" | awk '$2 != "not" { print $2 }')
notfound=$(echo "$ldd_map" | awk '$2 == "not" { print $1 }')
[ -z "$notfound" ] || fail "ldd cannot resolve $(echo $notfound) for $BIN"
path_of() { echo "$ldd_map" | awk -v s="$1" '$1 == s { print $2; exit }'; }

needed=$(readelf -d "$BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort)
swift_libs=$(echo "$needed" | grep -E '^(libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|libXCTest)' || true)
[ -z "$swift_libs" ] || fail "$BIN links the Swift runtime dynamically ($(echo $swift_libs)): build it with --static-swift-stdlib"

direct_sonames="" direct_pkgs="" glibc_sonames=""
for s in $needed; do
    p=$(path_of "$s")
    # ldd prints the loader itself without "=>" (ld-linux-x86-64.so.2): glibc's.
    if [ -z "$p" ] && is_glibc_soname "$s"; then glibc_sonames="$glibc_sonames $s"; continue; fi
    if [ -z "$p" ] || [ "$p" = "not" ]; then fail "needed library $s is not resolved by ldd"; continue; fi
    if ! pkg=$(owner_of "$p"); then fail "no Debian package owns $p ($s)"; continue; fi
    # The two rules agree: dpkg's libc6 here, the soname list of scripts/elf-deps.sh in package.sh.
    if [ "$pkg" = libc6 ] && ! is_glibc_soname "$s"; then fail "$s is glibc's (libc6) but is_glibc_soname does not know it: package.sh would bundle it"; fi
    if [ "$pkg" != libc6 ] && is_glibc_soname "$s"; then fail "is_glibc_soname takes $s for glibc's, but $pkg owns it"; fi
    if [ "$pkg" = libc6 ]; then glibc_sonames="$glibc_sonames $s"; continue; fi
    direct_sonames="$direct_sonames $s"
    direct_pkgs="$direct_pkgs $pkg"
done
direct_sonames=$(echo $direct_sonames | tr ' ' '\n' | sort -u)
direct_pkgs=$(echo $direct_pkgs | tr ' ' '\n' | sort -u)
echo "deploy-test: $BIN needs (beyond glibc:$glibc_sonames): $(echo $direct_sonames)"

if [ "$direct_sonames" = "$list_sonames" ]; then
    ok "the sonames of $LIST are the binary's DT_NEEDED beyond glibc"
else
    fail "sonames differ: linked but not listed: $(comm -23 <(echo "$direct_sonames") <(echo "$list_sonames") | xargs); listed but not linked: $(comm -13 <(echo "$direct_sonames") <(echo "$list_sonames") | xargs)"
fi
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-unknown}")
if [ "$codename" = bookworm ]; then
    if [ "$direct_pkgs" = "$list_pkgs" ]; then
        ok "the packages of $LIST are the binary's libraries' packages (dpkg -S)"
    else
        fail "packages differ: needed but not listed: $(comm -23 <(echo "$direct_pkgs") <(echo "$list_pkgs") | xargs); listed but not needed: $(comm -13 <(echo "$direct_pkgs") <(echo "$list_pkgs") | xargs)"
    fi
    # Each listed library line names the package that really owns its sonames.
    while read -r pkg sonames; do
        for s in ${sonames//,/ }; do
            p=$(path_of "$s"); [ -n "$p" ] || continue
            owner=$(owner_of "$p" || echo "?")
            [ "$owner" = "$pkg" ] || fail "$LIST says $s comes from $pkg; dpkg -S says $owner"
        done
    done < <(sed -e 's/#.*//' "$LIST" | awk 'NF && $2 != "data:" { print $1, $2 }')

    # The dependency closure of the list: Depends and Pre-Depends of installed packages, every alternative
    # (one dpkg-query for all of them).
    closure=" $(dpkg-query -W -f '${Package} ${Depends}, ${Pre-Depends}\n' | awk -v roots="$(echo $all_pkgs)" '
        { name = $1; $1 = ""; deps[name] = $0 }
        END {
            n = split(roots, queue, " "); head = 1
            while (head <= n) {
                p = queue[head++]; if (p in seen) continue; seen[p] = 1; printf "%s ", p
                m = split(deps[p], d, /[,|]/)
                for (i = 1; i <= m; i++) {
                    q = d[i]; sub(/\(.*\)/, "", q); sub(/:any/, "", q); gsub(/[[:space:]]/, "", q)
                    if (q != "" && !(q in seen)) queue[++n] = q
                }
            }
        }') "
    outside=""
    while read -r s p; do
        [ -n "$p" ] && [ "$p" != "not" ] || continue
        pkg=$(owner_of "$p" || echo "?")
        if [ "$pkg" = libc6 ]; then
            is_glibc_soname "$s" || fail "$s (loaded by a library) is glibc's but is_glibc_soname does not know it: package.sh would bundle it"
            continue
        fi
        case "$closure" in *" $pkg "*) ;; *) outside="$outside $s($pkg)" ;; esac
    done <<< "$ldd_map"
    if [ -z "$outside" ]; then
        ok "every library ldd loads ($(echo "$ldd_map" | wc -l)) is in the dependency closure of $LIST"
    else
        fail "libraries loaded but outside the dependency closure of $LIST:$outside"
    fi
    for pkg in $(sed -e 's/#.*//' "$LIST" | awk 'NF && $2 == "data:" { print $1 }'); do
        if command -v apt-cache >/dev/null && apt-cache show "$pkg" >/dev/null 2>&1; then :
        elif dpkg-query -W "$pkg" >/dev/null 2>&1; then :
        else fail "$LIST: '$pkg' is not a known package here"; fi
    done
else
    echo "deploy-test: note: this host is '$codename', not bookworm: package names not compared, sonames only"
fi

# ---- 2. the Dockerfile ----------------------------------------------------------------------------------
tools=$(sed -n '1s/.*swift-tools-version:[[:space:]]*\([0-9]*\.[0-9]*\).*/\1/p' Package.swift)
host_swift=$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9]*\.[0-9]*\).*/\1/p' | head -n1)
image=$(sed -n 's/^ARG SWIFT_IMAGE=\(.*\)$/\1/p' "$DOCKERFILE")
image_swift=$(echo "$image" | sed -n 's/^swift:\([0-9]*\.[0-9]*\)\(\.[0-9]*\)\{0,1\}-bookworm$/\1/p')
if [ -z "$image_swift" ]; then
    fail "$DOCKERFILE: ARG SWIFT_IMAGE='$image' is not an official swift:X.Y[.Z]-bookworm image"
else
    older() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -t. -k1,1n -k2,2n | head -n1)" = "$1" ] && [ "$1" != "$2" ]; }
    if [ -n "$tools" ] && older "$image_swift" "$tools"; then fail "$DOCKERFILE builds with Swift $image_swift, Package.swift needs $tools"; fi
    if [ -n "$host_swift" ] && [ "$image_swift" != "$host_swift" ]; then
        fail "$DOCKERFILE builds with Swift $image_swift but this repository is tested with $host_swift: update ARG SWIFT_IMAGE"
    else
        ok "$DOCKERFILE builds with $image (Package.swift: tools $tools; tested with ${host_swift:-?})"
    fi
fi
grep -Eq '^FROM \$\{SWIFT_IMAGE\} AS build$' "$DOCKERFILE" || fail "$DOCKERFILE: no build stage 'FROM \${SWIFT_IMAGE} AS build'"
grep -q 'scripts/debian-packages.txt' "$DOCKERFILE" && grep -q 'RUN scripts/install-deps.sh' "$DOCKERFILE" \
    || fail "$DOCKERFILE: the build stage must install scripts/debian-packages.txt with scripts/install-deps.sh"
grep -Eq 'swift build -c release --static-swift-stdlib' "$DOCKERFILE" || fail "$DOCKERFILE: no 'swift build -c release --static-swift-stdlib'"
last_from=$(grep -E '^FROM ' "$DOCKERFILE" | tail -n1)
[ "$last_from" = "FROM debian:bookworm-slim" ] || fail "$DOCKERFILE: the run stage is '$last_from', not 'FROM debian:bookworm-slim'"
run_stage=$(awk '/^FROM /{ buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$DOCKERFILE")
echo "$run_stage" | grep -q 'COPY deploy/runtime-packages.txt' || fail "$DOCKERFILE: the run stage does not copy $LIST"
# The run stage's apt-get install: only the list (the command substitution), nothing spelled out beside it.
extract=$(echo "$run_stage" | grep -o "\$(sed -e 's/#\.\*//' /tmp/runtime-packages.txt | awk 'NF { print \$1 }')" || true)
if [ -z "$extract" ]; then
    fail "$DOCKERFILE: the run stage does not install \$(sed -e 's/#.*//' /tmp/runtime-packages.txt | awk 'NF { print \$1 }')"
else
    got=$(sed -e 's/#.*//' "$LIST" | awk 'NF { print $1 }' | sort)
    [ "$got" = "$all_pkgs" ] || fail "the Dockerfile's extraction gives '$(echo $got)', the list holds '$(echo $all_pkgs)'"
    install_line=$(echo "$run_stage" | tr '\n' ' ' | sed 's/\\ */ /g' | grep -o 'apt-get install [^&]*' | head -n1)
    extra=$(echo "$install_line" | sed "s/\$(.*)//" | tr ' ' '\n' | grep -Ev '^(apt-get|install|-y|--no-install-recommends|)$' || true)
    if [ -n "$extra" ]; then fail "$DOCKERFILE installs packages beside the list: $(echo $extra)"
    else ok "$DOCKERFILE's run stage installs exactly the $(echo "$all_pkgs" | wc -l) packages of $LIST"; fi
fi
user=$(echo "$run_stage" | sed -n 's/^USER \(.*\)$/\1/p' | tail -n1)
case "${user%%:*}" in
    ""|0|root) fail "$DOCKERFILE: the run stage must end as a non-root USER (got '${user:-none}')" ;;
    *) ok "$DOCKERFILE runs as USER $user" ;;
esac
grep -Eq '^ENTRYPOINT \["zoo"\]$' "$DOCKERFILE" || fail "$DOCKERFILE: no ENTRYPOINT [\"zoo\"]"

# ---- 3. the Kubernetes manifests ------------------------------------------------------------------------
# Values of `key: value` lines (comments dropped); the manifests are written one key per line for this.
values() { sed -e 's/#.*//' "$2" | sed -n "s/^[[:space:]]*$1:[[:space:]]*\"\{0,1\}\([^\"[:space:]]*\)\"\{0,1\}[[:space:]]*\$/\1/p"; }
# The container args, one per line, from either a block list (- item) or a flow list ([a, "b"]).
args_of() {
    sed -e 's/#.*//' "$1" | awk '
        /^[[:space:]]*args:[[:space:]]*\[/ { sub(/^[^[]*\[/, ""); sub(/\][[:space:]]*$/, ""); n = split($0, a, ","); for (i = 1; i <= n; i++) { gsub(/^[[:space:]]*"?|"?[[:space:]]*$/, "", a[i]); print a[i] } ; next }
        /^[[:space:]]*args:[[:space:]]*$/ { inargs = 1; next }
        inargs && /^[[:space:]]*- / { v = $0; sub(/^[[:space:]]*- /, "", v); gsub(/^"|"[[:space:]]*$/, "", v); sub(/[[:space:]]*$/, "", v); print v; next }
        inargs { inargs = 0 }'
}
arg_after() { echo "$1" | awk -v k="$2" 'found { print; exit } $0 == k { found = 1 } index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }'; }

mode=$(values completionMode "$JOB"); completions=$(values completions "$JOB"); parallelism=$(values parallelism "$JOB")
args=$(args_of "$JOB")
shards=$(arg_after "$args" --shards)
out=$(arg_after "$args" -o); [ -n "$out" ] || out=$(arg_after "$args" --output)
[ "$mode" = Indexed ] || fail "$JOB: completionMode is '$mode', not Indexed"
[ "$(echo "$args" | head -n1)" = reproduce ] || fail "$JOB: the container does not run 'zoo reproduce' (args: $(echo $args))"
if ! [[ "$completions" =~ ^[0-9]+$ ]] || ! [[ "$shards" =~ ^[0-9]+$ ]]; then
    fail "$JOB: cannot read one completions ('$completions') and one --shards ('$shards')"
elif [ "$completions" != "$shards" ]; then
    fail "$JOB: --shards $shards but completions $completions: they must be equal"
else
    ok "$JOB: --shards $shards equals completions $completions (completionMode Indexed)"
fi
echo "$args" | grep -qx -- '--shard' && fail "$JOB: --shard I/N fixes one shard for every index; use --shards N"
if [[ "$parallelism" =~ ^[0-9]+$ ]] && [[ "$completions" =~ ^[0-9]+$ ]]; then
    [ "$parallelism" -ge 1 ] && [ "$parallelism" -le "$completions" ] || fail "$JOB: parallelism $parallelism is outside 1...$completions"
else
    fail "$JOB: no parallelism"
fi
limits_cpu=$(sed -e 's/#.*//' "$JOB" | sed -n 's/^[[:space:]]*limits:.*cpu:[[:space:]]*"\{0,1\}\([0-9.m]*\)"\{0,1\}.*/\1/p')
requests_cpu=$(sed -e 's/#.*//' "$JOB" | sed -n 's/^[[:space:]]*requests:.*cpu:[[:space:]]*"\{0,1\}\([0-9.m]*\)"\{0,1\}.*/\1/p')
if [ -z "$limits_cpu" ]; then fail "$JOB: no CPU limit (it sets zoo's thread count)"
elif [ "$limits_cpu" != "$requests_cpu" ]; then fail "$JOB: CPU request '$requests_cpu' differs from the limit '$limits_cpu'"
else ok "$JOB: CPU limit $limits_cpu (= request)"; fi
pvc=$(values name "$PVC" | head -n1)
for f in "$JOB" "$MERGE"; do
    claim=$(values claimName "$f")
    [ -n "$claim" ] && [ "$claim" = "$pvc" ] || fail "$f mounts claim '$claim', $PVC defines '$pvc'"
done
margs=$(args_of "$MERGE")
[ "$(echo "$margs" | head -n1)" = merge ] || fail "$MERGE does not run 'zoo merge'"
merge_in=$(echo "$margs" | sed -n 2p)
if [ -n "$out" ] && [ "$merge_in" = "$out" ]; then ok "$MERGE merges $out, where the shards write"
else fail "$MERGE merges '$merge_in' but the shards write to '$out'"; fi

if [ "$failures" -gt 0 ]; then
    echo "deploy-test: $failures check(s) failed" >&2
    exit 1
fi
echo "deploy-test: all checks passed"
