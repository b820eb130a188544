"""Schema and formula help: proposals to create a table or a field (formula fields
checked first) or rename a field, applied on the person's Confirm through the meta API."""
