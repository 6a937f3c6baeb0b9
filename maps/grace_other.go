//go:build !(linux && (amd64 || arm64))

package maps

func defaultGrace() GraceSource { return DefaultReaders }
