"""The service layer: every write goes through these functions, one transaction each."""
