// Package layout holds the frame every page is drawn in: the document head, the navigation and
// the member menu.
package layout

// Assets maps a static file name to its cache-busting URL.
type Assets interface {
	Path(name string) string
}

// Page is what the layout needs from every page's view model.
type Page struct {
	Title     string
	CSRFToken string
	Assets    Assets
	Member    *Member // nil on pages for signed-out visitors
	Nav       []NavItem
	Flash     *Flash // a one-time message left by the previous request
	// LiveURL, when set, is the server-sent event stream the page listens to for changes.
	LiveURL string
}

// Flash is a one-time message shown at the top of the next page, after a redirect.
type Flash struct {
	Kind    string // success, error, info, warning
	Message string
}

// Member is the signed-in member as the layout shows them.
type Member struct {
	Name     string
	RoleName string
}

// NavItem is one link of the navigation; only items the member may use are ever built.
type NavItem struct {
	Label   string
	Href    string
	Current bool
	Badge   string
	Section string // items of one section are listed together under its heading
}

// NavGroup is a section of the navigation with its links.
type NavGroup struct {
	Title string
	Items []NavItem
}

// NavGroups gathers consecutive items of the same section.
func (p Page) NavGroups() []NavGroup {
	var out []NavGroup
	for _, it := range p.Nav {
		if len(out) == 0 || out[len(out)-1].Title != it.Section {
			out = append(out, NavGroup{Title: it.Section})
		}
		last := &out[len(out)-1]
		last.Items = append(last.Items, it)
	}
	return out
}

// Initials are the avatar's letters.
func (m Member) Initials() string {
	var out []rune
	start := true
	for _, r := range m.Name {
		if r == ' ' {
			start = true
			continue
		}
		if start && len(out) < 2 {
			out = append(out, r)
		}
		start = false
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

func (p Page) csrfHeaders() string {
	// Marshalled by hand: the token is URL-safe base64 or echo's fixed marker, never a quote.
	return `{"X-CSRF-Token":"` + p.CSRFToken + `"}`
}

func ariaCurrent(current bool) string {
	if current {
		return "page"
	}
	return "false"
}
