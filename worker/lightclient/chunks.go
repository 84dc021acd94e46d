package lightclient

import (
	"bytes"
	"encoding/binary"
	"errors"
)

func writeChunk(buf *bytes.Buffer, b []byte) {
	buf.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
	buf.Write(b)
}

func readChunks(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errors.New("truncated length")
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return nil, errors.New("truncated chunk")
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}
