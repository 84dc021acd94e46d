package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"strings"

	bip39 "github.com/cosmos/go-bip39"
	"golang.org/x/crypto/pbkdf2"
)

// maxWordLen is the length of the longest word of the English BIP39 list;
// words are compared in fixed-width buffers of this size.
const maxWordLen = 8

// wordlist returns the English BIP39 wordlist (2048 sorted words). Only the
// list is taken from go-bip39: its phrase parsing splits on single spaces and
// its seed derivation is standard BIP39, neither of which Substrate uses.
func wordlist() []string { return bip39.EnglishWordList }

// entropyFromPhrase decodes an English BIP39 phrase of 12, 15, 18, 21 or 24
// words (separated by any whitespace) into its entropy, verifying the
// checksum. Errors name word positions, never words, because error text ends
// up in logs and a word is part of a secret.
func entropyFromPhrase(phrase string) ([]byte, error) {
	words := strings.Fields(phrase)
	n := len(words)
	if n < 12 || n > 24 || n%3 != 0 {
		return nil, fmt.Errorf("%w: %d words, want 12, 15, 18, 21 or 24", ErrInvalidPhrase, n)
	}
	// n words carry n*11 bits: entropy (n*32/3 bits) then checksum (n/3 bits).
	bits := make([]byte, (n*11+7)/8)
	defer wipeBytes(bits)
	for i, w := range words {
		idx, ok := wordIndex(w)
		if !ok {
			return nil, fmt.Errorf("%w: word %d is not in the English BIP39 wordlist", ErrInvalidPhrase, i+1)
		}
		for b := 0; b < 11; b++ {
			if idx&(1<<(10-b)) != 0 {
				pos := i*11 + b
				bits[pos/8] |= 0x80 >> (pos % 8)
			}
		}
	}
	entLen := n * 4 / 3 // bytes
	csBits := n / 3
	entropy := append([]byte(nil), bits[:entLen]...)
	sum := sha256.Sum256(entropy)
	want := sum[0] >> (8 - csBits)
	got := bits[entLen] >> (8 - csBits)
	if subtle.ConstantTimeByteEq(want, got) != 1 {
		wipeBytes(entropy)
		return nil, fmt.Errorf("%w: checksum mismatch (a word is wrong or the order is)", ErrInvalidPhrase)
	}
	return entropy, nil
}

// wordIndex finds w in the wordlist by a constant-time scan of fixed-width
// words, so that the time taken does not depend on which (secret) word it
// is. 2048 comparisons per word is negligible next to PBKDF2. The lengths
// are compared too: the zero padding must not let "abandon\x00" match
// "abandon".
func wordIndex(w string) (int, bool) {
	if len(w) == 0 || len(w) > maxWordLen {
		return 0, false
	}
	var in, cand [maxWordLen]byte
	copy(in[:], w)
	found, idx := 0, 0
	for i, word := range wordlist() {
		cand = [maxWordLen]byte{}
		copy(cand[:], word)
		eq := subtle.ConstantTimeCompare(in[:], cand[:]) & subtle.ConstantTimeEq(int32(len(w)), int32(len(word)))
		idx = subtle.ConstantTimeSelect(eq, i, idx)
		found |= eq
	}
	clear(in[:])
	return idx, found == 1
}

// phraseFromEntropy encodes 16..32 bytes of entropy (a multiple of 4) as an
// English BIP39 phrase.
func phraseFromEntropy(entropy []byte) (string, error) {
	if len(entropy) < 16 || len(entropy) > 32 || len(entropy)%4 != 0 {
		return "", fmt.Errorf("entropy is %d bytes, want 16, 20, 24, 28 or 32", len(entropy))
	}
	sum := sha256.Sum256(entropy)
	bits := append(append([]byte(nil), entropy...), sum[0])
	defer wipeBytes(bits)
	n := len(entropy) * 3 / 4 // words
	list := wordlist()
	words := make([]string, n)
	for i := range words {
		idx := 0
		for b := 0; b < 11; b++ {
			pos := i*11 + b
			idx <<= 1
			if bits[pos/8]&(0x80>>(pos%8)) != 0 {
				idx |= 1
			}
		}
		words[i] = list[idx]
	}
	return strings.Join(words, " "), nil
}

// GeneratePhrase returns a new random English BIP39 phrase of the given
// number of words (12, 15, 18, 21 or 24), from crypto/rand.
func GeneratePhrase(words int) (string, error) {
	if words < 12 || words > 24 || words%3 != 0 {
		return "", fmt.Errorf("cannot generate a %d-word phrase: want 12, 15, 18, 21 or 24", words)
	}
	entropy := make([]byte, words*4/3)
	defer wipeBytes(entropy)
	if _, err := rand.Read(entropy); err != nil {
		return "", fmt.Errorf("generate phrase: read random entropy: %w", err)
	}
	return phraseFromEntropy(entropy)
}

// ValidatePhrase checks that phrase is a well-formed English BIP39 phrase
// (word count, wordlist, checksum) without deriving a key.
func ValidatePhrase(phrase string) error {
	entropy, err := entropyFromPhrase(phrase)
	if err != nil {
		return err
	}
	wipeBytes(entropy)
	return nil
}

// miniSecretFromEntropy is substrate-bip39's seed_from_entropy truncated to
// 32 bytes: PBKDF2-HMAC-SHA512 with the *entropy* as password, salt
// "mnemonic"+password, 2048 rounds.
//
// Standard BIP39 instead feeds the phrase string into PBKDF2. Substrate chose
// the entropy so that the key does not depend on the wordlist language or on
// Unicode normalisation of the phrase; following it is what makes a phrase
// give the same account here as in Polkadot wallets.
func miniSecretFromEntropy(entropy []byte, password string) [SeedSize]byte {
	salt := []byte("mnemonic" + password)
	defer wipeBytes(salt)
	seed := pbkdf2.Key(entropy, salt, 2048, 64, sha512.New)
	defer wipeBytes(seed)
	var out [SeedSize]byte
	copy(out[:], seed[:SeedSize])
	return out
}
