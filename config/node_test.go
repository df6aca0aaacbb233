package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNodeDefaultsAndParse(t *testing.T) {
	src := `[persistence]
type = memory
[node]
listen = 127.0.0.1:0
documents = docs; more/call.scxml
role = BACKUP
max-body = 2048
request-timeout = 1500
wait-replicas = 1
idealtime-horizon = 5000
[other]
listen = ignored
`
	n, err := ParseNode(strings.NewReader(src), "ors.ini")
	if err != nil {
		t.Fatal(err)
	}
	if n.Listen != "127.0.0.1:0" || n.Role != RoleBackup || n.MaxBody != 2048 || n.RequestTimeout != 1500*time.Millisecond {
		t.Fatalf("parsed %+v", n)
	}
	if len(n.Documents) != 2 || n.Documents[1] != "more/call.scxml" {
		t.Fatalf("documents %q", n.Documents)
	}
	if n.WaitReplicas != 1 || n.WaitTimeout != DefaultWaitTimeout {
		t.Fatalf("wait: %+v", n)
	}
	if n.IdealHorizon != 5*time.Second || NodeDefaults().IdealHorizon != DefaultIdealHorizon {
		t.Fatalf("idealtime-horizon: %v", n.IdealHorizon)
	}
	if n.PromoteTimeout != DefaultPromoteTimeout || n.DrainTimeout != DefaultDrainTimeout || n.AdoptHorizon != DefaultAdoptHorizon {
		t.Fatalf("defaults not kept: %+v", n)
	}
	// The same file is a valid ORS configuration: Parse skips [node].
	if _, err := Parse(strings.NewReader(src), "ors.ini"); err != nil {
		t.Fatal(err)
	}
}

func TestNodeErrorsNameTheOption(t *testing.T) {
	src := `[node]
listen = nowhere
role = leader
max-body = -1
request-timeout = soon
drain-timeout = 0
lisen = x
wait-replicas = -2
idealtime-horizon = -5
`
	_, err := ParseNode(strings.NewReader(src), "ors.ini")
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("%v does not wrap ErrInvalid", err)
	}
	for _, want := range []string{
		`ors.ini:2: [node] listen: "nowhere" is not host:port`,
		`ors.ini:3: [node] role: "leader" is not one of primary, backup`,
		`ors.ini:4: [node] max-body: -1 bytes must be greater than 0`,
		`ors.ini:5: [node] request-timeout: "soon" is not a duration in milliseconds`,
		`ors.ini:7: [node] lisen: unknown option (did you mean listen?)`,
		`ors.ini:8: [node] wait-replicas: -2 is negative`,
		`ors.ini:9: [node] idealtime-horizon: -5 milliseconds must be greater than 0`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// documents is required; drain-timeout 0 is reported once parsing passes.
	n := NodeDefaults()
	n.DrainTimeout = 0
	err = n.Validate()
	for _, want := range []string{"[node] documents: at least one", "[node] drain-timeout: 0 milliseconds must be greater than 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v lacks %q", err, want)
		}
	}
}

func TestNodeSetOverrides(t *testing.T) {
	n := NodeDefaults()
	n.Documents = []string{"d"}
	if err := n.Set("role", "backup"); err != nil {
		t.Fatal(err)
	}
	if err := n.Set("listen", ""); err != nil || n.Listen != DefaultListen {
		t.Fatalf("empty value changed listen: %v %q", err, n.Listen)
	}
	if err := n.Set("rol", "x"); err == nil || !strings.Contains(err.Error(), "did you mean role?") {
		t.Fatalf("Set(rol): %v", err)
	}
	if err := n.Validate(); err != nil || n.Role != RoleBackup {
		t.Fatalf("%v %q", err, n.Role)
	}
	n2 := NodeDefaults()
	if err := n2.Set("listen", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	n2.Documents = []string{"d"}
	if err := n2.Validate(); err != nil {
		t.Fatal(err)
	}
	if n2.Listen == n.Listen {
		t.Fatal("Set on one Node changed another")
	}
}
