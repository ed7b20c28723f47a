package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/web/views"
)

// usageMonths is how far back the usage table goes.
const usageMonths = 12

func (s *Server) usagePage(c echo.Context) error {
	return s.renderUsage(c, http.StatusOK, views.RateForm{Currency: "USD", EffectiveFrom: s.Clock.Now().UTC().Format(time.DateOnly)})
}

func (s *Server) renderUsage(c echo.Context, status int, form views.RateForm) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	usage, err := s.Analytics.Usage(ctx, p, usageMonths)
	if err != nil {
		return analyticsError(err)
	}
	card, err := s.Analytics.RateCard(ctx, p)
	if err != nil {
		return analyticsError(err)
	}
	numbers, err := s.Analytics.NumberStates(ctx, p)
	if err != nil {
		return analyticsError(err)
	}
	v := views.UsageView{Page: s.page(c, "Usage and cost", "usage"), CanManage: p.Can(authz.BillingManage), Form: form}
	if err := s.fillAPIUsage(c, &v); err != nil {
		return err
	}
	v.Usage = views.DataTable{Name: "usage", Caption: "Billable messages by month",
		Columns: []string{"Month", "Phone number", "Category", "Country", "Messages", "Estimated cost"}}
	this := time.Date(s.Clock.Now().Year(), s.Clock.Now().Month(), 1, 0, 0, 0, 0, time.UTC)
	var monthMsgs int64
	monthCost := map[string]int64{}
	for _, u := range usage {
		cost := "no rate"
		if u.Priced {
			cost = u.Currency + " " + u.Cost()
		}
		country := u.Country
		if country == "" {
			country = "unknown"
		}
		v.Usage.Rows = append(v.Usage.Rows, []string{u.Month.Format("January 2006"), u.NumberName, u.Category, country, i64(u.Messages), cost})
		if u.Month.Equal(this) {
			monthMsgs += u.Messages
			if u.Priced {
				monthCost[u.Currency] += u.CostMicros
			}
		}
	}
	costs := []string{}
	for cur, m := range monthCost {
		costs = append(costs, cur+" "+analytics.UsageRow{CostMicros: m}.Cost())
	}
	if len(costs) == 0 {
		costs = []string{"–"}
	}
	v.Totals = []views.Stat{
		{Label: "Billable messages this month", Value: i64(monthMsgs), Hint: this.Format("January 2006")},
		{Label: "Estimated cost this month", Value: strings.Join(costs, " + "), Hint: "from the rate card"},
	}
	for _, r := range card {
		row := views.RateRow{Category: r.Category, Country: r.Country, Currency: r.Currency, Price: r.Price(),
			EffectiveFrom: r.EffectiveFrom.Format(time.DateOnly)}
		if r.Unset() {
			row.Price, row.EffectiveFrom = "not set", "–"
			v.RatesUnset = true
		}
		v.Rates = append(v.Rates, row)
	}
	for _, n := range numbers {
		v.Numbers = append(v.Numbers, views.NumberState{Name: n.Name, Quality: n.Quality, Limit: n.Limit})
	}
	for _, c := range analytics.Categories {
		v.Form.Categories = append(v.Form.Categories, views.Option{Value: c, Label: c})
	}
	return render(c, status, views.Usage(v))
}

func (s *Server) setRate(c echo.Context) error {
	in := analytics.RateInput{Category: c.FormValue("category"), Country: c.FormValue("country"), Currency: c.FormValue("currency"),
		Price: c.FormValue("price"), EffectiveFrom: c.FormValue("effective_from")}
	_, err := s.Analytics.SetRate(c.Request().Context(), principalOf(c), in)
	var fe analytics.FieldErrors
	if errors.As(err, &fe) {
		return s.renderUsage(c, http.StatusUnprocessableEntity, views.RateForm{Category: in.Category, Country: in.Country,
			Currency: in.Currency, Price: in.Price, EffectiveFrom: in.EffectiveFrom, Errors: fe})
	}
	if err != nil {
		return analyticsError(err)
	}
	s.flash(c, "success", "Rate saved. Estimated costs use it from its date on.")
	return c.Redirect(http.StatusSeeOther, "/usage")
}

// apiUsageTable is the Cloud API usage as the page shows it and its CSV writes it.
func apiUsageTable(rows []analytics.APIUsageRow) views.DataTable {
	t := views.DataTable{Name: "cloud-api", Caption: "Cloud API calls by phone number and endpoint",
		Columns: []string{"Phone number", "Endpoint", "Calls", "Failed", "Error rate"}}
	var calls, errs int64
	for _, r := range rows {
		t.Rows = append(t.Rows, []string{r.NumberName, r.Endpoint, i64(r.Calls), i64(r.Errors), percent(r.Errors, r.Calls)})
		calls += r.Calls
		errs += r.Errors
	}
	if len(rows) > 1 {
		t.Foot = []string{"All", "All endpoints", i64(calls), i64(errs), percent(errs, calls)}
	}
	return t
}

func (s *Server) fillAPIUsage(c echo.Context, v *views.UsageView) error {
	p := principalOf(c)
	rows, err := s.Analytics.APIUsage(c.Request().Context(), p)
	if err != nil {
		return analyticsError(err)
	}
	v.API = apiUsageTable(rows)
	var calls, errs int64
	for _, r := range rows {
		calls += r.Calls
		errs += r.Errors
	}
	v.APIStats = []views.Stat{
		{Label: "Cloud API calls", Value: i64(calls), Hint: "last " + strconv.Itoa(analytics.APIUsageDays) + " days"},
		{Label: "Error rate", Value: percent(errs, calls), Hint: i64(errs) + " failed"},
	}
	v.APINote = "Since " + s.Analytics.APIUsageSince().Format("2 January 2006") + " (UTC days)."
	if !p.Numbers.All {
		v.APINote += " Only the calls of your numbers: calls about the account, its templates and media belong to no number."
	}
	if p.Can(authz.ReportsExport) {
		v.APICSV = "/usage/export/cloud-api.csv"
	}
	return nil
}

// usageAPIExport writes the Cloud API usage table as CSV: billing.view and a recent sign-in
// (the route), reports.export (here), and the viewer's number scope (the service).
func (s *Server) usageAPIExport(c echo.Context) error {
	p := principalOf(c)
	if !p.Can(authz.ReportsExport) {
		return echo.NewHTTPError(http.StatusForbidden, "Exporting needs the permission “"+authz.ReportsExport.Label()+"”.")
	}
	rows, err := s.Analytics.APIUsage(c.Request().Context(), p)
	if err != nil {
		return analyticsError(err)
	}
	return writeTableCSV(c, apiUsageTable(rows), s.Clock.Now())
}
