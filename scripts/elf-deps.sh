# Shared by scripts/package.sh and scripts/deploy-test.sh (sourced, bash): which shared libraries a binary
# loads and which Debian packages own them, with one dpkg call for all of them (dpkg -S is slow per file).

# "soname path" for every library ldd loads (the whole closure); path "not" when ldd cannot find it.
ldd_closure() { ldd "$1" | awk '$2 == "=>" { print $1, $3 }'; }

# glibc's own libraries, which every Linux has (and which must match its ld.so): never bundled, never listed.
is_glibc_soname() {
    case "$1" in
        ld-linux*.so.*|libc.so.*|libm.so.*|libmvec.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*) return 0 ;;
        libutil.so.*|libanl.so.*|libnsl.so.*|libnss_*|libBrokenLocale.so.*|libthread_db.so.*|libc_malloc_debug.so.*) return 0 ;;
        linux-vdso.so.*|linux-gate.so.*) return 0 ;;
    esac
    return 1
}

# The spellings dpkg may know a library file by: as ldd found it, resolved, and each with or without /usr
# (usrmerge: /lib is /usr/lib, but dpkg's database keeps the path the package shipped).
owner_candidates() {
    local p real
    real=$(readlink -f "$1" 2>/dev/null || echo "$1")
    for p in "$1" "$real" "$(dirname "$1")/$(basename "$real")"; do
        echo "$p"; echo "${p#/usr}"; echo "/usr$p"
    done | awk '!seen[$0]++'
}

# Fills the associative array DEB_OWNER (path -> package) for the given library paths, in one dpkg -S call.
declare -gA DEB_OWNER=()
load_owners() {
    local all=() p line pkgs path
    for p in "$@"; do
        [ -e "$p" ] || continue
        while read -r c; do all+=("$c"); done < <(owner_candidates "$p")
    done
    [ "${#all[@]}" -gt 0 ] || return 0
    while IFS= read -r line; do
        pkgs=${line%%: /*}; path=${line#*: }
        DEB_OWNER["$path"]=${pkgs%%,*}
        DEB_OWNER["$path"]=${DEB_OWNER["$path"]%%:*}
    done < <(dpkg -S "${all[@]}" 2>/dev/null | grep -E '^[^ ]+(, [^ ]+)*: /' || true)
}

# The package owning a library file (after load_owners), or nothing and status 1.
owner_of() {
    local c
    while read -r c; do
        if [ -n "${DEB_OWNER[$c]:-}" ]; then echo "${DEB_OWNER[$c]}"; return 0; fi
    done < <(owner_candidates "$1")
    return 1
}
