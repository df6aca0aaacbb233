package config_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/orsgo/engine/config"
)

// Secrets by reference: the password comes from the environment and the
// encryption key from a file; neither is ever printed.
func ExampleSecret() {
	os.Setenv("ORS_REDIS_PASSWORD", "s3cret")
	f, _ := os.CreateTemp("", "key")
	defer os.Remove(f.Name())
	fmt.Fprintln(f, strings.Repeat("0f", 32)) // as `openssl rand -hex 32 > FILE` writes it
	f.Close()

	c, err := config.Parse(strings.NewReader(`
[persistence]
username = ors
password = env:ORS_REDIS_PASSWORD
encryption-key = file:`+f.Name()+`
`), "ors.ini")
	if err != nil {
		fmt.Println(err)
		return
	}
	p := c.Persistence
	fmt.Println(p.Username, p.Password, p.Encryption.Key)
	fmt.Printf("%+v\n", p.Password)
	key, _ := p.Encryption.Keys()
	fmt.Println(len(key), p.Password.Reveal() == "s3cret")

	_, err = config.Parse(strings.NewReader("[persistence]\npassword = env:ORS_NO_SUCH_VARIABLE\n"), "ors.ini")
	fmt.Println(err)
	// Output:
	// ors [secret] [secret]
	// [secret]
	// 32 true
	// ors.ini:2: [persistence] password: environment variable ORS_NO_SUCH_VARIABLE is not set
}
