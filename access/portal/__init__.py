"""The researcher's side of the portal, server-rendered and usable without JavaScript.

`views` holds the request views ("My requests", the request form, a request's page and its
actions), `context` the page-building helpers they share, `grants` the "My access" page,
`team` the team's invitations (sending, the invitee's answer page, "My invitations") and
`forms` the request, comment and invitation forms. Their URLs are in access/urls.py (namespace "access").
"""
