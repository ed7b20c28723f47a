package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
)

// GenesisHash is the prev_hash of the first event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// The chain hash of an event is the lower-hex SHA-256 of its canonical form: every column but
// hash, in the order prev_hash, id, occurred_at, actor_type, actor_id, actor_name, action,
// target_type, target_id, changes, client_addr, user_agent, request_id, outcome, each written as
// its byte length in decimal, a colon and its bytes ("64:<prev_hash>2:42…" for id 42, "0:" for an
// empty text). Starting with prev_hash links each event to the one before; length prefixes make
// the form unambiguous without escaping anything; changes is hashed as the JSON text stored.
//
// The format is chosen so that SQLite can produce it itself (canonicalSQL): Verify then fetches
// one value per event instead of fifteen, which is most of its cost, and an auditor can recompute
// any hash with nothing but the sqlite3 shell and sha256sum. It can never change without
// breaking every stored chain; TestCanonicalEncodingIsStable holds it still.
const canonicalSQL = `concat(octet_length(prev_hash), ':', prev_hash,
	octet_length(id), ':', id, octet_length(occurred_at), ':', occurred_at,
	octet_length(actor_type), ':', actor_type, octet_length(actor_id), ':', actor_id,
	octet_length(actor_name), ':', actor_name, octet_length(action), ':', action,
	octet_length(target_type), ':', target_type, octet_length(target_id), ':', target_id,
	octet_length(changes), ':', changes, octet_length(client_addr), ':', client_addr,
	octet_length(user_agent), ':', user_agent, octet_length(request_id), ':', request_id,
	octet_length(outcome), ':', outcome,
	CASE WHEN target_name = '' THEN '' ELSE concat(octet_length(target_name), ':', target_name) END)`

// Since migration 0010 an event may also carry target_name, hashed as one more field after
// outcome when it is not empty. An empty one adds nothing, so every event written before it
// existed keeps its hash; and a form with the extra field can never equal one without it, since
// length prefixes read the same from the start and the longer form has bytes left over.

// textColumns is the number of TEXT columns after occurred_at, actor_type to outcome.
const textColumns = 11

// appendEventCanonical is canonicalSQL in Go, target_name included.
func appendEventCanonical(buf []byte, prevHash string, id, at int64, text *[textColumns]string, targetName string) []byte {
	buf = appendCanonical(buf, prevHash, id, at, text)
	if targetName != "" {
		buf = appendField(buf, targetName)
	}
	return buf
}

// appendCanonical is the form of the first fourteen fields, as every event before 0010 is hashed.
func appendCanonical(buf []byte, prevHash string, id, at int64, text *[textColumns]string) []byte {
	buf = appendField(buf, prevHash)
	var digits [20]byte
	buf = appendField(buf, strconv.AppendInt(digits[:0], id, 10))
	buf = appendField(buf, strconv.AppendInt(digits[:0], at, 10))
	for _, s := range text {
		buf = appendField(buf, s)
	}
	return buf
}

func appendField[T ~string | ~[]byte](buf []byte, s T) []byte {
	buf = strconv.AppendInt(buf, int64(len(s)), 10)
	buf = append(buf, ':')
	return append(buf, s...)
}

// hasher hashes canonical forms reusing its buffers, so Verify allocates nothing per event.
type hasher struct {
	h   hash.Hash
	sum [sha256.Size]byte
	hex [2 * sha256.Size]byte
}

func newHasher() *hasher { return &hasher{h: sha256.New()} }

// hash returns the lower-hex SHA-256 of a canonical form, valid until the next call.
func (hs *hasher) hash(canonical []byte) []byte {
	hs.h.Reset()
	hs.h.Write(canonical)
	hex.Encode(hs.hex[:], hs.h.Sum(hs.sum[:0]))
	return hs.hex[:]
}
