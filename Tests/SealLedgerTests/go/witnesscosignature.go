// Derives a C2SP tlog-cosignature (type 0x04) vector with Go's standard library only,
// and shows that golang.org/x/mod/sumdb/note (Debian, Go 1.19) does not know type 0x04.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	name := "witness.example/w1"
	h := sha256.Sum256(append(append([]byte(name), 0x0A, 0x04), pub...))
	keyID := h[:4]
	vkey := fmt.Sprintf("%s+%x+%s", name, keyID, base64.StdEncoding.EncodeToString(append([]byte{0x04}, pub...)))
	checkpoint := "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	var t uint64 = 1679315147
	msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", t, checkpoint)
	sig := ed25519.Sign(priv, []byte(msg))
	field := make([]byte, 0, 4+8+64)
	field = append(field, keyID...)
	field = binary.BigEndian.AppendUint64(field, t)
	field = append(field, sig...)
	fmt.Printf("seed %x\n", seed)
	fmt.Printf("vkey %s\n", vkey)
	fmt.Printf("line \u2014 %s %s\n", name, base64.StdEncoding.EncodeToString(field))
	if _, err := note.NewVerifier(vkey); err != nil {
		fmt.Printf("note.NewVerifier: %v\n", err)
	} else {
		fmt.Println("note.NewVerifier: accepted")
	}
}
