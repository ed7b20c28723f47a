package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
)

// apiLabel is a label as the API shows it.
type apiLabel struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Description string `json:"description"`
}

// apiLabelSet is the labels on a conversation or contact after a change.
type apiLabelSet struct {
	Labels []apiLabel `json:"labels"`
}

// labelChangeRequest adds and removes labels by id; at least one of the two.
type labelChangeRequest struct {
	Add    []int64 `json:"add,omitempty"`
	Remove []int64 `json:"remove,omitempty"`
}

func toAPILabels(ls []inbox.Label) []apiLabel {
	out := make([]apiLabel, 0, len(ls))
	for _, l := range ls {
		out = append(out, apiLabel{ID: l.ID, Name: l.Name, Color: l.Color, Description: l.Description})
	}
	return out
}

// apiListLabels lists the workspace's labels (defined on the Labels page by labels.manage).
func (s *Server) apiListLabels(c echo.Context) error {
	ls, err := s.Inbox.Labels(c.Request().Context(), principalOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(toAPILabels(ls), ""))
}

func (s *Server) apiConversationLabels(c echo.Context) error {
	return s.apiReadLabels(c, s.Inbox.ConversationLabels)
}

func (s *Server) apiContactLabels(c echo.Context) error {
	return s.apiReadLabels(c, s.Inbox.ContactLabels)
}

func (s *Server) apiReadLabels(c echo.Context, read func(ctx context.Context, p *authz.Principal, id int64) ([]inbox.Label, error)) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	ls, err := read(c.Request().Context(), principalOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiLabelSet{Labels: toAPILabels(ls)})
}

func (s *Server) apiLabelConversation(c echo.Context) error {
	return s.apiChangeLabels(c, s.Inbox.ChangeConversationLabels)
}

func (s *Server) apiLabelContact(c echo.Context) error {
	return s.apiChangeLabels(c, s.Inbox.ChangeContactLabels)
}

// apiChangeLabels reads a label change for :id and answers the labels it then has; who may
// change them, and which records the key sees, is the inbox service's rule, as on the pages.
func (s *Server) apiChangeLabels(c echo.Context, change func(ctx context.Context, p *authz.Principal, id int64, ch inbox.LabelChange) ([]inbox.Label, error)) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	var in labelChangeRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ls, err := change(c.Request().Context(), principalOf(c), id, inbox.LabelChange{Add: in.Add, Remove: in.Remove})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiLabelSet{Labels: toAPILabels(ls)})
}
