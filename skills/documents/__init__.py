"""The built-in document index: collections, documents, chunked and searchable, behind the CSI."""
