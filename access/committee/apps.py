"""The admin app, with the committee workspace as its default site: `admin.site` (where every app's
ModelAdmins register) is `access.committee.site.WorkspaceSite`."""

from django.contrib.admin.apps import AdminConfig


class WorkspaceAdminConfig(AdminConfig):
    default_site = "access.committee.site.WorkspaceSite"
