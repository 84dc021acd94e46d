package registry

// ReadShared is readShared for the external tests (package registry_test),
// which load the same attestation test data.
var ReadShared = readShared
