//go:build linux && (amd64 || arm64)

package maps

import "github.com/bpfjit/bpfjit/bridge"

// RawHelpers returns the map helpers by id, ready for bpfjit.WithHelpers (merge in the
// host's own).
func RawHelpers() map[int32]bridge.Helper {
	return map[int32]bridge.Helper{
		HelperMapLookupElem: MapLookupElem,
		HelperMapUpdateElem: MapUpdateElem,
		HelperMapDeleteElem: MapDeleteElem,
	}
}
