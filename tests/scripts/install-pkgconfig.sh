#!/bin/sh
# make install into a temporary DESTDIR installs the libraries (with their
# soname links), the header and samsa.pc; a program outside the tree builds
# against them with pkg-config, dynamically and statically, and runs.
set -e
B=${B:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
make -s install SANITIZE= BUILD="$tmp/build" PREFIX=/opt/samsa DESTDIR="$tmp/root" >/dev/null
root="$tmp/root/opt/samsa"
for f in lib/libsamsa.a lib/libsamsa.so lib/libsamsa.so.0 include/samsa.h lib/pkgconfig/samsa.pc \
    share/man/man3/samsa.3; do
    [ -e "$root/$f" ] || { echo "missing $f"; exit 1; }
done
[ "$(readlink "$root/lib/libsamsa.so")" = libsamsa.so.0 ] || { echo "bad libsamsa.so link"; exit 1; }
private=$(grep '^Libs.private:' "$root/lib/pkgconfig/samsa.pc")
for l in -lssl -lcrypto -lzstd -llz4 -lz; do
    echo " $private " | grep -q -- " $l " || { echo "Libs.private lacks $l"; exit 1; }
done

cat > "$tmp/hello.c" <<'C'
#include <samsa.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    printf("%s %s\n", samsa_version(), samsa_err_name(SAMSA_ERR_NOT_COORDINATOR));
    return strcmp(samsa_err_name(SAMSA_ERR_NOT_COORDINATOR), "NOT_COORDINATOR") != 0;
}
C
# pkg-config sees the DESTDIR tree through the sysroot-free path variables
export PKG_CONFIG_PATH="$root/lib/pkgconfig"
cflags=$(pkg-config --define-variable=prefix="$root" --define-variable=libdir="$root/lib" \
    --define-variable=includedir="$root/include" --cflags samsa)
libs=$(pkg-config --define-variable=prefix="$root" --define-variable=libdir="$root/lib" \
    --define-variable=includedir="$root/include" --libs samsa)
static_libs=$(pkg-config --define-variable=prefix="$root" --define-variable=libdir="$root/lib" \
    --define-variable=includedir="$root/include" --static --libs samsa)
cc $cflags -o "$tmp/hello" "$tmp/hello.c" $libs
LD_LIBRARY_PATH="$root/lib" "$tmp/hello"
cc $cflags -o "$tmp/hello-static" "$tmp/hello.c" -Wl,-Bstatic -lsamsa -Wl,-Bdynamic \
    $(echo "$static_libs" | sed 's/-lsamsa//') -L"$root/lib"
"$tmp/hello-static"
if ldd "$tmp/hello-static" | grep -q libsamsa; then
    echo "static build still links libsamsa.so"
    exit 1
fi
echo "installed, built and ran against the installed library (shared and static)"
