package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// matrixJS scrolls the permission matrix the way a person would and reports what stays in view:
// each role's header, brought into the scroll container and not hidden under the sticky
// permission column; the permission column before and after scrolling to the far right; the
// header row before and after scrolling down.
const matrixJS = `(() => {
	const m = document.querySelector('.matrix');
	const perm = () => m.querySelector('tbody .matrix__permission').getBoundingClientRect();
	const head = () => m.querySelector('thead .matrix__role').getBoundingClientRect();
	const box = m.getBoundingClientRect();
	m.scrollLeft = 0; m.scrollTop = 0;
	const out = {roles: [], hidden: [], fits: m.scrollWidth <= m.clientWidth,
		permBefore: perm().left, headBefore: head().top};
	for (const th of m.querySelectorAll('thead .matrix__role')) {
		const name = th.querySelector('.matrix__role-name').textContent.trim();
		out.roles.push(name);
		m.scrollLeft = Math.max(0, th.offsetLeft - perm().width);
		const r = th.getBoundingClientRect(), p = perm();
		const x = r.left + r.width / 2, y = r.top + Math.min(r.height / 2, 12);
		const top = document.elementFromPoint(x, y);
		if (r.left < p.right - 1 || r.right > box.right + 1 || !th.contains(top)) out.hidden.push(name);
	}
	m.scrollLeft = m.scrollWidth;
	out.scrolledLeft = m.scrollLeft;
	out.permAfter = perm().left;
	out.permVisible = perm().right <= box.right && perm().left >= box.left - 1;
	m.scrollLeft = 0;
	m.scrollTop = 600;
	out.scrolledTop = m.scrollTop;
	out.headAfter = head().top;
	m.scrollTop = 0;
	return out;
})()`

type matrixReport struct {
	Roles        []string `json:"roles"`
	Hidden       []string `json:"hidden"`
	Fits         bool     `json:"fits"`
	PermBefore   float64  `json:"permBefore"`
	PermAfter    float64  `json:"permAfter"`
	PermVisible  bool     `json:"permVisible"`
	ScrolledLeft float64  `json:"scrolledLeft"`
	HeadBefore   float64  `json:"headBefore"`
	HeadAfter    float64  `json:"headAfter"`
	ScrolledTop  float64  `json:"scrolledTop"`
}

// With the six built-in roles and two custom ones, every role of the matrix can be brought into
// view, and the permission column and the role row stay where they are while the matrix scrolls:
// at 1366 px all eight roles fit at once; on a phone the matrix scrolls under the sticky column.
func TestRolesMatrixKeepsPermissionsAndRolesInView(t *testing.T) {
	in, emails := busyWorkspace(t)
	ctx := browser(t)
	run(t, ctx, "laptop width", chromedp.EmulateViewport(1366, 900))
	signIn(t, ctx, in, emails["administrator"], adminPassword)
	for _, width := range []int64{1366, 390} {
		run(t, ctx, "open the roles matrix",
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(in.URL+"/roles"),
			chromedp.WaitVisible(chromedp.CSS(".matrix")),
		)
		screenshot(t, ctx, fmt.Sprintf("matrix-%d", width))
		r, err := chromedp.Run(ctx, chromedp.Evaluate[matrixReport](matrixJS))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Roles) != 8 {
			t.Errorf("at %d px the matrix has %d roles %v, want the 6 built-in and 2 custom ones", width, len(r.Roles), r.Roles)
		}
		if len(r.Hidden) > 0 {
			t.Errorf("at %d px these roles cannot be brought into view: %v", width, r.Hidden)
		}
		if width == 1366 && !r.Fits {
			t.Errorf("at 1366 px the eight roles do not fit side by side: the matrix scrolls sideways")
		}
		if width == 390 && r.ScrolledLeft == 0 {
			t.Errorf("at 390 px the matrix did not scroll sideways, so the sticky column went untested")
		}
		if r.PermAfter != r.PermBefore || !r.PermVisible {
			t.Errorf("at %d px the permission column moved from x=%v to x=%v (visible: %v) when the matrix scrolled %v px sideways",
				width, r.PermBefore, r.PermAfter, r.PermVisible, r.ScrolledLeft)
		}
		if r.ScrolledTop == 0 {
			t.Errorf("at %d px the matrix does not scroll down inside its card", width)
		}
		if r.HeadAfter != r.HeadBefore {
			t.Errorf("at %d px the role row moved from y=%v to y=%v when the matrix scrolled %v px down",
				width, r.HeadBefore, r.HeadAfter, r.ScrolledTop)
		}
	}
}
