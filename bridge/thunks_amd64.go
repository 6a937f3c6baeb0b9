//go:build linux

package bridge

import (
	"unsafe"

	as "github.com/bpfjit/bpfjit/bridge/internal/amd64asm"
)

func off(o uintptr) int32 { return int32(o) }

var (
	offGoSP      = off(unsafe.Offsetof(Context{}.goSP))
	offGoFP      = off(unsafe.Offsetof(Context{}.goFP))
	offNativeSP  = off(unsafe.Offsetof(Context{}.nativeSP))
	offStackTop  = off(unsafe.Offsetof(Context{}.stackTop))
	offGateFn    = off(unsafe.Offsetof(Context{}.gateFn))
	offHelperTab = off(unsafe.Offsetof(Context{}.helperTab))
	offHelperN   = off(unsafe.Offsetof(Context{}.helperN))
	offHelperID  = off(unsafe.Offsetof(Context{}.helperID))
	offArgs      = off(unsafe.Offsetof(Context{}.args))
	offStatus    = off(unsafe.Offsetof(Context{}.status))
	offExitCode  = off(unsafe.Offsetof(Context{}.exitCode))
	offRet       = off(unsafe.Offsetof(Context{}.ret))
)

// The registers a helper call preserves for JIT code (BPF R6..as.R10; r12, the
// context, is preserved by the gate itself).
var preserved = []as.Reg{as.RBX, as.RBP, as.R13, as.R14, as.R15}

var argRegs = []as.Reg{as.RDI, as.RSI, as.RDX, as.RCX, as.R8}

func emitThunks() ([]byte, thunkOffsets, error) {
	a := as.New()
	var o thunkOffsets

	// entry: CALLed by enter or runOwn with r12 = *Context, rax = code
	// address and the arguments already in rdi, rsi, rdx, rcx, r8 (the
	// callers load them from wherever they are cheapest to read). [rsp] is
	// the return address into the caller.
	// The caller records rbp in goFP itself if helpers may need it, and
	// rebuilds rbp from rsp afterwards: the entry thunk saves only rsp.
	o.entry = a.Len()
	a.Store(as.R12, offGoSP, as.RSP)
	a.Load(as.RSP, as.R12, offStackTop)
	a.CallReg(as.RAX)
	// A resume may have refreshed goSP: the goroutine stack can move while
	// a helper runs.
	a.Load(as.RSP, as.R12, offGoSP)
	a.Ret()
	a.Align(16)

	// gateEntry: CALLed by JIT code with r11 = helper id, rdi, rsi, rdx,
	// rcx, r8 = arguments, r12 = *Context. Moves the arguments into Go's
	// register ABI (rax, rbx, rcx, rdi, rsi; closure in rdx), parks the
	// native stack and jumps to gate on the goroutine stack, which now
	// looks exactly as if enter had called gate.
	o.gateEntry = a.Len()
	for _, r := range preserved {
		a.Push(r)
	}
	a.Store(as.R12, offHelperID, as.R11)
	a.CmpRM(as.R11, as.R12, offHelperN)
	a.Jcc(as.CondAE, "unknown")
	a.MovRR(as.RAX, as.RDI)
	a.MovRR(as.RBX, as.RSI)
	a.MovRR(as.R9, as.RCX)
	a.MovRR(as.RCX, as.RDX)
	a.MovRR(as.RDI, as.R9)
	a.MovRR(as.RSI, as.R8)
	a.Load(as.RDX, as.R12, offHelperTab)
	a.LoadIdx8(as.RDX, as.RDX, as.R11)
	a.TestRR(as.RDX, as.RDX)
	a.Jcc(as.CondE, "unknown")
	a.Store(as.R12, offNativeSP, as.RSP)
	a.Load(as.RSP, as.R12, offGoSP)
	a.Load(as.RBP, as.R12, offGoFP)
	a.JmpMem(as.R12, offGateFn)
	// unknown: no helper for the id. End the run without entering Go:
	// return from the image's outermost frame (its return address is the
	// top word of the native stack) with rax = 0 and the reason in the
	// Context, as if the image had returned; the native frames are
	// abandoned. Whoever called the image restores its own rsp and rbp.
	a.Label("unknown")
	a.StoreImm(as.R12, offStatus, statusUnknownHelper)
	a.Load(as.RSP, as.R12, offStackTop)
	a.SubImm(as.RSP, 8)
	a.XorRR(as.RAX, as.RAX)
	a.Ret()
	a.Align(16)

	// resume: gate jumps here with rax = result, r12 = *Context and
	// rsp/rbp = the goroutine stack, which may have moved.
	o.resume = a.Len()
	a.Store(as.R12, offGoSP, as.RSP)
	a.Store(as.R12, offGoFP, as.RBP)
	a.Load(as.RSP, as.R12, offNativeSP)
	for i := len(preserved) - 1; i >= 0; i-- {
		a.Pop(preserved[i])
	}
	a.Ret()
	a.Align(16)

	// exitEntry: the exit/re-enter baseline. Park the native state, record
	// the call in the Context and RET into whichever Go stub (enterER or
	// resumeER) last entered native code.
	o.exitEntry = a.Len()
	for _, r := range preserved {
		a.Push(r)
	}
	a.Store(as.R12, offHelperID, as.R11)
	for i, r := range argRegs {
		a.Store(as.R12, offArgs+int32(8*i), r)
	}
	a.LeaRIP(as.R11, "exit_resume")
	a.Push(as.R11)
	a.Store(as.R12, offNativeSP, as.RSP)
	a.StoreImm(as.R12, offExitCode, 1)
	a.Load(as.RSP, as.R12, offGoSP)
	a.Load(as.RBP, as.R12, offGoFP)
	a.Ret()
	a.Label("exit_resume") // resumeER RETs here with r12 = *Context
	a.Load(as.RAX, as.R12, offRet)
	for i := len(preserved) - 1; i >= 0; i-- {
		a.Pop(preserved[i])
	}
	a.Ret()
	a.Align(16)

	code, err := a.Finish()
	return code, o, err
}
