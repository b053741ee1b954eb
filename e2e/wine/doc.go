// Package wine runs the Windows agent, tollgate.exe, under Wine 8 as a workstation of a real
// Linux ledger. Its tests need Wine and build with the tag wine, so that the Linux test run
// leaves them to scripts/test-windows, which runs them:
//
//	sh ../shared/tools/wine-setup.sh && export WINEPREFIX=/tmp/wineprefix-tollgate
//	go test -tags wine -count=1 ./e2e/wine
package wine
