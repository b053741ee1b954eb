// Package wine runs the Windows agent, tollgate.exe, under Wine 8 as a workstation of a real
// Linux ledger. Its tests need Wine and build with the tag wine, so that the Linux test run
// leaves them to scripts/test-windows, which runs them:
//
//	sh ../shared/tools/wine-setup.sh && export WINEPREFIX=/tmp/wineprefix-tollgate
//	go test -tags wine -count=1 ./e2e/wine
//
// What made an earlier shell version of this test hang, and how this one avoids it:
//
//   - A Windows program started by another (`tollgate launch` starts the product) inherits its
//     standard output. Read through a pipe (`$(wine tollgate.exe launch ...)`, `| tr`), the
//     read ends only when the product exits: never. Every program here writes to files.
//   - Every wine process of a prefix shares one wineserver: another run's `wineserver -k`
//     ends this run's agent and products, and another run's agent decides (and may close)
//     this run's Revit.exe. scripts/test-windows holds a lock on the prefix; this test kills
//     only the processes it started, by the folder their command lines name.
//   - Wine lists a new process half-made for some hundred milliseconds (no name, then no
//     create time); the process source now leaves such entries for the next scan
//     (platform.TestSourceSeesWholeProcessesWindows).
//   - Wine's first pipe instance takes a client nobody serves: the first call times out
//     clearly after 10s, and every wait here is bounded and fails with what it saw.
package wine
