"""The API contract: .proto sources and the Python generated from them (`make proto`)."""
