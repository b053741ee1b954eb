package charge_test

import (
	"errors"
	"testing"
	"time"

	"tollgate/charge"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustPack(t *testing.T, id string, tokens int64, bought time.Time) charge.Pack {
	t.Helper()
	p, err := charge.NewPack(id, "studio", tokens, bought)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewPack(t *testing.T) {
	tests := []struct {
		tokens  int64
		wantErr error
	}{
		{99, charge.ErrSmallOrder},
		{0, charge.ErrSmallOrder},
		{-100, charge.ErrSmallOrder},
		{100, nil},
		{charge.MaxPack, nil},
		{charge.MaxPack + 1, errAny},
	}
	for _, tt := range tests {
		_, err := charge.NewPack("p", "studio", tt.tokens, day("2026-01-01"))
		switch {
		case tt.wantErr == nil && err != nil:
			t.Errorf("NewPack(%d): got %v, want no error", tt.tokens, err)
		case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
			t.Errorf("NewPack(%d): got %v, want %v", tt.tokens, err, tt.wantErr)
		}
	}
}

var errAny = errors.New("any error")

func TestPackExpiry(t *testing.T) {
	p := mustPack(t, "p", 100, day("2025-11-01"))
	tests := []struct {
		at   time.Time
		live bool
	}{
		{day("2026-11-01").Add(-time.Nanosecond), true},
		{day("2026-11-01"), false},
		{day("2026-11-01").Add(time.Nanosecond), false},
		{day("2025-11-01"), true},
	}
	for _, tt := range tests {
		if got := p.Live(tt.at); got != tt.live {
			t.Errorf("bought 2025-11-01, live at %v: got %v, want %v", tt.at, got, tt.live)
		}
	}
	if got, want := mustPack(t, "leap", 100, day("2024-02-29")).Expires(), day("2025-03-01"); !got.Equal(want) {
		t.Errorf("leap-day pack expires %v, want %v", got, want)
	}
}

func TestDrawOrder(t *testing.T) {
	at := day("2026-06-01")
	pool := &charge.Pool{Team: "studio"}
	pool.Add(mustPack(t, "late", 500, day("2026-05-01")), day("2026-05-01"))
	pool.Add(mustPack(t, "big", 300, day("2026-01-01")), day("2026-01-01"))
	pool.Add(mustPack(t, "small", 100, day("2026-01-01")), day("2026-01-01"))
	pool.Add(mustPack(t, "dead", 1000, day("2025-01-01")), day("2025-01-01"))
	draws, err := pool.Debit(at, 150, "", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []charge.Draw{{Pack: "small", Tokens: 100}, {Pack: "big", Tokens: 50}}
	if len(draws) != len(want) || draws[0] != want[0] || draws[1] != want[1] {
		t.Errorf("got draws %v, want %v (expiring first, smallest first among equals, never the expired pack)", draws, want)
	}
	if got, want := pool.Available(at), int64(250+500); got != want {
		t.Errorf("got available %d, want %d", got, want)
	}
}

func TestDebitHoldsAndOverdraw(t *testing.T) {
	at := day("2026-06-01")
	pool := &charge.Pool{Team: "studio"}
	pool.Add(mustPack(t, "a", 100, day("2026-01-01")), day("2026-01-01"))
	pool.Hold("h1", 10)
	pool.Hold("h1", 10) // a retried hold does not hold twice
	if got, want := pool.Available(at), int64(90); got != want {
		t.Fatalf("got available %d after hold, want %d", got, want)
	}
	if _, err := pool.Debit(at, 10, "h1", false); err != nil {
		t.Fatal(err)
	}
	if got, want := pool.Available(at), int64(90); got != want {
		t.Errorf("got available %d after committing the hold, want %d", got, want)
	}
	if _, err := pool.Debit(at, 95, "", false); !errors.Is(err, charge.ErrInsufficient) {
		t.Errorf("got %v debiting 95 of 90, want ErrInsufficient", err)
	}
	if got, want := pool.Available(at), int64(90); got != want {
		t.Errorf("a refused debit changed the balance: got %d, want %d", got, want)
	}
	if _, err := pool.Debit(at, 95, "", true); err != nil {
		t.Fatal(err)
	}
	if got, want := pool.Available(at), int64(-5); got != want {
		t.Errorf("got available %d after overdraw, want %d", got, want)
	}
	pool.Add(mustPack(t, "b", 100, at), at)
	if got, want := pool.Available(at), int64(95); got != want {
		t.Errorf("got available %d after a new pack paid the debt, want %d", got, want)
	}
}

func TestForfeit(t *testing.T) {
	pool := &charge.Pool{Team: "studio"}
	pool.Add(mustPack(t, "a", 100, day("2025-11-01")), day("2025-11-01"))
	pool.Add(mustPack(t, "b", 200, day("2026-03-01")), day("2026-03-01"))
	if got := pool.Expire(day("2026-11-01").Add(-time.Nanosecond)); len(got) != 0 {
		t.Errorf("got forfeits %v before expiry, want none", got)
	}
	got := pool.Expire(day("2026-11-01"))
	if len(got) != 1 || got[0].Tokens != 100 || got[0].Pack != "a" || !got[0].At.Equal(day("2026-11-01")) {
		t.Errorf("got forfeits %v at expiry, want pack a's 100 tokens at 2026-11-01", got)
	}
	if again := pool.Expire(day("2026-12-01")); len(again) != 0 {
		t.Errorf("got forfeits %v again, want each pack forfeited once", again)
	}
	if got, want := pool.Unexpired(day("2026-11-02")), int64(200); got != want {
		t.Errorf("got %d unexpired, want %d: forfeited tokens never roll over", got, want)
	}
	exp := pool.ExpiringWithin(day("2026-12-05"), charge.Expiring)
	if len(exp) != 1 || exp[0].ID != "b" {
		t.Errorf("got expiring %v, want pack b (expires 2027-03-01, within 90 days of 2026-12-05)", exp)
	}
}

func TestTransferWholePackOnly(t *testing.T) {
	at := day("2026-06-01")
	from := &charge.Pool{Team: "a"}
	from.Add(mustPack(t, "p", 100, day("2026-01-01")), day("2026-01-01"))
	if _, err := from.Debit(at, 40, "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := from.Take("p", 40, at); !errors.Is(err, charge.ErrPartialTransfer) {
		t.Errorf("moving 40 of 60: got %v, want ErrPartialTransfer", err)
	}
	k, err := from.Take("p", 0, at)
	if err != nil {
		t.Fatal(err)
	}
	to := &charge.Pool{Team: "b"}
	to.Add(k, at)
	if got, want := to.Available(at), int64(60); got != want {
		t.Errorf("got %d in the receiving team, want the pack's %d remaining", got, want)
	}
	if got := from.Available(at); got != 0 {
		t.Errorf("got %d left in the sending team, want 0", got)
	}
	if _, err := to.Take("nope", 0, at); !errors.Is(err, charge.ErrUnknownPack) {
		t.Errorf("got %v, want ErrUnknownPack", err)
	}
}

func TestAlertsOncePerCrossing(t *testing.T) {
	at := day("2026-06-01")
	pool := &charge.Pool{Team: "studio"}
	pool.Add(mustPack(t, "p", 100, day("2026-01-01")), day("2026-01-01"))
	steps := []struct {
		debit int64
		buy   int64
		want  []charge.AlertKind
	}{
		{debit: 70, want: nil},                                 // 30 left, threshold 20
		{debit: 11, want: []charge.AlertKind{charge.AlertLow}}, // 19: crossed
		{debit: 9, want: nil},                                  // 10: still low, no repeat
		{debit: 10, want: []charge.AlertKind{charge.AlertEmpty}},
		{buy: 100, want: nil},                                  // 100 of 200 bought: above 40, re-armed
		{debit: 61, want: []charge.AlertKind{charge.AlertLow}}, // 39 < 40
	}
	for i, s := range steps {
		if s.debit > 0 {
			if _, err := pool.Debit(at, s.debit, "", false); err != nil {
				t.Fatal(err)
			}
		}
		if s.buy > 0 {
			pool.Add(mustPack(t, "q", s.buy, at), at)
		}
		var got []charge.AlertKind
		for _, a := range pool.Alerts(at) {
			got = append(got, a.Kind)
		}
		if len(got) != len(s.want) || (len(got) > 0 && got[0] != s.want[0]) {
			t.Errorf("step %d: got alerts %v, want %v (available %d)", i, got, s.want, pool.Available(at))
		}
	}
	abs := &charge.Pool{Team: "x", Threshold: charge.Threshold{Absolute: 50}}
	abs.Add(mustPack(t, "p", 1000, day("2026-01-01")), day("2026-01-01"))
	if got, want := abs.Limit(at), int64(50); got != want {
		t.Errorf("got absolute limit %d, want %d", got, want)
	}
}

func TestExpiryUnderAHold(t *testing.T) {
	pool := &charge.Pool{Team: "studio"}
	bought := day("2025-11-02").Add(9*time.Hour + 2*time.Minute)
	pool.Add(mustPack(t, "k", 100, bought), bought)
	start := day("2026-11-02").Add(9 * time.Hour)
	pool.Hold("h", 10)
	expiry := bought.AddDate(1, 0, 0)
	f := pool.Expire(expiry)
	if len(f) != 1 || f[0].Tokens != 90 {
		t.Fatalf("got forfeits %+v at expiry, want 90: the 10 held stay to pay the grace", f)
	}
	if got := pool.Available(expiry); got != 0 {
		t.Errorf("got available %d after expiry, want 0", got)
	}
	if _, err := pool.Debit(start.Add(5*time.Minute), 10, "h", false); err != nil {
		t.Errorf("got %v committing the hold after its pack expired, want it paid from that pack", err)
	}
	if pool.Debt != 0 || pool.Available(expiry) != 0 {
		t.Errorf("got debt %d available %d, want 0 and 0: nothing overdrawn", pool.Debt, pool.Available(expiry))
	}

	// Released instead, what was kept back is forfeited at the next sweep.
	pool = &charge.Pool{Team: "studio"}
	pool.Add(mustPack(t, "k", 100, bought), bought)
	pool.Hold("h", 10)
	pool.Expire(expiry)
	pool.Release("h")
	if f := pool.Expire(expiry.Add(time.Minute)); len(f) != 1 || f[0].Tokens != 10 {
		t.Errorf("got forfeits %+v after the release, want the 10 kept back", f)
	}
	if _, ok := pool.NextExpiry(expiry); ok {
		t.Error("got a next expiry with every pack expired, want none")
	}
}

func TestExpiredPackPaysNoDebt(t *testing.T) {
	at := day("2026-11-03")
	pool := &charge.Pool{Team: "studio"}
	pool.Add(mustPack(t, "k", 100, day("2026-10-01")), day("2026-10-01"))
	if _, err := pool.Debit(at, 120, "", true); err != nil {
		t.Fatal(err)
	}
	pool.Add(mustPack(t, "old", 100, day("2024-01-01")), at)
	if got, want := pool.Debt, int64(20); got != want {
		t.Errorf("got debt %d after adding an expired pack, want %d: expired tokens pay nothing", got, want)
	}
}
