package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/workspace"
)

// templateMeta adapts the Cloud API client to what the templates package needs from Meta. The
// two packages describe the same wire JSON with their own types, so values cross by JSON.
type templateMeta struct {
	client    *whatsapp.Client
	workspace *workspace.Service
	templates *templates.Store
}

func (m templateMeta) CreateTemplate(ctx context.Context, wabaID string, req templates.CreateRequest) (templates.CreateResult, error) {
	creds, err := m.workspace.CredentialsForWABA(ctx, wabaID)
	if err != nil {
		return templates.CreateResult{}, err
	}
	var def whatsapp.TemplateDefinition
	if err := convert(req, &def); err != nil {
		return templates.CreateResult{}, err
	}
	res, err := m.client.CreateTemplate(ctx, creds, wabaID, def)
	if err != nil {
		return templates.CreateResult{}, metaError(err)
	}
	return templates.CreateResult{ID: res.ID, Status: res.Status, Category: res.Category}, nil
}

func (m templateMeta) EditTemplate(ctx context.Context, metaTemplateID string, req templates.EditRequest) error {
	wabaID, err := m.templates.WABAOfMetaTemplate(ctx, metaTemplateID)
	if err != nil {
		return err
	}
	creds, err := m.workspace.CredentialsForWABA(ctx, wabaID)
	if err != nil {
		return err
	}
	var edit whatsapp.TemplateEdit
	if err := convert(req, &edit); err != nil {
		return err
	}
	return metaError(m.client.EditTemplate(ctx, creds, metaTemplateID, edit))
}

// ListTemplates returns every template in one page: the client follows Meta's cursors itself.
func (m templateMeta) ListTemplates(ctx context.Context, wabaID, after string) (templates.ListPage, error) {
	if after != "" {
		return templates.ListPage{}, nil
	}
	creds, err := m.workspace.CredentialsForWABA(ctx, wabaID)
	if err != nil {
		return templates.ListPage{}, err
	}
	list, err := m.client.ListTemplates(ctx, creds, wabaID, whatsapp.TemplateFilter{})
	if err != nil {
		return templates.ListPage{}, metaError(err)
	}
	var page templates.ListPage
	if err := convert(list, &page.Data); err != nil {
		return templates.ListPage{}, err
	}
	return page, nil
}

func (m templateMeta) DeleteTemplate(ctx context.Context, wabaID, name, metaTemplateID string) error {
	creds, err := m.workspace.CredentialsForWABA(ctx, wabaID)
	if err != nil {
		return err
	}
	return metaError(m.client.DeleteTemplate(ctx, creds, wabaID, name, metaTemplateID))
}

func convert(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return fmt.Errorf("encode for Meta: %w", err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		return fmt.Errorf("decode Meta's shape: %w", err)
	}
	return nil
}

// metaError turns a Cloud API error into the templates package's, keeping only what is safe to
// record: code and Meta's message.
func metaError(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *whatsapp.APIError
	if errors.As(err, &apiErr) {
		return &templates.MetaError{Code: apiErr.Code, Subcode: apiErr.Subcode, Message: apiErr.Message,
			UserTitle: apiErr.UserTitle, UserMessage: apiErr.UserMsg}
	}
	return err
}
