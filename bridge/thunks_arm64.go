//go:build linux

package bridge

import (
	"unsafe"

	as "github.com/bpfjit/bpfjit/bridge/internal/arm64asm"
)

func off(o uintptr) int32 { return int32(o) }

var (
	offGoSP      = off(unsafe.Offsetof(Context{}.goSP))
	offGoFP      = off(unsafe.Offsetof(Context{}.goFP))
	offGoLR      = off(unsafe.Offsetof(Context{}.goLR))
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

const (
	xCtx  as.Reg = 23 // context register for the whole run
	xID   as.Reg = 9  // helper id at a call site
	xTmp  as.Reg = 16 // IP0: scratch in thunks
	xTmp2 as.Reg = 17
	xFn   as.Reg = 26 // Go's closure-context register
	xCode as.Reg = 9  // code address handed to the entry thunk
)

// savePreserved pushes what a helper call preserves for JIT code: x19..x22,
// x24, x25 (BPF R6..R10 and a spare), x29 and the JIT's return address x30.
// (x23 is kept by the gate; Go's ABI treats all of x19..x27 as scratch.)
func savePreserved(a *as.Asm) {
	a.StpPre(19, 20, as.SP, -64)
	a.Stp(21, 22, as.SP, 16)
	a.Stp(24, 25, as.SP, 32)
	a.Stp(as.FP, as.LR, as.SP, 48)
}

func restorePreserved(a *as.Asm) {
	a.Ldp(21, 22, as.SP, 16)
	a.Ldp(24, 25, as.SP, 32)
	a.Ldp(as.FP, as.LR, as.SP, 48)
	a.LdpPost(19, 20, as.SP, 64)
}

// switchToGo parks the native SP and makes SP, FP and LR what they were
// when enter called the entry thunk, so the goroutine stack looks as if
// enter had called gate. x28 (g) and x18 are never touched.
func switchToGo(a *as.Asm) {
	a.MovSP(xTmp, as.SP)
	a.Str(xTmp, xCtx, offNativeSP)
	a.Ldr(xTmp, xCtx, offGoSP)
	a.MovSP(as.SP, xTmp)
	a.Ldr(as.FP, xCtx, offGoFP)
	a.Ldr(as.LR, xCtx, offGoLR)
}

func emitThunks() ([]byte, thunkOffsets, error) {
	a := as.New()
	var o thunkOffsets

	// entry: called by enter or runOwn with x23 = *Context, x9 = code
	// address, the arguments already in x0..x4 (the callers load them from
	// wherever they are cheapest to read) and x30 = return address into
	// the caller.
	// The caller records x29 in goFP itself if helpers may need it, and
	// rebuilds x29 from sp afterwards: the entry thunk saves sp and lr.
	o.entry = a.Len()
	a.MovSP(xTmp, as.SP)
	a.Str(xTmp, xCtx, offGoSP)
	a.Str(as.LR, xCtx, offGoLR)
	a.Ldr(xTmp, xCtx, offStackTop)
	a.MovSP(as.SP, xTmp)
	a.Blr(xCode)
	// A resume may have refreshed goSP: the goroutine stack can move while
	// a helper runs.
	a.Ldr(xTmp, xCtx, offGoSP)
	a.MovSP(as.SP, xTmp)
	a.Ldr(as.LR, xCtx, offGoLR)
	a.Ret()
	a.Align(16)

	// gateEntry: called by JIT code with x9 = helper id, x0..x4 =
	// arguments (already Go's argument registers), x23 = *Context.
	o.gateEntry = a.Len()
	savePreserved(a)
	a.Str(xID, xCtx, offHelperID)
	a.Ldr(xTmp, xCtx, offHelperN)
	a.CmpReg(xID, xTmp)
	a.Bcond(as.HS, "unknown")
	a.Ldr(xFn, xCtx, offHelperTab)
	a.LdrIdx8(xFn, xFn, xID)
	a.Cbz(xFn, "unknown")
	switchToGo(a)
	a.Ldr(xTmp, xCtx, offGateFn)
	a.Br(xTmp)
	// unknown: no helper for the id. End the run without entering Go:
	// return straight into enter (as the entry thunk would) with x0 = 0 and
	// the reason in the Context; the native frames are abandoned.
	a.Label("unknown")
	a.Movz(xTmp, statusUnknownHelper)
	a.Str(xTmp, xCtx, offStatus)
	a.Ldr(xTmp, xCtx, offGoSP)
	a.MovSP(as.SP, xTmp)
	a.Ldr(as.FP, xCtx, offGoFP)
	a.Ldr(as.LR, xCtx, offGoLR)
	a.Movz(0, 0)
	a.Ret()
	a.Align(16)

	// resume: gate jumps here with x0 = result, x23 = *Context and SP/FP =
	// the goroutine stack, which may have moved.
	o.resume = a.Len()
	a.MovSP(xTmp, as.SP)
	a.Str(xTmp, xCtx, offGoSP)
	a.Str(as.FP, xCtx, offGoFP)
	a.Ldr(xTmp, xCtx, offNativeSP)
	a.MovSP(as.SP, xTmp)
	restorePreserved(a)
	a.Ret()
	a.Align(16)

	// exitEntry: the exit/re-enter baseline: park the native state, record
	// the call and return into whichever Go stub last entered native code.
	o.exitEntry = a.Len()
	savePreserved(a)
	a.Str(xID, xCtx, offHelperID)
	a.Stp(0, 1, xCtx, offArgs)
	a.Stp(2, 3, xCtx, offArgs+16)
	a.Str(4, xCtx, offArgs+32)
	a.Adr(xTmp, "exit_resume")
	a.StpPre(xTmp, as.XZR, as.SP, -16) // resumeER pops this and jumps to it
	a.Movz(xTmp2, 1)
	a.Str(xTmp2, xCtx, offExitCode)
	switchToGo(a)
	a.Ret()
	a.Label("exit_resume")
	a.Ldr(0, xCtx, offRet)
	restorePreserved(a)
	a.Ret()
	a.Align(16)

	code, err := a.Finish()
	return code, o, err
}
