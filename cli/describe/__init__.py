"""`tug describe`: one readable page per object, ending with its events."""
