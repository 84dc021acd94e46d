package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// DecodeStrict decodes one JSON value into v, refusing unknown fields
// (a misspelt parameter must not silently fall back to its default) and
// trailing data.
func DecodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// Validator is a module's parameter set.
type Validator interface{ Validate() error }

// ParamsGenesis is the genesis section of a module whose genesis is only
// its parameters.
type ParamsGenesis[P Validator] struct {
	Params P `json:"params"`
}

// ParseParamsGenesis decodes a parameters-only genesis section strictly
// over defaults (an empty section is the defaults) and validates it.
func ParseParamsGenesis[P Validator](module string, raw json.RawMessage, defaults P) (ParamsGenesis[P], error) {
	g := ParamsGenesis[P]{Params: defaults}
	if len(raw) > 0 {
		if err := DecodeStrict(raw, &g); err != nil {
			return g, fmt.Errorf("%s genesis: %w", module, err)
		}
	}
	if err := g.Params.Validate(); err != nil {
		return g, fmt.Errorf("%s genesis params: %w", module, err)
	}
	return g, nil
}
