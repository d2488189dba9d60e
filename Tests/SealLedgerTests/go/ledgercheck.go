// ledgercheck verifies a running SealKit ledger with Go's own transparency-log code,
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog (an independent implementation):
//
//   - the served checkpoint's Ed25519 signature under the log's verifier key (note.Open);
//   - an older checkpoint (-old FILE) and the consistency proof from it (tlog.CheckTree);
//   - every leaf's inclusion proof (tlog.CheckRecord), each checked against the leaf hash Go
//     computes itself from the entry bundle bytes (tlog.RecordHash);
//   - the tree rebuilt from the served tiles (tlog.TileHashReader, which checks each tile against
//     the signed root), and Go's own proofs from those tiles equal to the served ones.
//
// Go's tile paths carry the tile height (tile/8/L/N); C2SP's do not (tile/L/N): the reader maps them.
// Prints "ok <size>" and exits 0, or prints what disagreed and exits 1.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var base string

func fetch(path string) ([]byte, error) {
	resp, err := http.Get(base + "/" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := ioutil.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET /%s: %d %s", path, resp.StatusCode, body)
	}
	return body, nil
}

// openCheckpoint verifies the note and parses the C2SP checkpoint body (origin, size, root).
func openCheckpoint(msg []byte, verifiers note.Verifiers, origin string) (tlog.Tree, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("note.Open: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != origin {
		return tlog.Tree{}, fmt.Errorf("checkpoint body %q: wrong origin or shape", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return tlog.Tree{}, err
	}
	hash, err := tlog.ParseHash(lines[2])
	if err != nil {
		return tlog.Tree{}, err
	}
	return tlog.Tree{N: size, Hash: hash}, nil
}

// c2spTiles reads tiles at C2SP paths for Go's tile reader (height 8).
type c2spTiles struct{}

func (c2spTiles) Height() int { return 8 }

func c2spPath(t tlog.Tile) string {
	// Go: tile/8/L/N[.p/W]; C2SP: tile/L/N[.p/W] (Go's level -1 is data, C2SP's "entries").
	p := t.Path()
	prefix := "tile/" + strconv.Itoa(t.H) + "/"
	if !strings.HasPrefix(p, prefix) {
		panic("unexpected Go tile path " + p)
	}
	rest := strings.TrimPrefix(p, prefix)
	if strings.HasPrefix(rest, "data/") {
		rest = "entries/" + strings.TrimPrefix(rest, "data/")
	}
	return "tile/" + rest
}

func (c2spTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := fetch(c2spPath(t))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (c2spTiles) SaveTiles([]tlog.Tile, [][]byte) {}

type proof struct {
	Hashes []string `json:"hashes"`
}

func fetchProof(path string) ([]tlog.Hash, error) {
	body, err := fetch(path)
	if err != nil {
		return nil, err
	}
	var p proof
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, err
	}
	hashes := make([]tlog.Hash, len(p.Hashes))
	for i, h := range p.Hashes {
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("bad hash %q", h)
		}
		copy(hashes[i][:], raw)
	}
	return hashes, nil
}

func sameHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func run() error {
	url := flag.String("url", "", "the ledger's base URL")
	vkey := flag.String("vkey", "", "the log's verifier key")
	oldFile := flag.String("old", "", "an older checkpoint note")
	flag.Parse()
	base = strings.TrimSuffix(*url, "/")
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return fmt.Errorf("note.NewVerifier: %v", err)
	}
	verifiers := note.VerifierList(verifier)
	origin := verifier.Name()

	msg, err := fetch("checkpoint")
	if err != nil {
		return err
	}
	tree, err := openCheckpoint(msg, verifiers, origin)
	if err != nil {
		return err
	}
	// A tampered checkpoint must not verify.
	if _, err := note.Open(bytes.Replace(msg, []byte("\n"+strconv.FormatInt(tree.N, 10)+"\n"), []byte("\n"+strconv.FormatInt(tree.N+1, 10)+"\n"), 1), verifiers); err == nil {
		return errors.New("a checkpoint with a changed size still verifies")
	}

	reader := tlog.TileHashReader(tree, c2spTiles{})
	rebuilt, err := tlog.TreeHash(tree.N, reader)
	if err != nil {
		return fmt.Errorf("tree from tiles: %v", err)
	}
	if rebuilt != tree.Hash {
		return fmt.Errorf("the tiles give root %v, the checkpoint %v", rebuilt, tree.Hash)
	}

	// Entry bundles: Go hashes each entry itself and compares with the level-0 tile hashes.
	var index int64
	for bundle := int64(0); index < tree.N; bundle++ {
		width := tree.N - bundle*256
		path := fmt.Sprintf("tile/entries/%s", strings.TrimPrefix(tlog.Tile{H: 8, L: 0, N: bundle, W: 256}.Path(), "tile/8/0/"))
		if width < 256 {
			path = fmt.Sprintf("%s.p/%d", path, width)
		}
		data, err := fetch(path)
		if err != nil {
			return err
		}
		for len(data) > 0 {
			if len(data) < 2 {
				return errors.New("truncated entry bundle")
			}
			n := int(data[0])<<8 | int(data[1])
			if len(data) < 2+n {
				return errors.New("truncated entry")
			}
			leaf := tlog.RecordHash(data[2 : 2+n])
			data = data[2+n:]
			stored, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
			if err != nil {
				return err
			}
			if stored[0] != leaf {
				return fmt.Errorf("entry %d hashes to %v, its tile says %v", index, leaf, stored[0])
			}
			served, err := fetchProof(fmt.Sprintf("v1/proof/inclusion?index=%d&size=%d", index, tree.N))
			if err != nil {
				return err
			}
			if err := tlog.CheckRecord(tlog.RecordProof(served), tree.N, tree.Hash, index, leaf); err != nil {
				return fmt.Errorf("inclusion proof of %d: %v", index, err)
			}
			own, err := tlog.ProveRecord(tree.N, index, reader)
			if err != nil {
				return err
			}
			if !sameHashes(own, served) {
				return fmt.Errorf("inclusion proof of %d differs from Go's", index)
			}
			index++
		}
	}
	if index != tree.N {
		return fmt.Errorf("the entry bundles hold %d entries, the tree %d", index, tree.N)
	}

	if *oldFile != "" {
		oldMsg, err := ioutil.ReadFile(*oldFile)
		if err != nil {
			return err
		}
		old, err := openCheckpoint(oldMsg, verifiers, origin)
		if err != nil {
			return err
		}
		served, err := fetchProof(fmt.Sprintf("v1/proof/consistency?from=%d&to=%d", old.N, tree.N))
		if err != nil {
			return err
		}
		if err := tlog.CheckTree(tlog.TreeProof(served), tree.N, tree.Hash, old.N, old.Hash); err != nil {
			return fmt.Errorf("consistency %d -> %d: %v", old.N, tree.N, err)
		}
		own, err := tlog.ProveTree(tree.N, old.N, reader)
		if err != nil {
			return err
		}
		if !sameHashes(own, served) {
			return fmt.Errorf("consistency proof %d -> %d differs from Go's", old.N, tree.N)
		}
	}
	fmt.Printf("ok %d\n", tree.N)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
}
