"""What surrounds every page: the page list (`navigation`), the `sidebar`, the analysis pages' `gate`, the running
`lesson`, the words around figures (`notes`) and slow analyses waited for (`waiting`)."""
