package contracts

import "fmt"

// Params bound what contracts may cost the chain, stored as JSON under
// "contracts/params" (set at genesis).
type Params struct {
	// MaxCodeBytes bounds a module after decompression. It must not exceed
	// the workers' runtime MaxModuleBytes (16 MiB), or the chain would
	// store code no worker loads.
	MaxCodeBytes int `json:"max_code_bytes"`
	// MaxUploadBytes bounds MsgUploadCode.code as carried (compressed or
	// not); auth's max_tx_bytes must leave room for it.
	MaxUploadBytes int `json:"max_upload_bytes"`
	// DefaultReplicas is used when MsgInstantiate.replicas is 0.
	DefaultReplicas uint32 `json:"default_replicas"`
	// MaxReplicas bounds MsgInstantiate.replicas.
	MaxReplicas uint32 `json:"max_replicas"`
	// MaxEnvelopeBytes bounds a command envelope and an instantiation's
	// init arguments. Each travels in one mq message with about 100 bytes
	// of framing, so it must stay below mq's max_payload_bytes (64 KiB by
	// default) by at least that: mq refuses larger messages.
	MaxEnvelopeBytes int `json:"max_envelope_bytes"`
}

// Defaults and hard bounds of the parameters.
const (
	DefaultMaxCodeBytes     = 16 << 20
	DefaultMaxUploadBytes   = 2 << 20
	DefaultDefaultReplicas  = 1
	DefaultMaxReplicas      = 8
	DefaultMaxEnvelopeBytes = 64<<10 - 1<<10
	// limitCodeBytes is the runtime's MaxModuleBytes default.
	limitCodeBytes = 16 << 20
	// limitReplicas keeps an assignment (and its key request: one
	// 1216-byte HPKE key per worker) well inside one mq message.
	limitReplicas = 32
	// limitEnvelopeBytes: mq payloads are bounded anyway; this catches
	// a genesis typo.
	limitEnvelopeBytes = 1 << 20
)

// DefaultParams: 16 MiB modules (a Go contract is about 3.5 MB, 1 MB
// gzipped), 2 MiB uploads, one replica by default, at most eight, 63 KiB
// envelopes (a command's arguments may be 64 KiB before sealing; the
// remaining KiB is mq framing).
func DefaultParams() Params {
	return Params{
		MaxCodeBytes:     DefaultMaxCodeBytes,
		MaxUploadBytes:   DefaultMaxUploadBytes,
		DefaultReplicas:  DefaultDefaultReplicas,
		MaxReplicas:      DefaultMaxReplicas,
		MaxEnvelopeBytes: DefaultMaxEnvelopeBytes,
	}
}

// Validate checks parameter sanity.
func (p Params) Validate() error {
	switch {
	case p.MaxCodeBytes < 8 || p.MaxCodeBytes > limitCodeBytes:
		return fmt.Errorf("max_code_bytes must be 8..%d, got %d", limitCodeBytes, p.MaxCodeBytes)
	case p.MaxUploadBytes < 8 || p.MaxUploadBytes > p.MaxCodeBytes:
		return fmt.Errorf("max_upload_bytes must be 8..max_code_bytes (%d), got %d", p.MaxCodeBytes, p.MaxUploadBytes)
	case p.MaxReplicas < 1 || p.MaxReplicas > limitReplicas:
		return fmt.Errorf("max_replicas must be 1..%d, got %d", limitReplicas, p.MaxReplicas)
	case p.DefaultReplicas < 1 || p.DefaultReplicas > p.MaxReplicas:
		return fmt.Errorf("default_replicas must be 1..max_replicas (%d), got %d", p.MaxReplicas, p.DefaultReplicas)
	case p.MaxEnvelopeBytes < 1<<10 || p.MaxEnvelopeBytes > limitEnvelopeBytes:
		return fmt.Errorf("max_envelope_bytes must be 1024..%d, got %d", limitEnvelopeBytes, p.MaxEnvelopeBytes)
	}
	return nil
}
