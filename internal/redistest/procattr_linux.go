package redistest

import "syscall"

// sysProcAttr has the kernel kill a server when the test binary dies
// without running its cleanups (a panic, a -timeout), so that no
// redis-server outlives its tests.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
