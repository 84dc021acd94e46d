package contracts

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"io"
	"strconv"

	"github.com/veil-network/veil/chain/types"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	"github.com/veil-network/veil/worker/runtime"
)

var (
	wasmMagic = []byte("\x00asm")
	gzipMagic = []byte{0x1f, 0x8b}
)

// DecodeCode turns an upload into the raw module and validates it: raw
// wasm is taken as is; gzip is inflated through a reader capped at
// maxCode+1 bytes, so a decompression bomb costs at most maxCode bytes of
// inflation before it is refused. One gzip member only, with nothing
// after it, so an upload has one meaning. The module must then pass
// worker/runtime.Validate (bytecode checks, instrumentation, host ABI),
// a pure function of the bytes, so every validator decides alike.
func DecodeCode(upload []byte, maxUpload, maxCode int) ([]byte, error) {
	if len(upload) > maxUpload {
		return nil, errf(CodeCodeTooLarge, "upload has %d bytes, limit %d", len(upload), maxUpload)
	}
	var raw []byte
	switch {
	case bytes.HasPrefix(upload, wasmMagic):
		raw = upload
	case bytes.HasPrefix(upload, gzipMagic):
		br := bytes.NewReader(upload)
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, errf(CodeInvalidCode, "gzip header: %v", err)
		}
		zr.Multistream(false)
		raw, err = io.ReadAll(io.LimitReader(zr, int64(maxCode)+1))
		if err != nil {
			return nil, errf(CodeInvalidCode, "gzip: %v", err)
		}
		if len(raw) > maxCode {
			return nil, errf(CodeCodeTooLarge, "code decompresses to more than %d bytes", maxCode)
		}
		// ReadAll stopped at the member's end, so the trailer (CRC and
		// size) is verified; bytes.Reader is an io.ByteReader, so gzip
		// read nothing beyond the member.
		if br.Len() != 0 {
			return nil, errf(CodeInvalidCode, "%d bytes after the gzip member", br.Len())
		}
	default:
		return nil, errf(CodeInvalidCode, "code is neither a wasm module (\\0asm) nor gzip")
	}
	if len(raw) > maxCode {
		return nil, errf(CodeCodeTooLarge, "code has %d bytes, limit %d", len(raw), maxCode)
	}
	if err := runtime.Validate(raw); err != nil {
		if errors.Is(err, runtime.ErrInvalidModule) {
			return nil, errf(CodeInvalidCode, "%v", err)
		}
		return nil, types.Errf(types.CodeInternal, "validate code: %v", err)
	}
	return raw, nil
}

func (m *Module) uploadCode(ctx *types.Context, sender types.AccountID, msg *contractsv1.MsgUploadCode) error {
	p := m.Params(ctx.Store)
	raw, err := DecodeCode(msg.GetCode(), p.MaxUploadBytes, p.MaxCodeBytes)
	if err != nil {
		return err
	}
	hash := sha256.Sum256(raw)
	if ctx.Store.Has(CodeRecordKey(hash)) {
		return errf(CodeCodeExists, "code %s is already stored", types.HexID(hash[:]))
	}
	ctx.Store.Set(CodeKey(hash), raw)
	types.SetProto(ctx.Store, CodeRecordKey(hash), &contractsv1.CodeRecord{
		CodeHash: hash[:], Size: uint64(len(raw)), Uploader: sender[:], UploadedAt: ctx.Height})
	if ctx.Emitting() {
		ctx.Emit("code_uploaded", types.Attr{Key: "code_hash", Value: types.HexID(hash[:])},
			types.Attr{Key: "size", Value: strconv.Itoa(len(raw))},
			types.Attr{Key: "uploader", Value: ctx.Address(sender)})
	}
	return nil
}
