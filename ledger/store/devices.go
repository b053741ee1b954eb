package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"tollgate/ledger/api"
)

// NewSecret returns a random bearer token. Only its Hash is stored.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash is how a secret is stored and looked up: the secrets are 256 random bits, so a
// plain SHA-256 is as good as a slow hash and lets a lookup use an index.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func lockTeam(ctx context.Context, x tx, team string) error {
	var id string
	err := x.row(ctx, `SELECT id FROM teams WHERE id = ? FOR UPDATE`, team).Scan(&id)
	if isNoRows(err) {
		return noTeam(team)
	}
	return err
}

// CreateEnrollToken returns a new enrollment token for team, valid until expires. Any
// number of devices may enroll with it until then.
func (d *DB) CreateEnrollToken(ctx context.Context, team string, now, expires time.Time) (api.Token, error) {
	tok := NewSecret("tge_")
	err := d.write(ctx, func(x tx) error {
		if err := lockTeam(ctx, x, team); err != nil {
			return err
		}
		_, err := x.exec(ctx, `INSERT INTO enroll_tokens (hash, team, created, expires) VALUES (?, ?, ?, ?)`, Hash(tok), team, ns(now), ns(expires))
		return err
	})
	if err != nil {
		return api.Token{}, err
	}
	return api.Token{Token: tok, Team: team, Expires: expires}, nil
}

// Enroll trades an enrollment token for a device credential.
func (d *DB) Enroll(ctx context.Context, e api.Enroll, now time.Time) (api.Enrolled, error) {
	if err := checkText("name", e.Name, MaxName, true); err != nil {
		return api.Enrolled{}, errf(api.CodeBadRequest, "%v (the device's host name)", err)
	}
	out := api.Enrolled{Device: randomID("dv_"), Credential: NewSecret("tgd_")}
	err := d.write(ctx, func(x tx) error {
		var expires int64
		err := x.row(ctx, `SELECT team, expires FROM enroll_tokens WHERE hash = ?`, Hash(e.Token)).Scan(&out.Team, &expires)
		if isNoRows(err) || (err == nil && expires <= ns(now)) {
			return errf(api.CodeUnauthorized, "enrollment token unknown or expired; ask an admin for a new one ('tollgate ledger enroll-token create --team TEAM')")
		}
		if err != nil {
			return err
		}
		// A report the ledger cannot keep is left out rather than refusing the device.
		var ag agentRow
		if e.Agent != nil && CheckAgent(*e.Agent) == nil {
			ag = agentValues(*e.Agent, now)
		}
		_, err = x.exec(ctx, `INSERT INTO devices (id, team, name, credential, enrolled, last_seen, version, backlog, backlog_since, last_sync) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			out.Device, out.Team, e.Name, Hash(out.Credential), ns(now), ns(now), ag.version, ag.backlog, ag.since, int64(0))
		return err
	})
	if err != nil {
		return api.Enrolled{}, err
	}
	return out, nil
}

// DeviceByCredential finds the device a bearer credential belongs to.
func (d *DB) DeviceByCredential(ctx context.Context, credential string) (api.Device, error) {
	var dv api.Device
	var enrolled, seen int64
	err := d.db.QueryRowContext(ctx, d.rebind(`SELECT id, team, name, enrolled, last_seen FROM devices WHERE credential = ?`), Hash(credential)).
		Scan(&dv.ID, &dv.Team, &dv.Name, &enrolled, &seen)
	if isNoRows(err) {
		return dv, errf(api.CodeUnauthorized, "device credential unknown; enroll the device again")
	}
	dv.Enrolled, dv.LastSeen = fromNS(enrolled), fromNS(seen)
	return dv, err
}

// Seen records that a device called at now. Called at most once a minute per device, so
// that a fleet's syncs do not each write.
func (d *DB) Seen(ctx context.Context, device string, now time.Time) error {
	_, err := d.db.ExecContext(ctx, d.rebind(`UPDATE devices SET last_seen = ? WHERE id = ?`), ns(now), device)
	return err
}

// MaxVersion bounds an agent's version string.
const MaxVersion = 64

// CheckAgent says what is wrong with an agent's report of itself, or nil.
func CheckAgent(a api.AgentInfo) error {
	if err := checkText("agent version", a.Version, MaxVersion, false); err != nil {
		return err
	}
	if a.Backlog < 0 || a.BacklogAge < 0 {
		return errf(api.CodeBadRequest, "agent backlog %d, %d seconds old: give counts and ages of 0 or more", a.Backlog, a.BacklogAge)
	}
	return nil
}

// agentRow is an agent's report as the devices table keeps it.
type agentRow struct {
	version        string
	backlog, since int64
}

// agentValues turns an age by the device's clock into a time by the ledger's.
func agentValues(a api.AgentInfo, now time.Time) agentRow {
	r := agentRow{version: a.Version, backlog: a.Backlog}
	if a.Backlog > 0 {
		r.since = ns(now.Add(-time.Duration(min(a.BacklogAge, 100*365*86400)) * time.Second))
	}
	return r
}

// Synced records what a device's agent reported with a sync at now: its version and
// the backlog it has left. The report is checked with CheckAgent first.
func (d *DB) Synced(ctx context.Context, device string, a api.AgentInfo, now time.Time) error {
	if err := CheckAgent(a); err != nil {
		return err
	}
	r := agentValues(a, now)
	_, err := d.db.ExecContext(ctx, d.rebind(`UPDATE devices SET version = ?, backlog = ?, backlog_since = ?, last_sync = ?, last_seen = ? WHERE id = ?`),
		r.version, r.backlog, r.since, ns(now), ns(now), device)
	return err
}

// Devices lists a team's devices.
func (d *DB) Devices(ctx context.Context, team string) ([]api.Device, error) {
	var out []api.Device
	err := d.read(ctx, func(x tx) error {
		rows, err := x.query(ctx, `SELECT id, team, name, enrolled, last_seen, last_sync, version, backlog, backlog_since FROM devices WHERE team = ? ORDER BY name, id`, team)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var dv api.Device
			var enrolled, seen, synced, since int64
			if err := rows.Scan(&dv.ID, &dv.Team, &dv.Name, &enrolled, &seen, &synced, &dv.Version, &dv.Backlog, &since); err != nil {
				return err
			}
			dv.Enrolled, dv.LastSeen, dv.LastSync, dv.BacklogSince = fromNS(enrolled), fromNS(seen), fromNS(synced), fromNS(since)
			out = append(out, dv)
		}
		return rows.Err()
	})
	return out, err
}

// AdminToken is an admin credential: Team "" may act on every team.
type AdminToken struct {
	Team string
	Name string
}

// CreateAdminToken stores the hash of an admin token for team ("" for every team).
func (d *DB) CreateAdminToken(ctx context.Context, team, name, token string, now time.Time) error {
	if err := checkText("name", name, MaxName, true); err != nil {
		return err
	}
	return d.write(ctx, func(x tx) error {
		if team != "" {
			if err := lockTeam(ctx, x, team); err != nil {
				return err
			}
		}
		_, err := x.exec(ctx, `INSERT INTO admin_tokens (hash, team, name, created) VALUES (?, ?, ?, ?)`, Hash(token), team, name, ns(now))
		return err
	})
}

// AdminByToken finds the admin a token belongs to.
func (d *DB) AdminByToken(ctx context.Context, token string) (AdminToken, error) {
	var a AdminToken
	err := d.db.QueryRowContext(ctx, d.rebind(`SELECT team, name FROM admin_tokens WHERE hash = ?`), Hash(token)).Scan(&a.Team, &a.Name)
	if isNoRows(err) {
		return a, errf(api.CodeUnauthorized, "admin token unknown; use the token printed by 'tollgate ledger serve' or one from 'tollgate ledger admin-token create'")
	}
	return a, err
}

// CreateFirstSuperAdmin stores token as the super-admin token unless one exists; it
// reports whether it did. Ledgers starting at once on one database take turns, so
// exactly one of them makes it.
func (d *DB) CreateFirstSuperAdmin(ctx context.Context, token string, now time.Time) (bool, error) {
	made := false
	err := d.write(ctx, func(x tx) error {
		if d.dialect == Postgres {
			if _, err := x.exec(ctx, `SELECT pg_advisory_xact_lock(7485)`); err != nil {
				return err
			}
		}
		var n int
		if err := x.row(ctx, `SELECT COUNT(*) FROM admin_tokens WHERE team = ''`).Scan(&n); err != nil || n > 0 {
			return err
		}
		_, err := x.exec(ctx, `INSERT INTO admin_tokens (hash, team, name, created) VALUES (?, '', 'bootstrap', ?)`, Hash(token), ns(now))
		made = err == nil
		return err
	})
	return made, err
}

// HasSuperAdmin reports whether an admin token for every team exists.
func (d *DB) HasSuperAdmin(ctx context.Context) (bool, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM admin_tokens WHERE team = ''`).Scan(&n)
	return n > 0, err
}

// May reports whether the admin may act on team.
func (a AdminToken) May(team string) bool { return a.Team == "" || a.Team == team }
