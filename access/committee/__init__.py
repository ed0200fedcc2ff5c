"""The committee's review workspace, served inside the Django admin site.

`access/admin.py` keeps the ModelAdmin classes (registration, list columns, querysets) and wires
their URLs to this package, which owns the rest: the review page's context (`context`), its forms
(`forms`), the views its forms post to (`views`), the list filters of the access admin (`filters`)
and the way a service's refusal is answered (`errors`).
"""
