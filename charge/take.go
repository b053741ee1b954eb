package charge

import (
	"cmp"
	"slices"
	"time"
)

// Taking a charge is the ledger's rule 5, written once here and used by the ledger's
// store (which reads the book and the pool, and writes back what Take decided) and by
// the simulator, so that the two cannot drift.

// Verdict is what the ledger makes of one charge.
type Verdict string

const (
	// TakeAccepted: a new window, debited from the pool.
	TakeAccepted Verdict = "accepted"
	// TakeDuplicate: the key was paid before for the same tokens; nothing again.
	TakeDuplicate Verdict = "duplicate"
	// TakeConflict: the key was paid before for other tokens; refused.
	TakeConflict Verdict = "conflict"
	// TakeWrongRate: the tokens are not the rate in force at the window's start; refused.
	TakeWrongRate Verdict = "wrong_rate"
	// TakeFolded: an overlapping window paid before (on another device) covers it.
	TakeFolded Verdict = "folded"
	// TakeShort: the pool cannot pay and the charge may not overdraw; refused, nothing
	// changed.
	TakeShort Verdict = "short"
)

// Claim is one charge as a device sends it.
type Claim struct {
	Key    Key
	Tokens int64
	Device string
	// Hold is the hold the charge consumes when debited, and settles when refused,
	// duplicate or folded: tokens are not kept back for a charge that will not come.
	Hold string
	// Rate is the product's rate in force at Key.Start, as the caller knows it; 0 when
	// the caller keeps no rate history, and the tokens are then not checked.
	Rate int64
	// Overdraw lets the charge take the pool below zero as debt: a charge synced after
	// the use happened, or a renewal the rules allow to overdraw.
	Overdraw bool
}

// Taken is the verdict on one claim.
type Taken struct {
	Verdict Verdict
	// Window is the window paid before (duplicate, conflict, folded) or the new one
	// (accepted).
	Window Window
	Draws  []Draw // accepted: the packs that paid it
	Debt   int64  // accepted: the part the packs could not pay, added to the pool's debt
	Err    error  // short: why
}

// Book is the windows the ledger has paid, as far as a batch of claims can meet them:
// for each claim's user and product, every window that starts within a day of it.
type Book struct {
	byUse map[use][]Window
	byKey map[Key]Window
}

type use struct{ user, product string }

// Use is a user's product, as the book groups windows.
type Use struct{ User, Product string }

// NewBook returns a book of the given windows.
func NewBook(ws ...Window) *Book {
	b := &Book{byUse: map[use][]Window{}, byKey: map[Key]Window{}}
	for _, w := range ws {
		b.Add(w)
	}
	return b
}

// Add records a paid window.
func (b *Book) Add(w Window) {
	w.Key.Start = w.Key.Start.UTC()
	u := use{w.Key.User, w.Key.Product}
	b.byUse[u] = append(b.byUse[u], w)
	b.byKey[w.Key] = w
}

// Paid is the window paid under key k, if any.
func (b *Book) Paid(k Key) (Window, bool) {
	k.Start = k.Start.UTC()
	w, ok := b.byKey[k]
	return w, ok
}

// Uses lists the users' products the book has windows of, by user then product.
func (b *Book) Uses() []Use {
	out := make([]Use, 0, len(b.byUse))
	for u := range b.byUse {
		out = append(out, Use{u.user, u.product})
	}
	slices.SortFunc(out, func(a, b Use) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Product, b.Product))
	})
	return out
}

// Windows are the windows of user and product in the book, in the order they were added.
func (b *Book) Windows(user, product string) []Window { return b.byUse[use{user, product}] }

// Take decides c at t: a key paid before is a duplicate (same tokens) or a conflict,
// tokens other than the rate in force are refused, a window overlapping one paid before
// is folded into it, and anything else is debited from p (consuming its hold) and
// added to the book. Every verdict but a debit and TakeShort settles the claim's hold.
func Take(p *Pool, b *Book, c Claim, t time.Time) Taken {
	k := c.Key
	k.Start = k.Start.UTC()
	if prev, ok := b.Paid(k); ok {
		p.Release(c.Hold)
		if prev.Tokens != c.Tokens {
			return Taken{Verdict: TakeConflict, Window: prev}
		}
		return Taken{Verdict: TakeDuplicate, Window: prev}
	}
	if c.Rate != 0 && c.Tokens != c.Rate {
		p.Release(c.Hold)
		return Taken{Verdict: TakeWrongRate, Window: Window{Key: k, Tokens: c.Rate}}
	}
	if w, ok := Fold(b.Windows(k.User, k.Product), k); ok {
		p.Release(c.Hold)
		return Taken{Verdict: TakeFolded, Window: w}
	}
	debt := p.Debt
	draws, err := p.Debit(t, c.Tokens, c.Hold, c.Overdraw)
	if err != nil {
		return Taken{Verdict: TakeShort, Window: Window{Key: k, Tokens: c.Tokens}, Err: err}
	}
	w := Window{Key: k, Tokens: c.Tokens, Device: c.Device}
	b.Add(w)
	return Taken{Verdict: TakeAccepted, Window: w, Draws: draws, Debt: p.Debt - debt}
}
