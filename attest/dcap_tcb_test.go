package attest

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-tdx-guest/pcs"
)

// svns builds 16 TCB components from the given leading SVNs.
func svns(lead ...byte) []pcs.TcbComponent {
	out := make([]pcs.TcbComponent, 16)
	for i, s := range lead {
		out[i].Svn = s
	}
	return out
}

func comps16(lead ...byte) [16]byte {
	var out [16]byte
	copy(out[:], lead)
	return out
}

func tcbLevel(sgx []byte, pce uint16, tdx []byte, status string, adv ...string) pcs.TcbLevel {
	l := pcs.TcbLevel{Tcb: pcs.Tcb{SgxTcbcomponents: svns(sgx...), Pcesvn: pce}, TcbStatus: pcs.TcbComponentStatus(status), AdvisoryIDs: adv}
	if tdx != nil {
		l.Tcb.TdxTcbcomponents = svns(tdx...)
	}
	return l
}

// TestAttestTCBLevelOrder pins the TCB level rule: Intel's component-wise
// match first; a platform below every level component by component is
// rated by the first level it reaches in Intel's (lexicographic) level
// order, at best OutOfDate; below every level even in that order it is
// not rated (ErrTCBLevelNotFound).
func TestAttestTCBLevelOrder(t *testing.T) {
	qeUpToDate := &pcs.TcbLevel{TcbStatus: "UpToDate"}
	sgxInfo := &pcs.TcbInfo{TcbLevels: []pcs.TcbLevel{
		tcbLevel([]byte{5, 5, 2}, 11, nil, "UpToDate"),
		tcbLevel([]byte{4, 4, 2}, 11, nil, "ConfigurationNeeded", "SA-A"),
		tcbLevel([]byte{4, 4, 2}, 5, nil, "Revoked", "SA-B"),
	}}
	for _, c := range []struct {
		name   string
		comps  [16]byte
		pce    uint16
		want   TCBStatus
		adv    []string
		below  bool
		reject bool
	}{
		{name: "exact newest", comps: comps16(5, 5, 2), pce: 11, want: TCBUpToDate, adv: []string{}},
		{name: "exact second", comps: comps16(4, 9, 2), pce: 11, want: TCBConfigurationNeeded, adv: []string{"SA-A"}},
		// Lexicographically above the newest level but component 2 is
		// below it: never better than OutOfDate.
		{name: "in order above newest", comps: comps16(6, 0, 0), pce: 11, want: TCBOutOfDate, adv: []string{}, below: true},
		{name: "in order above second", comps: comps16(4, 5, 1), pce: 11, want: TCBOutOfDateConfigurationNeeded, adv: []string{"SA-A"}, below: true},
		{name: "in order, PCESVN numeric", comps: comps16(4, 5, 1), pce: 10, want: TCBRevoked, adv: []string{"SA-B"}, below: true},
		{name: "below every level in order", comps: comps16(3, 9, 9), pce: 11, reject: true},
		{name: "PCESVN below every level", comps: comps16(9, 9, 9), pce: 4, reject: true},
	} {
		t.Run("sgx/"+c.name, func(t *testing.T) {
			q := &dcapQuote{version: 3, sgx: &sgxReport{}}
			status, adv, below, err := evaluateTCB(q, sgxInfo, &pckInfo{comps: c.comps, pceSVN: c.pce}, qeUpToDate)
			if c.reject {
				if !errors.Is(err, ErrTCBLevelNotFound) {
					t.Fatalf("err %v, want ErrTCBLevelNotFound", err)
				}
				return
			}
			if err != nil || status != c.want || !slices.Equal(adv, c.adv) || below != c.below {
				t.Fatalf("got %s %v below=%t %v, want %s %v below=%t", status, adv, below, err, c.want, c.adv, c.below)
			}
		})
	}

	// TDX, shaped like dcap-qvl's tdx_quote_outdated: SGX component 8 is
	// the SEAMLDR ACM; TEE_TCB_SVN[1] > 0 so the module identity rates
	// bytes 0 and 1.
	tdxInfo := &pcs.TcbInfo{
		TdxModuleIdentities: []pcs.TdxModuleIdentity{{ID: "TDX_01", TcbLevels: []pcs.TcbLevel{
			{Tcb: pcs.Tcb{Isvsvn: 6}, TcbStatus: "UpToDate"},
			{Tcb: pcs.Tcb{Isvsvn: 4}, TcbStatus: "OutOfDate", AdvisoryIDs: []string{"SA-M"}},
		}}},
		TcbLevels: []pcs.TcbLevel{
			tcbLevel([]byte{3, 3, 2, 2, 4, 1, 0, 5}, 13, []byte{5, 0, 3}, "UpToDate"),
			tcbLevel([]byte{2, 2, 2, 2, 3, 1, 0, 5}, 13, []byte{5, 0, 2}, "OutOfDate", "SA-X"),
		},
	}
	current := comps16(3, 3, 2, 2, 4, 1, 0, 5)
	oldSEAMLDR := comps16(3, 3, 2, 2, 4, 1, 0, 3)
	for _, c := range []struct {
		name      string
		comps     [16]byte
		tee, tee2 [16]byte
		want      TCBStatus
		adv       []string
		below     bool
		reject    bool
	}{
		{name: "current", comps: current, tee: comps16(7, 1, 3), tee2: comps16(7, 1, 3), want: TCBUpToDate, adv: []string{}},
		// Out of date only through its module, on an updated host: Intel's
		// TD 1.5 relaunch rule applies. Module SVN 4 is below the levels'
		// first TDX component (5), which is not compared since the module
		// identity rates bytes 0 and 1.
		{name: "old module, updated host", comps: current, tee: comps16(4, 1, 3), tee2: comps16(6, 1, 3), want: TCBTDRelaunchAdvised, adv: []string{"SA-M"}},
		{name: "module below every module level", comps: current, tee: comps16(1, 1, 3), tee2: comps16(1, 1, 3), reject: true},
		{name: "old SEAMLDR", comps: oldSEAMLDR, tee: comps16(7, 1, 3), tee2: comps16(7, 1, 3), want: TCBOutOfDate, adv: []string{"SA-X"}, below: true},
		// Below every level, the relaunch rule is not applied: relaunching
		// the TD does not update the SEAMLDR.
		{name: "old SEAMLDR and module, updated host", comps: oldSEAMLDR, tee: comps16(4, 1, 3), tee2: comps16(6, 1, 3), want: TCBOutOfDate, adv: []string{"SA-X", "SA-M"}, below: true},
		{name: "TDX microcode below every level", comps: current, tee: comps16(7, 1, 1), tee2: comps16(7, 1, 1), reject: true},
		{name: "SGX microcode below every level", comps: comps16(1, 9, 9, 9, 9, 9, 9, 9), tee: comps16(7, 1, 3), tee2: comps16(7, 1, 3), reject: true},
	} {
		t.Run("tdx/"+c.name, func(t *testing.T) {
			q := &dcapQuote{version: 5, td: &tdReport{teeTCBSVN: c.tee, td15: true, teeTCBSVN2: c.tee2}}
			status, adv, below, err := evaluateTCB(q, tdxInfo, &pckInfo{comps: c.comps, pceSVN: 13}, qeUpToDate)
			if c.reject {
				if !errors.Is(err, ErrTCBLevelNotFound) {
					t.Fatalf("err %v, want ErrTCBLevelNotFound", err)
				}
				return
			}
			if err != nil || status != c.want || !slices.Equal(adv, c.adv) || below != c.below {
				t.Fatalf("got %s %v below=%t %v, want %s %v below=%t", status, adv, below, err, c.want, c.adv, c.below)
			}
		})
	}
}
