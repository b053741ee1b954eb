package store_test

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"tollgate/charge"
	"tollgate/ledger/api"
	"tollgate/ledger/store"
)

// TestUsageTotalsEqualTheReportsRows: the usage page's figures, grouped by the database,
// equal the sums over the usage report's rows (what the CSV exports) that match the same
// filter, on both stores, the rows made from the events the test sent (and checked
// against the report's): per day and product, per user, per product, per tag, the total,
// and the filter's choices. The events sit on days' edges (the last nanosecond of a day,
// its first), come from two devices of one name and a device named like a formula, and
// hold duplicates, refused launches and ends without a charge.
func TestUsageTotalsEqualTheReportsRows(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		devices, day0, all := usageDays(t, db)
		day := func(n int) time.Time { return day0.Add(time.Duration(n) * charge.Day) }
		for _, tt := range []struct {
			name     string
			from, to time.Time
			f        api.UsageFilter
		}{
			{"all ten days", day(0), day(10), api.UsageFilter{}},
			{"days 3 to 5, from midnight to midnight", day(3), day(6), api.UsageFilter{}},
			{"one day", day(4), day(5), api.UsageFilter{}},
			{"from noon to noon", day(2).Add(12 * time.Hour), day(6).Add(12 * time.Hour), api.UsageFilter{}},
			{"the last nanosecond of a day alone", day(3).Add(-time.Nanosecond), day(3), api.UsageFilter{}},
			{"to a launch's very nanosecond, which it leaves out", day(2), day(5).Add(9 * time.Hour), api.UsageFilter{}},
			{"from a launch's very nanosecond, which it counts", day(5).Add(9 * time.Hour), day(7), api.UsageFilter{}},
			{"mary", day(0), day(10), api.UsageFilter{User: "mary"}},
			{"autocad", day(0), day(10), api.UsageFilter{Product: "autocad"}},
			{"the two devices named ws", day(0), day(10), api.UsageFilter{Device: "ws"}},
			{"the device named =cad", day(1), day(8), api.UsageFilter{Device: "=cad"}},
			{"a device by its id, which the report does not show", day(0), day(10), api.UsageFilter{Device: devices[0]}},
			{"ann on revit from ws", day(0), day(10), api.UsageFilter{User: "ann", Product: "revit", Device: "ws"}},
			{"nobody", day(0), day(10), api.UsageFilter{User: "zoe"}},
			{"before any use", day(-5), day(-1), api.UsageFilter{}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				rows := reportRows(all, tt.from, tt.to)
				if got, err := db.Usage(ctx, "studio", tt.from, tt.to); err != nil || !reflect.DeepEqual(got, rows) {
					t.Errorf("Usage(%v, %v):\ngot  %+v, %v\nwant %+v", tt.from, tt.to, got, err, rows)
				}
				tags, err := db.Tags(ctx, "studio")
				must(t, err)
				want := sumRows(rows, tags, tt.f)
				got, err := db.UsageTotals(ctx, "studio", tt.from, tt.to, tt.f)
				must(t, err)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("UsageTotals(%v, %v, %+v):\ngot  %+v\nwant %+v (the sums of %d report rows)", tt.from, tt.to, tt.f, got, want, len(rows))
				}
				if tt.name == "all ten days" && (want.Total.Tokens == 0 || len(want.PerTag) != 2 || len(want.Devices) != 2) {
					t.Fatalf("the fixture is too thin to prove anything: %+v", want)
				}
			})
		}
	})
}

// usageDays is ten days of a team's use (the fixture's team, with ann): each (day, user)
// works on one product from one of three devices (two named ws, one =cad), at times on
// the day's edges, launches refused, sessions closed in the grace, charges and
// duplicates among them. It returns the devices' ids, the first day, and every event sent
// with what the ledger answered.
func usageDays(t *testing.T, db *store.DB) ([]string, time.Time, []sent) {
	ctx := context.Background()
	fixture(t, db, 100_000)
	must(t, err2(db.PutUser(ctx, "studio", "ann", api.PutUser{})))
	must(t, err2(db.SetTags(ctx, "studio", "mary", []string{"cc:north", "proj-a"})))
	must(t, err2(db.SetTags(ctx, "studio", "ann", []string{"proj-a"})))
	tok, err := db.CreateEnrollToken(ctx, "studio", t0, t0.Add(time.Hour))
	must(t, err)
	var devices []string
	for _, name := range []string{"ws", "ws", "=cad"} {
		en, err := db.Enroll(ctx, api.Enroll{Token: tok.Token, Name: name}, t0)
		must(t, err)
		devices = append(devices, en.Device)
	}
	day0 := t0.Truncate(charge.Day)
	var all []sent
	users, products := []string{"mary", "bob", "ann"}, []string{"revit", "autocad"}
	rates := map[string]int64{"revit": 10, "autocad": 7}
	// Ten days; each (day, user) works on one product from one device, at times that
	// fall on the day's edges.
	at := []time.Duration{0, 9 * time.Hour, charge.Day - time.Nanosecond, 23*time.Hour + 59*time.Minute}
	last := day0
	for d := range 10 {
		for i, u := range users {
			if (d+i)%4 == 3 {
				continue // a day off
			}
			dev, p := devices[(d+i)%3], products[(d*3+i)%2]
			when := day0.Add(time.Duration(d)*charge.Day + at[(d+i)%len(at)])
			id := fmt.Sprintf("%s-%d", u, d)
			fx := func(kind charge.Kind, off time.Duration) charge.Effect {
				return charge.Effect{Kind: kind, At: when.Add(off), Device: dev, User: u, Product: p}
			}
			evs := []api.Event{{ID: id + "-o", Effect: fx(charge.Opened, 0)}}
			switch (d + 2*i) % 5 {
			case 0: // refused at launch
				evs = []api.Event{{ID: id + "-d", Effect: fx(charge.Denied, 0)}}
			case 1: // opened on a subscription (as the ledger would not say here), closed within the grace: no charge
				evs[0].Reason = charge.Subscribed
				e := fx(charge.Ended, time.Minute)
				e.Use = time.Minute
				evs = append(evs, api.Event{ID: id + "-e", Effect: e})
			default:
				c := fx(charge.Charged, charge.Grace)
				c.Key, c.Tokens = charge.Key{Team: "studio", User: u, Product: p, Start: when}, rates[p]
				evs = append(evs, api.Event{ID: id + "-c", Effect: c})
				if d%3 == 0 { // a second device charged the same window: a duplicate
					evs = append(evs, api.Event{ID: id + "-c2", Effect: c})
				}
			}
			for _, e := range evs {
				if e.At.After(last) {
					last = e.At
				}
			}
			rs, err := db.Ingest(ctx, "studio", dev, evs, last.Add(time.Minute))
			must(t, err)
			name := map[string]string{devices[0]: "ws", devices[1]: "ws", devices[2]: "=cad"}[dev]
			for j, e := range evs {
				all = append(all, sent{e, name, rs[j].Status == api.Accepted})
			}
		}
	}
	return devices, day0, all
}

// sent is an event the test sent, the name of its device, and whether the ledger took it.
type sent struct {
	api.Event
	device   string
	accepted bool
}

// reportRows is the usage report of [from, to) made from the events the test sent, the
// way docs/console.md defines it, without the database: what db.Usage must return.
func reportRows(all []sent, from, to time.Time) []api.UsageRow {
	rows := map[[4]string]*api.UsageRow{}
	for _, e := range all {
		if e.At.Before(from) || !e.At.Before(to) {
			continue
		}
		k := [4]string{e.At.UTC().Format(time.DateOnly), e.User, e.Product, e.device}
		r := rows[k]
		if r == nil {
			r = &api.UsageRow{Day: k[0], User: k[1], Product: k[2], Device: k[3]}
			rows[k] = r
		}
		switch e.Kind {
		case charge.Opened:
			r.Sessions++
			if e.Reason == charge.Subscribed {
				r.Subscription++
			}
		case charge.Denied:
			r.Denied++
		case charge.Ended:
			r.UseSeconds += int64(e.Use / time.Second)
		case charge.Charged:
			if e.accepted {
				r.Charges++
				r.Tokens += e.Tokens
			} else {
				r.Duplicates++
			}
		}
	}
	out := []api.UsageRow{}
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b api.UsageRow) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.User, b.User), cmp.Compare(a.Product, b.Product), cmp.Compare(a.Device, b.Device))
	})
	return out
}

// sumRows is the usage page's figures summed the plain way, over the usage report's rows
// that match f, as the page computed them before the database grouped them.
func sumRows(rows []api.UsageRow, tags map[string][]string, f api.UsageFilter) api.UsageTotals {
	var t api.UsageTotals
	users, products, devices := map[string]bool{}, map[string]bool{}, map[string]bool{}
	type acc struct {
		s    api.UsageSum
		days map[string]bool
	}
	perUser, perProduct, perTag := map[string]*acc{}, map[string]*acc{}, map[string]*acc{}
	total := &acc{s: api.UsageSum{Name: "Total"}, days: map[string]bool{}}
	add := func(m map[string]*acc, k string, r api.UsageRow) {
		a := total
		if m != nil {
			if m[k] == nil {
				m[k] = &acc{s: api.UsageSum{Name: k}, days: map[string]bool{}}
			}
			a = m[k]
		}
		a.s.Sessions += r.Sessions
		a.s.Tokens += r.Tokens
		if r.Charges > 0 && !a.days[r.Day] {
			a.days[r.Day] = true
			a.s.Days++
		}
	}
	byDay := map[[2]string]int64{}
	for _, r := range rows {
		users[r.User], products[r.Product], devices[r.Device] = true, true, true
		if (f.User != "" && r.User != f.User) || (f.Product != "" && r.Product != f.Product) || (f.Device != "" && r.Device != f.Device) {
			continue
		}
		add(perUser, r.User, r)
		add(perProduct, r.Product, r)
		for _, g := range tags[r.User] {
			add(perTag, g, r)
		}
		add(nil, "", r)
		byDay[[2]string{r.Day, r.Product}] += r.Tokens
	}
	for k, v := range byDay {
		t.Days = append(t.Days, api.UsageDay{Day: k[0], Product: k[1], Tokens: v})
	}
	slices.SortFunc(t.Days, func(a, b api.UsageDay) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Product, b.Product))
	})
	list := func(m map[string]*acc) []api.UsageSum {
		var out []api.UsageSum
		for _, a := range m {
			out = append(out, a.s)
		}
		slices.SortFunc(out, func(a, b api.UsageSum) int { return cmp.Compare(a.Name, b.Name) })
		return out
	}
	names := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	t.PerUser, t.PerProduct, t.PerTag, t.Total = list(perUser), list(perProduct), list(perTag), total.s
	t.Users, t.Products, t.Devices = names(users), names(products), names(devices)
	return t
}

// TestUseSummariesEqualTheReportsRows: the advisor's figures per user and product,
// grouped by the database over migration 171's index, equal the sums over the usage
// report's rows of the same span on both stores, for spans on days' edges and not: the
// days with a charge, the days opened on a subscription without one, the tokens, and
// the first use ever.
func TestUseSummariesEqualTheReportsRows(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, day0, all := usageDays(t, db)
		first, err := db.FirstUse(ctx, "studio")
		must(t, err)
		day := func(n int) time.Time { return day0.Add(time.Duration(n) * charge.Day) }
		for _, span := range [][2]time.Time{
			{day(0), day(10)},
			{day(2), day(6)},
			{day(3).Add(-time.Nanosecond), day(3)},
			{day(2).Add(12 * time.Hour), day(5).Add(9 * time.Hour)},
			{day(5).Add(9 * time.Hour), day(9).Add(time.Nanosecond)},
		} {
			rows := reportRows(all, span[0], span[1])
			type acc struct {
				u         api.UseSummary
				charged   map[string]bool
				subscribe map[string]bool
			}
			sums := map[api.UseKey]*acc{}
			for _, r := range rows {
				k := api.UseKey{User: r.User, Product: r.Product}
				if sums[k] == nil {
					sums[k] = &acc{u: api.UseSummary{User: r.User, Product: r.Product, First: first[k]}, charged: map[string]bool{}, subscribe: map[string]bool{}}
				}
				a := sums[k]
				a.u.Tokens += r.Tokens
				if r.Charges > 0 {
					a.charged[r.Day] = true
				}
				if r.Subscription > 0 {
					a.subscribe[r.Day] = true
				}
			}
			var want []api.UseSummary
			for _, a := range sums {
				a.u.ChargedDays = int64(len(a.charged))
				for d := range a.subscribe {
					if !a.charged[d] {
						a.u.SubDays++
					}
				}
				want = append(want, a.u)
			}
			slices.SortFunc(want, func(a, b api.UseSummary) int {
				return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Product, b.Product))
			})
			got, err := db.UseSummaries(ctx, "studio", span[0], span[1])
			must(t, err)
			for i := range got {
				got[i].First = got[i].First.UTC()
			}
			for i := range want {
				want[i].First = want[i].First.UTC()
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("UseSummaries(%v, %v):\ngot  %+v\nwant %+v (the sums of %d report rows)", span[0], span[1], got, want, len(rows))
			}
		}
	})
}
