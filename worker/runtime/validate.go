package runtime

import "fmt"

// Validate checks a contract binary the way Load does before it compiles
// anything: the size limit, the bytecode checks and the instrumentation
// (structure, instructions, locals, tables, memory, reserved names) and the
// host ABI (required exports with their signatures, imports only from
// "veil" and WASI with their exact signatures), under the default Config
// limits. It is a pure function of the bytes — no wazero, no I/O, no
// clock — so the chain can run it in every validator and refuse code the
// workers would refuse. What it cannot check without executing the module
// (that veil_abi_version returns ABIVersion, that initialisation fits
// InitGas) is left to Load. Errors wrap ErrInvalidModule (or
// ErrUnsupported for refused features).
func Validate(bin []byte) error { return ValidateConfig(bin, Config{}) }

// ValidateConfig is Validate under cfg's limits (zero fields take the
// defaults); a network whose workers use other limits validates with them.
func ValidateConfig(bin []byte, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if len(bin) > cfg.MaxModuleBytes {
		return fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrInvalidModule, len(bin), cfg.MaxModuleBytes)
	}
	_, err = prepare(bin, &cfg)
	return err
}

// prepare is what every module passes before it may run, on chain
// (Validate) and in the worker (Load) alike: the bytecode checks and the
// gas instrumentation under cfg's limits, then the host ABI.
func prepare(bin []byte, cfg *Config) (*instrumentResult, error) {
	res, err := instrument(bin, instrumentLimits{
		memoryPages:  cfg.MemoryPages,
		maxCallDepth: cfg.MaxCallDepth,
		maxLocals:    cfg.MaxLocals,
		maxTable:     cfg.MaxTableEntries,
	})
	if err != nil {
		return nil, err
	}
	if err := checkABI(res.mod); err != nil {
		return nil, err
	}
	return res, nil
}
