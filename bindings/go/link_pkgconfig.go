//go:build samsa_pkgconfig

package samsa

// Links against an installed libsamsa found by pkg-config (samsa.pc); build
// with -tags samsa_pkgconfig.

// #cgo pkg-config: samsa
import "C"
