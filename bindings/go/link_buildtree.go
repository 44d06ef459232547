//go:build !samsa_pkgconfig

package samsa

// Links against the library of this source tree (make builds build/lib);
// the rpath lets tests and programs run without LD_LIBRARY_PATH.
// CGO_CFLAGS/CGO_LDFLAGS placed in the environment come first, so
// "CGO_LDFLAGS=-L/other/build/lib -Wl,-rpath,/other/build/lib" selects
// another build directory.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../build/lib -Wl,-rpath,${SRCDIR}/../../build/lib -lsamsa
import "C"
