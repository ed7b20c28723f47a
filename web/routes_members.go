package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

func (s *Server) memberRoutes() []route {
	return []route{
		{http.MethodGet, "/members", authz.Require(authz.MembersView), s.membersPage},
		{http.MethodGet, "/members/:id", authz.Require(authz.MembersView), s.memberPage},
		{http.MethodPost, "/members/:id/role", authz.Require(authz.MembersManage).Fresh(), s.changeMemberRole},
		{http.MethodPost, "/members/:id/2fa/reset", authz.Require(authz.MembersManage).Fresh(), s.resetMemberTwoFactor},
		{http.MethodPost, "/members/:id/numbers", authz.Require(authz.MembersManage), s.changeMemberNumbers},
		{http.MethodGet, "/members/:id/deactivate", authz.Require(authz.MembersManage), s.deactivateMemberPage},
		{http.MethodPost, "/members/:id/deactivate", authz.Require(authz.MembersManage), s.deactivateMember},
		{http.MethodPost, "/members/:id/reactivate", authz.Require(authz.MembersManage), s.reactivateMember},
		{http.MethodPost, "/members/:id/sign-out", authz.Require(authz.MembersManage), s.signOutMember},
		{http.MethodGet, "/members/:id/delete", authz.Require(authz.MembersManage), s.deleteMemberPage},
		{http.MethodPost, "/members/:id/delete", authz.Require(authz.MembersManage), s.deleteMember},

		{http.MethodGet, "/members/invite", authz.Require(authz.MembersInvite), s.invitePage},
		{http.MethodPost, "/members/invitations", authz.Require(authz.MembersInvite), s.invite},
		{http.MethodPost, "/members/invitations/:id/revoke", authz.Require(authz.MembersInvite), s.revokeInvitation},
		// The invitee is not a member yet: the single-use token in the link is the credential.
		{http.MethodGet, "/invitations/:token", authz.Public(), s.invitationPage},
		{http.MethodPost, "/invitations/:token", authz.Public(), s.acceptInvitation},

		{http.MethodGet, "/roles", authz.Require(authz.MembersView), s.rolesPage},
		{http.MethodGet, "/roles/new", authz.Require(authz.RolesManage), s.newRolePage},
		{http.MethodPost, "/roles", authz.Require(authz.RolesManage).Fresh(), s.createRole},
		{http.MethodGet, "/roles/:id/edit", authz.Require(authz.RolesManage), s.editRolePage},
		{http.MethodPost, "/roles/:id", authz.Require(authz.RolesManage).Fresh(), s.updateRole},
		{http.MethodPost, "/roles/:id/duplicate", authz.Require(authz.RolesManage).Fresh(), s.duplicateRole},
		{http.MethodPost, "/roles/:id/permissions/:permission", authz.Require(authz.RolesManage).Fresh(), s.toggleRolePermission},
		{http.MethodPost, "/roles/:id/delete", authz.Require(authz.RolesManage).Fresh(), s.deleteRole},
	}
}
