"""How `tug get` and `tug describe` show objects, following kubectl's output."""
