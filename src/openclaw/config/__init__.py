"""Config: paths, loading (JSON5, $include, ${VAR}), validation and the atomic writer."""
