package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/ids"
	"github.com/orsgo/engine/persist"
)

// BenchmarkAPI measures one call over HTTP (in process, loopback, the
// in-memory store): an event (macrostep, checkpoint, answer), and a
// request answered by <ors:response> (the same, the answer held until
// the checkpoint is written).
func BenchmarkAPI(b *testing.B) {
	cfg := config.Defaults()
	cfg.Node, cfg.SessionIDWithNodeID = ids.NodeID("n1"), true
	n := config.NodeDefaults()
	n.Documents = []string{"testdata/routing.scxml"}
	s, err := New(context.Background(), Options{Config: cfg, Node: n, Store: persist.NewMemory(persist.MemoryOptions{})})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer func() {
		hs.Close()
		s.Close()
	}()
	post := func(path, body string) {
		resp, err := hs.Client().Post(hs.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	resp, err := hs.Client().Post(hs.URL+"/scxml/session/start", "application/json", strings.NewReader(`{"src": "routing"}`))
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := strings.Split(string(raw), `"`)[3]
	b.Run("event", func(b *testing.B) {
		for b.Loop() {
			post("/scxml/session/"+id+"/event/silent", "")
		}
	})
	b.Run("request", func(b *testing.B) {
		for b.Loop() {
			post("/scxml/session/"+id+"/request/balance", "")
		}
	})
}
