package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

// Categories are Meta's billable pricing categories (shared/spec/whatsapp-cloud-api.md).
var Categories = []string{"marketing", "utility", "authentication", "authentication-international"}

// Rate is one line of the rate card: the price of one delivered template message of a category
// to a country, from a date on. Country "*" is every country without a line of its own.
type Rate struct {
	ID            int64
	Category      string
	Country       string
	Currency      string
	Micros        int64 // the price in millionths of the currency unit
	EffectiveFrom time.Time
	CreatedAt     time.Time
}

// Price is the rate as a decimal string ("0.0250").
func (r Rate) Price() string { return formatMicros(r.Micros) }

// Unset reports a line of the starting card that nobody has filled in yet: Meta's amounts
// change and differ by country, so the card ships with the categories at zero, and a zero
// nobody entered is no price (a cost of 0.0000 would read as "free").
func (r Rate) Unset() bool { return r.Micros == 0 && r.CreatedAt.UnixMilli() == 0 }

func formatMicros(m int64) string {
	return strconv.FormatFloat(float64(m)/1e6, 'f', 4, 64)
}

// UsageRow is one month's billable messages of a category on a number to a country, with the
// cost the rate card gives them.
type UsageRow struct {
	Month      time.Time // first day of the month, UTC
	NumberID   int64
	NumberName string
	Category   string
	Country    string // ISO 3166 code, or "" when unknown
	Messages   int64
	Currency   string
	CostMicros int64
	Priced     bool // a rate applied
}

// Cost is the estimated cost as a decimal string.
func (u UsageRow) Cost() string { return formatMicros(u.CostMicros) }

// RateInput is a new line for the rate card, as a billing.manage holder enters it.
type RateInput struct {
	Category, Country, Currency, Price, EffectiveFrom string
}

// FieldErrors are validation errors by field name, with a message for the person.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k+": "+e[k])
	}
	slices.Sort(keys)
	return "invalid rate: " + strings.Join(keys, "; ")
}

var (
	countryCode  = regexp.MustCompile(`^([A-Z]{2}|\*)$`)
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
	priceText    = regexp.MustCompile(`^\d{1,6}(\.\d{1,6})?$`)
)

// RateCard is every line of the card, newest effective date first within category and country.
func (s *Service) RateCard(ctx context.Context, p *authz.Principal) ([]Rate, error) {
	if !p.Can(authz.BillingView) {
		return nil, ErrForbidden
	}
	return s.store.rates(ctx)
}

func (st *Store) rates(ctx context.Context) ([]Rate, error) {
	rows, err := st.db.Reports.QueryContext(ctx, `SELECT id, category, country, currency, rate_micros, effective_from, created_at
		FROM billing_rates ORDER BY category, country, effective_from DESC`)
	if err != nil {
		return nil, fmt.Errorf("rate card: %w", err)
	}
	defer rows.Close()
	var out []Rate
	for rows.Next() {
		var r Rate
		var from, created int64
		if err := rows.Scan(&r.ID, &r.Category, &r.Country, &r.Currency, &r.Micros, &from, &created); err != nil {
			return nil, fmt.Errorf("rate card: %w", err)
		}
		r.EffectiveFrom, r.CreatedAt = time.UnixMilli(from).UTC(), time.UnixMilli(created).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetRate adds a line to the rate card (a later date supersedes an earlier line of the same
// category and country; the same date replaces it), recorded in the activity log.
func (s *Service) SetRate(ctx context.Context, p *authz.Principal, in RateInput) (Rate, error) {
	if !p.Can(authz.BillingManage) {
		return Rate{}, ErrForbidden
	}
	r, err := parseRate(in)
	if err != nil {
		return Rate{}, err
	}
	now := s.clock.Now().UTC()
	err = s.store.db.Tx(ctx, func(tx *sql.Tx) error {
		var before *string
		var old int64
		err := tx.QueryRowContext(ctx, `SELECT rate_micros FROM billing_rates WHERE category = ? AND country = ? AND effective_from = ?`,
			r.Category, r.Country, r.EffectiveFrom.UnixMilli()).Scan(&old)
		if err == nil {
			b := formatMicros(old)
			before = &b
		} else if err != sql.ErrNoRows {
			return fmt.Errorf("find rate: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO billing_rates (category, country, currency, rate_micros, effective_from, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (category, country, effective_from) DO UPDATE SET currency = excluded.currency,
				rate_micros = excluded.rate_micros, created_by = excluded.created_by, created_at = excluded.created_at`,
			r.Category, r.Country, r.Currency, r.Micros, r.EffectiveFrom.UnixMilli(), p.MemberID, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("store rate: %w", err)
		}
		r.ID, _ = res.LastInsertId()
		r.CreatedAt = now
		changes := []audit.Change{
			{Field: "category", After: r.Category}, {Field: "country", After: r.Country},
			{Field: "currency", After: r.Currency}, {Field: "effective_from", After: r.EffectiveFrom.Format(time.DateOnly)},
			{Field: "rate", Before: before, After: r.Price()},
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.MemberActor(p.MemberID, p.Name), Action: "billing.rate_set",
			Target:  audit.Target{Type: "billing_rate", ID: r.Category + "/" + r.Country + "/" + r.EffectiveFrom.Format(time.DateOnly)},
			Changes: changes})
		return err
	})
	return r, err
}

func parseRate(in RateInput) (Rate, error) {
	fe := FieldErrors{}
	r := Rate{Category: strings.TrimSpace(in.Category), Country: strings.ToUpper(strings.TrimSpace(in.Country)),
		Currency: strings.ToUpper(strings.TrimSpace(in.Currency))}
	if !slices.Contains(Categories, r.Category) {
		fe["category"] = "Choose one of Meta's billable categories."
	}
	if r.Country == "" {
		r.Country = "*"
	}
	if !countryCode.MatchString(r.Country) || (r.Country != "*" && phonenumbers.GetCountryCodeForRegion(r.Country) == 0) {
		fe["country"] = "Enter a two-letter country code (DE, IN, US…) or * for every other country."
	}
	if !currencyCode.MatchString(r.Currency) {
		fe["currency"] = "Enter a three-letter currency code (USD, EUR…)."
	}
	price := strings.TrimSpace(in.Price)
	if !priceText.MatchString(price) {
		fe["price"] = "Enter the price of one message, like 0.0250 (up to 6 decimals)."
	} else if f, err := strconv.ParseFloat(price, 64); err == nil {
		r.Micros = int64(math.Round(f * 1e6))
	}
	from, err := time.Parse(time.DateOnly, strings.TrimSpace(in.EffectiveFrom))
	if err != nil || from.Year() < 2000 || from.Year() > 2100 {
		fe["effective_from"] = "Enter the first day the price applies, as YYYY-MM-DD."
	}
	r.EffectiveFrom = from
	if len(fe) > 0 {
		return Rate{}, fe
	}
	return r, nil
}

// countryOf is the ISO region of a number's first three digits (its calling code), or "".
func countryOf(prefix string) string {
	for n := 1; n <= len(prefix) && n <= 3; n++ {
		cc, err := strconv.Atoi(prefix[:n])
		if err != nil {
			return ""
		}
		if regions := phonenumbers.GetRegionCodesForCountryCode(cc); len(regions) > 0 {
			return regions[0]
		}
	}
	return ""
}

// Usage is the billable messages per month, number, category and country over the last months
// (the current one included) on the numbers p sees, priced by the rate card.
func (s *Service) Usage(ctx context.Context, p *authz.Principal, months int) ([]UsageRow, error) {
	ns, err := scope(p, authz.BillingView, 0)
	if err != nil || ns.empty() {
		return nil, err
	}
	card, err := s.store.rates(ctx)
	if err != nil {
		return nil, err
	}
	names, err := s.store.numberNames(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1-months, 0)
	var w where
	w.add("grain = 24 AND t >= ?", first.Unix()/86400)
	w.numbers(ns)
	rows, err := s.store.db.Reports.QueryContext(ctx, `SELECT t, phone_number_id, category, prefix, sum(n) FROM analytics_billable
		WHERE `+w.String()+` GROUP BY t, phone_number_id, category, prefix HAVING sum(n) > 0`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	type key struct {
		month             int64
		number            int64
		category, country string
	}
	acc := map[key]*UsageRow{}
	for rows.Next() {
		var day, number, n int64
		var category, prefix string
		if err := rows.Scan(&day, &number, &category, &prefix, &n); err != nil {
			return nil, fmt.Errorf("usage: %w", err)
		}
		at := time.Unix(day*86400, 0).UTC()
		month := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC)
		country := countryOf(prefix)
		k := key{month.Unix(), number, category, country}
		u := acc[k]
		if u == nil {
			u = &UsageRow{Month: month, NumberID: number, NumberName: names[number], Category: category, Country: country}
			acc[k] = u
		}
		u.Messages += n
		if r, ok := rateAt(card, category, country, at); ok {
			u.CostMicros += n * r.Micros
			u.Currency, u.Priced = r.Currency, true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]UsageRow, 0, len(acc))
	for _, u := range acc {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b UsageRow) int {
		if c := b.Month.Compare(a.Month); c != 0 {
			return c
		}
		if c := strings.Compare(a.NumberName, b.NumberName); c != 0 {
			return c
		}
		if c := strings.Compare(a.Category, b.Category); c != 0 {
			return c
		}
		return strings.Compare(a.Country, b.Country)
	})
	return out, nil
}

// rateAt is the card's rate for a message of category to country on day: the country's own
// line if there is one in effect, else the "*" line.
func rateAt(card []Rate, category, country string, day time.Time) (Rate, bool) {
	for _, c := range []string{country, "*"} {
		var best Rate
		found := false
		for _, r := range card {
			if r.Category == category && r.Country == c && !r.Unset() && !r.EffectiveFrom.After(day) && (!found || r.EffectiveFrom.After(best.EffectiveFrom)) {
				best, found = r, true
			}
		}
		if found {
			return best, true
		}
	}
	return Rate{}, false
}

// NumberState is a phone number's messaging limit tier and quality rating as Meta last reported.
type NumberState struct {
	ID                   int64
	Name, Quality, Limit string
}

// NumberStates lists the numbers p sees, for the usage page.
func (s *Service) NumberStates(ctx context.Context, p *authz.Principal) ([]NumberState, error) {
	ns, err := scope(p, authz.BillingView, 0)
	if err != nil || ns.empty() {
		return nil, err
	}
	cond, args := "1 = 1", []any{}
	if !ns.all {
		cond = "id IN (" + placeholders(len(ns.ids)) + ")"
		for _, id := range ns.ids {
			args = append(args, id)
		}
	}
	rows, err := s.store.db.Reports.QueryContext(ctx, `SELECT id, coalesce(nullif(label, ''), nullif(verified_name, ''), 'Number') || ' (' || display_phone_number || ')',
		quality_rating, coalesce(nullif(messaging_limit, ''), 'unknown') FROM phone_numbers WHERE `+cond+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("number states: %w", err)
	}
	defer rows.Close()
	var out []NumberState
	for rows.Next() {
		var n NumberState
		if err := rows.Scan(&n.ID, &n.Name, &n.Quality, &n.Limit); err != nil {
			return nil, fmt.Errorf("number states: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
