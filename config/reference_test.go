package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// documentedOptions reads the option tables of docs/configuration.md:
// for each (section, option) the cells of its row. A row's first cell
// may name several options (`tls-cert`, `tls-key`); a row
// `| **[section]** |` starts a section's rows, and the heading of the
// [node] section its own.
func documentedOptions(t *testing.T) map[optionKey][]string {
	t.Helper()
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	sectionRow := regexp.MustCompile(`^\| \*\*\[([a-z]+)\]\*\* \|`)
	name := regexp.MustCompile("`([a-z][a-z0-9-]*)`")
	out := map[optionKey][]string{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "## `[node]`"):
			section = SectionNode
			continue
		case strings.HasPrefix(line, "## "):
			section = ""
			continue
		}
		if m := sectionRow.FindStringSubmatch(line); m != nil {
			section = m[1]
			continue
		}
		if section == "" || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for _, m := range name.FindAllStringSubmatch(cells[0], -1) {
			out[optionKey{section, m[1]}] = cells
		}
	}
	return out
}

// TestConfigurationReference: every option this package reads is in
// docs/configuration.md, in its section, with a default, a meaning and
// the errors it gives; and the page lists no option it does not read.
func TestConfigurationReference(t *testing.T) {
	doc := documentedOptions(t)
	accepted := map[optionKey]bool{}
	for k := range options {
		accepted[k] = true
	}
	for k := range nodeOptions {
		accepted[optionKey{SectionNode, k}] = true
	}
	if len(doc) < len(accepted)/2 {
		t.Fatalf("docs/configuration.md: %d options found in its tables: the table format changed?", len(doc))
	}
	for k := range accepted {
		cells, ok := doc[k]
		if !ok {
			t.Errorf("docs/configuration.md: [%s] %s is read by package config but not in the reference", k.section, k.option)
			continue
		}
		if len(cells) != 4 {
			t.Errorf("docs/configuration.md: [%s] %s: row of %d cells, want option | default | meaning | errors", k.section, k.option, len(cells))
			continue
		}
		for i, what := range []string{"default", "meaning", "errors"} {
			if strings.TrimSpace(cells[i+1]) == "" {
				t.Errorf("docs/configuration.md: [%s] %s: no %s", k.section, k.option, what)
			}
		}
	}
	for k := range doc {
		if !accepted[k] {
			t.Errorf("docs/configuration.md lists [%s] %s, which package config does not read", k.section, k.option)
		}
	}
}

// TestFromOrchestrationServer: the page mapping ORS to this library
// names every option this package reads, so that a new option is mapped
// (or said to be this library's) there too.
func TestFromOrchestrationServer(t *testing.T) {
	b, err := os.ReadFile("../docs/from-orchestration-server.md")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	check := func(section, option string) {
		if !regexp.MustCompile("`(\\[[a-z]+\\] )?" + regexp.QuoteMeta(option) + "`").MatchString(page) {
			t.Errorf("docs/from-orchestration-server.md does not name [%s] %s", section, option)
		}
	}
	for k := range options {
		check(k.section, k.option)
	}
	for k := range nodeOptions {
		check(SectionNode, k)
	}
}
