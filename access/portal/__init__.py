"""The researcher's side of the portal, server-rendered and usable without JavaScript.

`views` holds the request views ("My requests", the request form, a request's page and its
actions), `context` the page-building helpers they share, `grants` the "My access" page and
`forms` the request and comment forms. Their URLs are in access/urls.py (namespace "access").
"""
