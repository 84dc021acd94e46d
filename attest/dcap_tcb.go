package attest

import (
	"fmt"

	"github.com/google/go-tdx-guest/pcs"
)

// evaluateTCB rates an authenticated quote against the TCB info and the QE
// TCB level, following Intel's QVL (TcbLevelCheck, TdxModuleCheck,
// TDRelaunchCheck; "4.1.2.4.17"):
//
//   - the platform TCB level is the first level (in the signed, descending
//     order of the TCB info) whose 16 SGX component SVNs and PCESVN are all
//     at or below the PCK certificate's; for TDX the level must also be at or
//     below the TD report's TEE_TCB_SVN (bytes 0 and 1 are skipped when the
//     TDX module major version, byte 1, is non-zero: the module identity
//     rates them instead);
//   - for TDX the module's TCB level (tdxModuleIdentities "TDX_<major>",
//     first level with isvsvn at or below byte 0) is merged in, then the TD
//     1.5 relaunch rule applies, then the QE's TCB level is merged in;
//   - advisory IDs are the union of the matched levels' advisories
//     (platform, TDX module, QE), in that order, without duplicates.
//
// No matching level anywhere yields ErrTCBLevelNotFound (Intel's
// "TCB not supported"): the evidence is authentic but cannot be rated.
func evaluateTCB(q *dcapQuote, ti *pcs.TcbInfo, ext *pckInfo, qeLevel *pcs.TcbLevel) (TCBStatus, []string, error) {
	isTDX := q.td != nil
	var sgxLevel, tdxLevel *pcs.TcbLevel
	for i := range ti.TcbLevels {
		l := &ti.TcbLevels[i]
		if len(l.Tcb.SgxTcbcomponents) != 16 {
			return "", nil, fmt.Errorf("%w: TCB level %d has %d SGX components, want 16", ErrCollateralFormat, i, len(l.Tcb.SgxTcbcomponents))
		}
		if !sgxComponentsCovered(ext, l) {
			continue
		}
		if !isTDX {
			sgxLevel = l
			break
		}
		if sgxLevel == nil {
			sgxLevel = l
		}
		if len(l.Tcb.TdxTcbcomponents) != 16 {
			return "", nil, fmt.Errorf("%w: TCB level %d has %d TDX components, want 16", ErrCollateralFormat, i, len(l.Tcb.TdxTcbcomponents))
		}
		if tdxComponentsCovered(q.td.teeTCBSVN, l) {
			tdxLevel = l
			break
		}
	}
	if sgxLevel == nil {
		return "", nil, fmt.Errorf("%w: the PCK certificate's SGX TCB (components %v, PCESVN %d) is not at or above any TCB level of FMSPC %s "+
			"(Intel: TCB not supported; the platform needs a microcode/BIOS update)", ErrTCBLevelNotFound, ext.comps, ext.pceSVN, ti.Fmspc)
	}
	if qeLevel == nil {
		return "", nil, fmt.Errorf("%w: no QE identity TCB level covers the QE's ISVSVN %d", ErrTCBLevelNotFound, q.qeReport.isvSVN)
	}
	qeStatus := TCBStatus(qeLevel.TcbStatus)
	sgxStatus := TCBStatus(sgxLevel.TcbStatus)

	if !isTDX {
		return convergeQE(sgxStatus, qeStatus), mergeAdvisories(sgxLevel, qeLevel), nil
	}

	if tdxLevel == nil {
		return "", nil, fmt.Errorf("%w: the TD's TEE_TCB_SVN %x is not at or above any TCB level of FMSPC %s (Intel: TCB not supported)",
			ErrTCBLevelNotFound, q.td.teeTCBSVN[:], ti.Fmspc)
	}
	moduleStatus := TCBUpToDate
	var moduleLevel *pcs.TcbLevel
	if major, minor := q.td.teeTCBSVN[1], q.td.teeTCBSVN[0]; !(q.version > 3 && major == 0) {
		id := findTDXModuleIdentity(ti, major)
		if id == nil {
			return "", nil, fmt.Errorf("%w: no TDX module identity TDX_%02X in the TCB info", ErrTDXModuleMismatch, major)
		}
		for i := range id.TcbLevels {
			if uint32(minor) >= id.TcbLevels[i].Tcb.Isvsvn {
				moduleLevel = &id.TcbLevels[i]
				break
			}
		}
		if moduleLevel == nil {
			return "", nil, fmt.Errorf("%w: no TCB level of TDX module identity %s covers module SVN %d", ErrTCBLevelNotFound, id.ID, minor)
		}
		moduleStatus = TCBStatus(moduleLevel.TcbStatus)
	}
	status := convergeModule(TCBStatus(tdxLevel.TcbStatus), moduleStatus)
	advisories := mergeAdvisories(tdxLevel, moduleLevel, qeLevel)
	if status == TCBRevoked {
		return status, advisories, nil
	}
	if q.td.td15 {
		var err error
		status, err = checkRelaunch(ti, q.td.teeTCBSVN2, sgxStatus, status, moduleStatus, qeStatus)
		if err != nil {
			return "", nil, err
		}
	}
	return convergeQE(status, qeStatus), advisories, nil
}

func sgxComponentsCovered(ext *pckInfo, l *pcs.TcbLevel) bool {
	for i, c := range l.Tcb.SgxTcbcomponents {
		if ext.comps[i] < c.Svn {
			return false
		}
	}
	return ext.pceSVN >= l.Tcb.Pcesvn
}

func tdxComponentsCovered(teeTCBSVN [16]byte, l *pcs.TcbLevel) bool {
	start := 0
	if teeTCBSVN[1] > 0 {
		start = 2
	}
	for i := start; i < 16; i++ {
		if teeTCBSVN[i] < l.Tcb.TdxTcbcomponents[i].Svn {
			return false
		}
	}
	return true
}

// convergeQE merges the QE's TCB status into the platform's
// (convergeTcbStatusWithQeTcbStatus): an out-of-date QE makes an otherwise
// current platform out of date; a revoked QE revokes.
func convergeQE(platform, qe TCBStatus) TCBStatus {
	switch qe {
	case TCBRevoked:
		return TCBRevoked
	case TCBUpToDate:
		return platform
	}
	// Any other QE status counts as out of date.
	switch platform {
	case TCBUpToDate, TCBSWHardeningNeeded:
		return TCBOutOfDate
	case TCBConfigurationNeeded, TCBConfigurationAndSWHardeningNeeded:
		return TCBOutOfDateConfigurationNeeded
	}
	return platform
}

// convergeModule merges the TDX module's TCB status into the TDX TCB level's
// (convergeTcbStatusWithTdxModuleStatus).
func convergeModule(level, module TCBStatus) TCBStatus {
	switch module {
	case TCBRevoked:
		return TCBRevoked
	case TCBOutOfDate:
		switch level {
		case TCBUpToDate, TCBSWHardeningNeeded:
			return TCBOutOfDate
		case TCBConfigurationNeeded, TCBConfigurationAndSWHardeningNeeded:
			return TCBOutOfDateConfigurationNeeded
		}
	}
	return level
}

func isConfigurationNeeded(s TCBStatus) bool {
	switch s {
	case TCBConfigurationNeeded, TCBOutOfDateConfigurationNeeded,
		TCBConfigurationAndSWHardeningNeeded, TCBTDRelaunchAdvisedConfigurationNeeded:
		return true
	}
	return false
}

// checkRelaunch implements Intel's TD 1.5 rule (TDRelaunchCheck): a TD whose
// TCB is out of date only because of its TDX module, on a platform that has
// since been updated (TEE_TCB_SVN2 reflects the current module and
// microcode), only needs to be relaunched to pick the update up.
func checkRelaunch(ti *pcs.TcbInfo, svn2 [16]byte, sgx, tdx, module, qe TCBStatus) (TCBStatus, error) {
	if qe != TCBUpToDate {
		return tdx, nil
	}
	switch sgx {
	case TCBUpToDate, TCBSWHardeningNeeded, TCBConfigurationNeeded, TCBConfigurationAndSWHardeningNeeded:
	default:
		return tdx, nil
	}
	if (tdx != TCBOutOfDate && tdx != TCBOutOfDateConfigurationNeeded) || module != TCBOutOfDate {
		return tdx, nil
	}
	if len(ti.TcbLevels) == 0 {
		return "", fmt.Errorf("%w: TCB info has no TCB level", ErrTCBLevelNotFound)
	}
	latest := &ti.TcbLevels[0]
	if len(latest.Tcb.TdxTcbcomponents) != 16 {
		return "", fmt.Errorf("%w: latest TCB level has %d TDX components, want 16", ErrCollateralFormat, len(latest.Tcb.TdxTcbcomponents))
	}
	var latestModuleSVN byte
	if svn2[1] == 0 {
		latestModuleSVN = latest.Tcb.TdxTcbcomponents[0].Svn
	} else {
		id := findTDXModuleIdentity(ti, svn2[1])
		if id == nil {
			return "", fmt.Errorf("%w: no TDX module identity TDX_%02X for TEE_TCB_SVN2", ErrTDXModuleMismatch, svn2[1])
		}
		if len(id.TcbLevels) == 0 {
			return "", fmt.Errorf("%w: TDX module identity %s has no TCB level", ErrTCBLevelNotFound, id.ID)
		}
		if id.TcbLevels[0].Tcb.Isvsvn > 255 {
			return tdx, nil
		}
		latestModuleSVN = byte(id.TcbLevels[0].Tcb.Isvsvn)
	}
	if svn2[0] >= latestModuleSVN && svn2[2] >= latest.Tcb.TdxTcbcomponents[2].Svn {
		if isConfigurationNeeded(sgx) || isConfigurationNeeded(tdx) {
			return TCBTDRelaunchAdvisedConfigurationNeeded, nil
		}
		return TCBTDRelaunchAdvised, nil
	}
	return tdx, nil
}

// mergeAdvisories concatenates the advisory IDs of the given levels (nil
// levels skipped), keeping the first occurrence of each. Always non-nil so
// JSON shows [] rather than null.
func mergeAdvisories(levels ...*pcs.TcbLevel) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, l := range levels {
		if l == nil {
			continue
		}
		for _, id := range l.AdvisoryIDs {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}
