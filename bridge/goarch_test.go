package bridge

import "runtime"

const goarch = runtime.GOARCH
