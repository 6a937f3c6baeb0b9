package bridge

import (
	"unsafe"

	. "github.com/bpfjit/bpfjit/bridge/internal/amd64asm" //nolint:revive // register names read best unqualified
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
	offUnknownFV = off(unsafe.Offsetof(Context{}.unknownFV))
	offExitCode  = off(unsafe.Offsetof(Context{}.exitCode))
	offRet       = off(unsafe.Offsetof(Context{}.ret))
)

// The registers a helper call preserves for JIT code (BPF R6..R10; r12, the
// context, is preserved by the gate itself).
var preserved = []Reg{RBX, RBP, R13, R14, R15}

var argRegs = []Reg{RDI, RSI, RDX, RCX, R8}

func emitThunks() ([]byte, thunkOffsets, error) {
	a := New()
	var o thunkOffsets

	// entry: CALLed by enter with rdi = *Context, rax = code address.
	// [rsp] is the return address into enter.
	o.entry = a.Len()
	a.Store(RDI, offGoSP, RSP)
	a.Store(RDI, offGoFP, RBP)
	a.Load(RSP, RDI, offStackTop)
	a.MovRR(R12, RDI)
	for i := len(argRegs) - 1; i >= 0; i-- { // rdi last: it holds the context
		a.Load(argRegs[i], R12, offArgs+int32(8*i))
	}
	a.CallReg(RAX)
	// A resume may have refreshed goSP/goFP: the goroutine stack can move
	// while a helper runs.
	a.Load(RSP, R12, offGoSP)
	a.Load(RBP, R12, offGoFP)
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
	a.Store(R12, offHelperID, R11)
	a.CmpRM(R11, R12, offHelperN)
	a.Jcc(CondAE, "unknown")
	a.MovRR(RAX, RDI)
	a.MovRR(RBX, RSI)
	a.MovRR(R9, RCX)
	a.MovRR(RCX, RDX)
	a.MovRR(RDI, R9)
	a.MovRR(RSI, R8)
	a.Load(RDX, R12, offHelperTab)
	a.LoadIdx8(RDX, RDX, R11)
	a.Label("switch")
	a.Store(R12, offNativeSP, RSP)
	a.Load(RSP, R12, offGoSP)
	a.Load(RBP, R12, offGoFP)
	a.JmpMem(R12, offGateFn)
	a.Label("unknown")
	a.Load(RDX, R12, offUnknownFV)
	a.Jmp("switch")
	a.Align(16)

	// resume: gate jumps here with rax = result, r12 = *Context and
	// rsp/rbp = the goroutine stack, which may have moved.
	o.resume = a.Len()
	a.Store(R12, offGoSP, RSP)
	a.Store(R12, offGoFP, RBP)
	a.Load(RSP, R12, offNativeSP)
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
	a.Store(R12, offHelperID, R11)
	for i, r := range argRegs {
		a.Store(R12, offArgs+int32(8*i), r)
	}
	a.LeaRIP(R11, "exit_resume")
	a.Push(R11)
	a.Store(R12, offNativeSP, RSP)
	a.StoreImm(R12, offExitCode, 1)
	a.Load(RSP, R12, offGoSP)
	a.Load(RBP, R12, offGoFP)
	a.Ret()
	a.Label("exit_resume") // resumeER RETs here with r12 = *Context
	a.Load(RAX, R12, offRet)
	for i := len(preserved) - 1; i >= 0; i-- {
		a.Pop(preserved[i])
	}
	a.Ret()
	a.Align(16)

	code, err := a.Finish()
	return code, o, err
}
