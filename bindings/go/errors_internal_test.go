package samsa

import "testing"

// Every Go constant carries the number of the samsa.h code of that name.
func TestErrorCodeNames(t *testing.T) {
	if len(errorCodeNames) < 140 {
		t.Fatalf("only %d codes", len(errorCodeNames))
	}
	for code, name := range errorCodeNames {
		if got := code.Name(); got != name {
			t.Errorf("code %d: library says %q, Go constant is %q", int32(code), got, name)
		}
	}
	if ErrorCode(12345).Name() != "UNKNOWN" {
		t.Errorf("unlisted code named %q", ErrorCode(12345).Name())
	}
}
