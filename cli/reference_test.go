package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestServeFlagsReference: every flag of scxml serve is in the flags
// table of docs/configuration.md.
func TestServeFlagsReference(t *testing.T) {
	var out, errs bytes.Buffer
	if code := serve(context.Background(), []string{"--help"}, &out, &errs); code != 0 {
		t.Fatalf("serve --help: exit %d: %s", code, errs.String())
	}
	flags := regexp.MustCompile(`(?m)^  -([a-z][a-z-]*)`).FindAllStringSubmatch(out.String(), -1)
	if len(flags) < 3 {
		t.Fatalf("serve --help lists %d flags:\n%s", len(flags), out.String())
	}
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		if !strings.Contains(string(b), "| `--"+f[1]+" ") && !strings.Contains(string(b), "| `--"+f[1]+"`") {
			t.Errorf("scxml serve --%s is not in docs/configuration.md", f[1])
		}
	}
}
