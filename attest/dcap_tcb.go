package attest

import (
	"bytes"
	"fmt"

	"github.com/google/go-tdx-guest/pcs"
)

// evaluateTCB rates an authenticated quote against the TCB info and the QE
// TCB level, following Intel's QVL (TcbLevelCheck, TdxModuleCheck,
// TDRelaunchCheck; "4.1.2.4.17"), with one addition for platforms Intel's
// rule cannot place (see below):
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
// Platforms below every level. When no level is covered component by
// component, Intel's QVL stops with STATUS_TCB_NOT_SUPPORTED, an error,
// while dcap-qvl (Phala) compares the SVN lists lexicographically, which is
// the order Intel itself sorts TCB levels in (TcbLevel::operator>: SGX
// components, then PCESVN, then TDX components). The evidence is authentic
// either way, and Veil reports the TCB rather than judging it, so Veil
// places such a platform in Intel's level order: the level is the first one
// the platform is at or above lexicographically (SGX components, PCESVN
// numerically, TDX components from the same start index as above). Because
// the platform still lacks at least one SVN of every level, that level's
// status is merged with OutOfDate exactly as an out-of-date TDX module or QE
// merges (it can never rate better than OutOfDate), the TD relaunch rule
// does not apply (relaunching cannot fix the platform), and the result is
// marked (belowEveryLevel, Result.TCBBelowEveryLevel): a registry that
// accepts OutOfDate can still refuse such platforms. Only a platform that is below every level even
// in that order is not rated: ErrTCBLevelNotFound ("TCB not supported").
// On the shared test quotes this reproduces both published results:
// dcap-qvl's tdx_quote_outdated (one SGX component, the SEAMLDR ACM SVN, is
// 3 where every level requires 5; otherwise it equals the newest level) is
// OutOfDate, and oasis-core's tdx_v4_quote_out_of_date (microcode 3 where
// every level requires 5, TDX microcode 4 where every level requires 5) is
// rejected.
func evaluateTCB(q *dcapQuote, ti *pcs.TcbInfo, ext *pckInfo, qeLevel *pcs.TcbLevel) (status TCBStatus, advisories []string, belowEveryLevel bool, err error) {
	isTDX := q.td != nil
	for i := range ti.TcbLevels {
		l := &ti.TcbLevels[i]
		if len(l.Tcb.SgxTcbcomponents) != 16 {
			return "", nil, false, fmt.Errorf("%w: TCB level %d has %d SGX components, want 16", ErrCollateralFormat, i, len(l.Tcb.SgxTcbcomponents))
		}
		if isTDX && len(l.Tcb.TdxTcbcomponents) != 16 {
			return "", nil, false, fmt.Errorf("%w: TCB level %d has %d TDX components, want 16", ErrCollateralFormat, i, len(l.Tcb.TdxTcbcomponents))
		}
	}
	sgxLevel, tdxLevel := matchTCBLevels(q, ti, ext, false)
	if sgxLevel == nil || (isTDX && tdxLevel == nil) {
		belowEveryLevel = true
		sgxLevel, tdxLevel = matchTCBLevels(q, ti, ext, true)
	}
	if sgxLevel == nil {
		return "", nil, false, fmt.Errorf("%w: the PCK certificate's SGX TCB (components %v, PCESVN %d) is below every TCB level of FMSPC %s, "+
			"component by component and in Intel's level order (Intel: TCB not supported; the platform needs a microcode/BIOS update)",
			ErrTCBLevelNotFound, ext.comps, ext.pceSVN, ti.Fmspc)
	}
	if isTDX && tdxLevel == nil {
		return "", nil, false, fmt.Errorf("%w: the TD's TEE_TCB_SVN %x is below every TCB level of FMSPC %s that its SGX TCB reaches "+
			"(Intel: TCB not supported)", ErrTCBLevelNotFound, q.td.teeTCBSVN[:], ti.Fmspc)
	}
	if qeLevel == nil {
		return "", nil, false, fmt.Errorf("%w: no QE identity TCB level covers the QE's ISVSVN %d", ErrTCBLevelNotFound, q.qeReport.isvSVN)
	}
	qeStatus := TCBStatus(qeLevel.TcbStatus)
	sgxStatus := TCBStatus(sgxLevel.TcbStatus)
	if belowEveryLevel {
		sgxStatus = convergeModule(sgxStatus, TCBOutOfDate)
	}

	if !isTDX {
		return convergeQE(sgxStatus, qeStatus), mergeAdvisories(sgxLevel, qeLevel), belowEveryLevel, nil
	}

	tdxStatus := TCBStatus(tdxLevel.TcbStatus)
	if belowEveryLevel {
		tdxStatus = convergeModule(tdxStatus, TCBOutOfDate)
	}
	moduleStatus := TCBUpToDate
	var moduleLevel *pcs.TcbLevel
	if major, minor := q.td.teeTCBSVN[1], q.td.teeTCBSVN[0]; !(q.version > 3 && major == 0) {
		id := findTDXModuleIdentity(ti, major)
		if id == nil {
			return "", nil, false, fmt.Errorf("%w: no TDX module identity TDX_%02X in the TCB info", ErrTDXModuleMismatch, major)
		}
		for i := range id.TcbLevels {
			if uint32(minor) >= id.TcbLevels[i].Tcb.Isvsvn {
				moduleLevel = &id.TcbLevels[i]
				break
			}
		}
		if moduleLevel == nil {
			return "", nil, false, fmt.Errorf("%w: no TCB level of TDX module identity %s covers module SVN %d", ErrTCBLevelNotFound, id.ID, minor)
		}
		moduleStatus = TCBStatus(moduleLevel.TcbStatus)
	}
	status = convergeModule(tdxStatus, moduleStatus)
	advisories = mergeAdvisories(tdxLevel, moduleLevel, qeLevel)
	if status == TCBRevoked {
		return status, advisories, belowEveryLevel, nil
	}
	if q.td.td15 && !belowEveryLevel {
		status, err = checkRelaunch(ti, q.td.teeTCBSVN2, sgxStatus, status, moduleStatus, qeStatus)
		if err != nil {
			return "", nil, false, err
		}
	}
	return convergeQE(status, qeStatus), advisories, belowEveryLevel, nil
}

// matchTCBLevels returns the SGX TCB level (first level the PCK
// certificate's SGX TCB reaches) and, for TDX, the TDX TCB level (first
// level both the SGX TCB and the TD's TEE_TCB_SVN reach), as Intel's
// matchTcbLevels does. "Reaches" is Intel's component-wise comparison, or,
// with inOrder, the lexicographic comparison of Intel's level order.
func matchTCBLevels(q *dcapQuote, ti *pcs.TcbInfo, ext *pckInfo, inOrder bool) (sgxLevel, tdxLevel *pcs.TcbLevel) {
	for i := range ti.TcbLevels {
		l := &ti.TcbLevels[i]
		if !sgxReaches(ext, l, inOrder) {
			continue
		}
		if sgxLevel == nil {
			sgxLevel = l
		}
		if q.td == nil {
			return sgxLevel, nil
		}
		if tdxReaches(q.td.teeTCBSVN, l, inOrder) {
			return sgxLevel, l
		}
	}
	return sgxLevel, nil
}

// sgxReaches: the PCK certificate's PCESVN is at or above the level's and
// its 16 SGX component SVNs are each at or above the level's (Intel's
// isCpuSvnHigherOrEqual) or, with inOrder, at or above them as a
// lexicographically compared list.
func sgxReaches(ext *pckInfo, l *pcs.TcbLevel, inOrder bool) bool {
	if ext.pceSVN < l.Tcb.Pcesvn {
		return false
	}
	var want [16]byte
	for i, c := range l.Tcb.SgxTcbcomponents {
		want[i] = c.Svn
	}
	return svnsReach(ext.comps[:], want[:], inOrder)
}

// tdxReaches compares TEE_TCB_SVN with the level's TDX components like
// sgxReaches (Intel's isTdxTcbHigherOrEqual), from byte 2 when the module
// major version (byte 1) is non-zero.
func tdxReaches(teeTCBSVN [16]byte, l *pcs.TcbLevel, inOrder bool) bool {
	start := 0
	if teeTCBSVN[1] > 0 {
		start = 2
	}
	var want [16]byte
	for i, c := range l.Tcb.TdxTcbcomponents {
		want[i] = c.Svn
	}
	return svnsReach(teeTCBSVN[start:], want[start:], inOrder)
}

// svnsReach reports whether have is at or above want: every element (the
// component-wise partial order) or, with inOrder, as a lexicographically
// ordered list (a total order that extends it).
func svnsReach(have, want []byte, inOrder bool) bool {
	if inOrder {
		return bytes.Compare(have, want) >= 0
	}
	for i := range want {
		if have[i] < want[i] {
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
