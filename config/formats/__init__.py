"""Tessera's date formats (`FORMAT_MODULE_PATH`): one unambiguous style, `3 Dec 2026`, whatever
the locale. A locale's own formats win over the `DATE_FORMAT` settings, so they are set here too."""
