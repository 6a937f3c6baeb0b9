package ebpfimport

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

const seccompChildEnv = "BPFJIT_EBPFIMPORT_SECCOMP_CHILD"

// Importing must never reach the kernel's BPF subsystem. The test re-runs itself in a
// child process whose seccomp filter kills it on any bpf() system call, then imports
// every object there; the child has to exit normally and report success.
func TestImportMakesNoBPFSyscall(t *testing.T) {
	if os.Getenv(seccompChildEnv) == "1" {
		seccompChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportMakesNoBPFSyscall$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), seccompChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		// Under qemu-user without binfmt the test binary cannot start itself.
		t.Skipf("cannot re-run the test binary: %v", err)
	}
	if strings.Contains(string(out), "SKIP: seccomp unavailable") {
		t.Skip("seccomp is not available here (for example under qemu-user)")
	}
	if err != nil || !strings.Contains(string(out), "imported all objects under seccomp") {
		t.Fatalf("child failed (killed by seccomp means a bpf() call): %v\n%s", err, out)
	}
}

func seccompChild(t *testing.T) {
	var nrBPF uint32
	switch runtime.GOARCH {
	case "amd64":
		nrBPF = 321
	case "arm64":
		nrBPF = 280
	default:
		t.Skip("SKIP: seccomp unavailable: no syscall number for", runtime.GOARCH)
	}
	// Classic BPF: kill the process on bpf(), allow everything else.
	filter := []unix.SockFilter{
		{Code: 0x20, K: 0},                             // ld [0]: syscall number
		{Code: 0x15, Jt: 0, Jf: 1, K: nrBPF},           // jeq #bpf
		{Code: 0x06, K: unix.SECCOMP_RET_KILL_PROCESS}, // ret kill
		{Code: 0x06, K: unix.SECCOMP_RET_ALLOW},        // ret allow
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		t.Skip("SKIP: seccomp unavailable:", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		t.Skip("SKIP: seccomp unavailable:", errno)
	}
	objects := map[string]string{
		"csum.o": "csum", "maps.o": "count", "calls.o": "calls", "calls_nobtf.o": "calls",
		"global_func.o": "global_entry", "v4ops.o": "v4ops",
	}
	for obj, prog := range objects {
		if _, err := FromELFFile(filepath.Join(elfDir, obj), prog); err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
	}
	t.Log("imported all objects under seccomp")
}
