"""One module per page, named after the page, holding what only that page uses (`panels.attribution` for
`app_pages/attribution.py`, ...)."""
