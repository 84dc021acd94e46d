package attest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"
	"time"
)

// testCA builds a throwaway CA and a leaf it issued, to exercise CRL
// handling with revocations no genuine Intel or AMD CRL contains.
func testCA(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(4e9, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x5eed), Subject: pkix.Name{CommonName: cn + " leaf"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(4e9, 0),
	}
	der, err = x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return ca, key, leaf
}

func testCRL(t *testing.T, ca *x509.Certificate, key *ecdsa.PrivateKey, revoked *big.Int, this, next time.Time) string {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: this, NextUpdate: next}
	if revoked != nil {
		tmpl.RevokedCertificateEntries = []x509.RevocationListEntry{{SerialNumber: revoked, RevocationTime: this}}
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(der)
}

func TestAttestCRLHandling(t *testing.T) {
	ca, key, leaf := testCA(t, "Test PCK CA")
	other, otherKey, _ := testCA(t, "Other CA")
	this, next := time.Unix(1000, 0), time.Unix(2000, 0)
	now := time.Unix(1500, 0)

	crl, err := parseCRL(testCRL(t, ca, key, leaf.SerialNumber, this, next), "PCK CRL", ca, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := notRevoked(crl, leaf, "PCK CRL"); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked PCK: %v", err)
	}
	if err := notRevoked(crl, ca, "PCK CRL"); err != nil {
		t.Fatalf("the CA's own certificate is not covered by its CRL: %v", err)
	}
	clean, err := parseCRL(testCRL(t, ca, key, big.NewInt(7), this, next), "PCK CRL", ca, now)
	if err != nil || notRevoked(clean, leaf, "PCK CRL") != nil {
		t.Fatalf("unrevoked PCK: %v", err)
	}
	if _, err := parseCRL(testCRL(t, ca, key, nil, this, next), "PCK CRL", ca, time.Unix(999, 0)); !errors.Is(err, ErrCollateralNotYetValid) {
		t.Fatalf("before thisUpdate: %v", err)
	}
	if _, err := parseCRL(testCRL(t, ca, key, nil, this, next), "PCK CRL", ca, time.Unix(2001, 0)); !errors.Is(err, ErrCollateralExpired) {
		t.Fatalf("after nextUpdate: %v", err)
	}
	if _, err := parseCRL(testCRL(t, other, otherKey, nil, this, next), "PCK CRL", ca, now); !errors.Is(err, ErrCRL) {
		t.Fatalf("CRL of another CA: %v", err)
	}
	// Same issuer name, wrong key: a forged CRL.
	forger, forgerKey, _ := testCA(t, "Test PCK CA")
	if _, err := parseCRL(testCRL(t, forger, forgerKey, nil, this, next), "PCK CRL", ca, now); !errors.Is(err, ErrCRL) {
		t.Fatalf("forged CRL: %v", err)
	}
	if _, err := parseCRL("zz", "PCK CRL", ca, now); !errors.Is(err, ErrCollateralFormat) {
		t.Fatalf("bad hex: %v", err)
	}
	if _, err := parseCRL("3000", "PCK CRL", ca, now); !errors.Is(err, ErrCRL) {
		t.Fatalf("bad DER: %v", err)
	}
}
