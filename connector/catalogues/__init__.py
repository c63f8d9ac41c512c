"""The built-in field catalogues and default mapping (TOML data shipped in the package).

Read through importlib.resources, so they are found in an installed wheel as in
a checkout; a configured ``catalogue_dir`` replaces them.
"""
