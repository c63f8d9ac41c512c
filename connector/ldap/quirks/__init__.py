"""Directory-product specifics, one module each, so the generic code stays generic."""
