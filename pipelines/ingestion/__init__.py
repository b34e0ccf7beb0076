"""Reading source exports into text tables: encoding, delimiter, headers, line numbers."""
