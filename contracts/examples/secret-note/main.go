// Command secret-note keeps one private note per account.
//
//	set_note {"text": "..."}   stores the caller's note (a command)
//	get_note {"owner": "<hex>"} returns {"text": "..."}; owner defaults to
//	                            the caller, and only the owner may read it
//
// The state is encrypted at rest by the worker and every call is
// end-to-end encrypted, so the note is readable by nobody but its owner:
// the access check below is the only gate left, and it runs in the TEE.
package main

import (
	"errors"

	"github.com/veil-network/veil/contracts/sdk"
)

// MaxNoteBytes bounds a note.
const MaxNoteBytes = 4096

// SetNoteArgs are the arguments of set_note.
type SetNoteArgs struct {
	Text string `json:"text"`
}

// GetNoteArgs are the arguments of get_note.
type GetNoteArgs struct {
	Owner *sdk.Account `json:"owner,omitempty"`
}

// Note is a note.
type Note struct {
	Text string `json:"text"`
}

func noteKey(a sdk.Account) string { return "note/" + a.String() }

func init() {
	sdk.Handle("set_note", setNote)
	sdk.Handle("get_note", getNote)
}

func setNote(ctx *sdk.Context, a SetNoteArgs) (struct{}, error) {
	if len(a.Text) > MaxNoteBytes {
		return struct{}{}, errors.New("note too long")
	}
	ctx.SetString(noteKey(ctx.Caller()), a.Text)
	return struct{}{}, nil
}

func getNote(ctx *sdk.Context, a GetNoteArgs) (Note, error) {
	owner := ctx.Caller()
	if a.Owner != nil && *a.Owner != owner {
		return Note{}, sdk.ErrNotAuthorized
	}
	text, ok := ctx.GetString(noteKey(owner))
	if !ok {
		return Note{}, errors.New("no note")
	}
	return Note{Text: text}, nil
}

func main() {}
