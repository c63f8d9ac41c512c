"""HTTP entry points: they translate requests into service calls and back."""
