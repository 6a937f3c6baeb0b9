package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/internal/progsrc"
	"github.com/bpfjit/bpfjit/verifier"
)

// cmdDump prints each BPF instruction followed by the native instructions it became. The
// code is compiled, never loaded, so any architecture can be dumped on any host.
func cmdDump(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dump", flag.ContinueOnError)
	arch := fs.String("arch", runtime.GOARCH, "target architecture: "+strings.Join(bpfjit.Archs(), ", "))
	section := fs.String("section", "", "ELF section or program name")
	blinding := fs.Bool("blinding", false, "constant blinding (random keys: every dump differs)")
	unverified := fs.Bool("unverified", false, "skip the verifier (frames get the full 512-byte stack)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneArg(pos, "PROGRAM")
	if err != nil {
		return err
	}
	// Checked before reading the program, so that a typo is reported as such.
	if !slices.Contains(bpfjit.Archs(), *arch) {
		return fmt.Errorf("%w: --arch %q: want one of %s", errUsage, *arch, strings.Join(bpfjit.Archs(), ", "))
	}
	src, err := progsrc.LoadFile(path, progsrc.KindAuto, *section)
	if err != nil {
		return err
	}
	opts := []bpfjit.Option{bpfjit.WithVerifier(verifier.Options{MinMem: len(src.Mem)})}
	if *unverified {
		opts = append(opts, bpfjit.Unverified())
	}
	if *blinding {
		opts = append(opts, bpfjit.WithConstantBlinding())
	}
	l, err := bpfjit.Compile(src.Program, *arch, opts...)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	fmt.Fprintf(w, "# %s for %s: %d BPF slots, %d bytes of native code\n", path, l.Arch(), len(src.Program.Insns), len(l.Native()))
	if err := l.Dump(w); err != nil {
		return err
	}
	return w.Flush()
}
